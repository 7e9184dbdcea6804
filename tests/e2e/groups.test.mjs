// Groups of three and four: every pair of a group has its own peer connection (a full mesh),
// one ggrs session per page plays every player, and every member's stored file agrees with
// every other's on every shared cell.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  RELAY_BIN,
  assertClean,
  experiment,
  openParticipant,
  playRandomly,
  sharedCells,
  startRelay,
  storedFile,
  useBrowserAndRelay,
} from './harness.mjs';

const env = useBrowserAndRelay();

const stored = () =>
  window.rollgym?.phase === 'done' && window.rollgym.exports.length === 1 && window.rollgym.exports[0].acked;

const PAGES = path.join(import.meta.dirname, 'pages');

/**
 * `size` pages of the experiment `exp` (the first one behind `network`; each opens `at`) play
 * one episode with random keys; every member's file (under `data`) must have all `steps` rows
 * and agree cell for cell.
 */
async function playGroup(size, { network, exp = `group_${size}`, data = [`e2e_group_${size}`, 'overcooked'], at = '', steps = 150 } = {}) {
  env.relay = await startRelay({ experiment: experiment(exp), name: exp, wwwDir: PAGES });
  const pages = [];
  try {
    const open = (i) => openParticipant(env.browser, env.relay.url, { path: at, network: i === 0 ? network : undefined });
    for (let i = 0; i < size - 1; i++) pages.push(await open(i));
    const here = (n) => window.rollgym?.phase === 'waiting' && window.rollgym.waiting?.[0] === n;
    const waiting = await pages[0].waitFor(here, size - 1);
    assert.deepEqual(waiting.waiting, [size - 1, size], `the waiting room says "${size - 1} of ${size}"`);
    pages.push(await open(size - 1));
    await playRandomly(pages, () => window.rollgym?.phase === 'done');
    const hooks = await Promise.all(pages.map((p) => p.waitFor(stored, null, 20000)));
    const gameIds = new Set(hooks.map((h) => h.gameId));
    assert.equal(gameIds.size, 1, 'one game for the whole group');
    assert.deepEqual(hooks.map((h) => h.playerIndex).sort(), [...Array(size).keys()]);
    for (const h of hooks) {
      assert.equal(h.partnerIds.length, size - 1, 'every page knows every partner');
      assert.equal(h.lastError, null, 'the relay refused nothing (health reports included)');
    }
    const dir = path.join(env.relay.dataDir, ...data);
    const files = hooks.map((h) => storedFile(dir, h.participantId, 'csv'));
    const header = files[0].split('\n')[0].split(',');
    for (let p = 0; p < size; p++) {
      assert.ok(header.includes(`actions.${p}`) && header.includes(`rewards.${p}`), `player ${p}'s columns`);
    }
    const shared = files.map(sharedCells);
    assert.equal(shared[0].length, steps + 1, `a header and ${steps} rows`);
    for (let i = 1; i < size; i++) assert.deepEqual(shared[i], shared[0], `member ${i} agrees with member 0`);
    const paths = hooks.map((h) => path.join(dir, `${h.participantId}_ep0.csv`));
    assert.match(execFileSync(RELAY_BIN, ['compare', ...paths], { encoding: 'utf8' }), /^equal/);
    const summary = JSON.parse(readFileSync(path.join(dir, `${hooks[0].gameId}_summary.json`), 'utf8'));
    assert.equal(summary.episodes['0'].parity.result, 'equal');
    assert.equal(summary.participants.length, size, 'every member\'s file compared');
    assertClean(...pages);
    return hooks;
  } finally {
    await Promise.all(pages.map((p) => p.close()));
  }
}

test('three pages play a full episode, one behind 60 ms and 5 % loss, and all three files agree', async () => {
  const hooks = await playGroup(3, { network: { latency: 60, packetLoss: 5 } });
  assert.ok(hooks.some((h) => h.rollbacks > 0), 'the slow link made someone roll back');
});

test('four pages play a full episode, one behind 60 ms and 5 % loss, and all four files agree', async () => {
  await playGroup(4, { network: { latency: 60, packetLoss: 5 } });
});

test('a JavaScript environment for three players (numPlayers: 3) plays a group of three', async () => {
  const hooks = await playGroup(3, { exp: 'coins_3', data: ['e2e_coins_3', 'coins'], at: 'coins-3/', steps: 120 });
  const dir = path.join(env.relay.dataDir, 'e2e_coins_3', 'coins');
  const header = storedFile(dir, hooks[0].participantId, 'csv').split('\n')[0];
  assert.ok(header.includes('infos.coins.2'), `the third player's info column: ${header}`);
});

/**
 * Opens three pages on the running relay into `pages` (the caller closes them) and waits until
 * all three play past frame 45.
 */
async function threePlaying(pages) {
  for (let i = 0; i < 3; i++) pages.push(await openParticipant(env.browser, env.relay.url));
  const playing = () => window.rollgym?.phase === 'playing' && window.rollgym.frame >= 45;
  await Promise.all(pages.map((p) => p.waitFor(playing, null, 30000)));
}

test('one of three closes its page mid-game: the two others agree where to stop and store identical files', async () => {
  env.relay = await startRelay({ experiment: experiment('group_3'), name: 'group_leave' });
  const pages = [];
  try {
    await threePlaying(pages);
    const leaver = pages.pop();
    const { participantId: gone, playerIndex } = await leaver.hook();
    await leaver.close();
    const ended = () =>
      window.rollgym.phase === 'partner_disconnected' && window.rollgym.exports[0]?.acked === true;
    const hooks = await Promise.all(pages.map((p) => p.waitFor(ended, null, 30000)));
    const dir = path.join(env.relay.dataDir, 'e2e_group_3', 'overcooked');
    const sidecars = hooks.map((h) => {
      assert.equal(h.outcome, 'partner_disconnected');
      assert.ok(h.partnerIds.includes(gone));
      return JSON.parse(storedFile(dir, h.participantId, 'json'));
    });
    for (const sidecar of sidecars) {
      assert.equal(sidecar.partial, true);
      assert.equal(sidecar.outcome, 'partner_disconnected');
      assert.equal(sidecar.unconfirmed_rows, 0, 'every row kept is confirmed');
      assert.equal(sidecar.departure.player, playerIndex, 'the sidecar names who left');
      assert.deepEqual(sidecar.departure.agreed_by, hooks.map((h) => h.playerIndex).sort());
      assert.equal(sidecar.last_frame, sidecar.departure.last_frame);
    }
    assert.deepEqual(sidecars[0].departure, sidecars[1].departure);
    const files = hooks.map((h) => sharedCells(storedFile(dir, h.participantId, 'csv')));
    assert.ok(files[0].length > 45, `rows before the departure (${files[0].length - 1})`);
    assert.deepEqual(files[0], files[1], 'both remaining members store the same rows');
    assertClean(...pages);
  } finally {
    await Promise.all(pages.map((p) => p.close()));
  }
});

test('with max_p2p_rtt_ms a group of three is admitted once each of its three pairs passed a probe', async () => {
  env.relay = await startRelay({ experiment: experiment('group_3_probe'), name: 'group_probe' });
  const pages = [];
  try {
    for (let i = 0; i < 3; i++) pages.push(await openParticipant(env.browser, env.relay.url));
    const playing = () => window.rollgym?.phase === 'playing';
    const hooks = await Promise.all(pages.map((p) => p.waitFor(playing, null, 60000)));
    assert.equal(new Set(hooks.map((h) => h.gameId)).size, 1, 'one game for the three');
    assert.equal(hooks.reduce((n, h) => n + h.probes, 0), 6, 'every page probed both of its partners');
    const log = readFileSync(path.join(env.relay.dataDir, 'e2e_group_3_probe', 'match_logs', 'overcooked_matches.jsonl'), 'utf8')
      .trim().split('\n').map((line) => JSON.parse(line));
    const probes = log.filter((r) => r.event === 'probe');
    assert.deepEqual(probes.map((r) => r.result), ['accepted', 'accepted', 'accepted'], JSON.stringify(probes));
    const pairs = new Set(probes.map((r) => r.participants.map((p) => p.participant_id).sort().join(' ')));
    assert.equal(pairs.size, 3, 'three different pairs');
    const [match] = log.filter((r) => r.event === 'match');
    assert.equal(match.participants.length, 3);
    assert.ok(probes.some((r) => r.probe_id === match.probe.probe_id), 'the match names one of its probes');
    assertClean(...pages);
  } finally {
    await Promise.all(pages.map((p) => p.close()));
  }
});

test('with on_player_leave = "continue" the two others play on to the end and store identical complete files', async () => {
  env.relay = await startRelay({ experiment: experiment('group_3_continue'), name: 'group_continue' });
  const pages = [];
  try {
    await threePlaying(pages);
    const leaver = pages.pop();
    const { playerIndex } = await leaver.hook();
    await leaver.close();
    await playRandomly(pages, () => window.rollgym?.phase === 'done');
    const hooks = await Promise.all(pages.map((p) => p.waitFor(stored, null, 20000)));
    const dir = path.join(env.relay.dataDir, 'e2e_group_3_continue', 'overcooked');
    const sidecars = hooks.map((h) => JSON.parse(storedFile(dir, h.participantId, 'json')));
    for (const sidecar of sidecars) {
      assert.equal(sidecar.partial, false);
      assert.equal(sidecar.outcome, 'complete');
      assert.equal(sidecar.departure.player, playerIndex);
      assert.equal(sidecar.departure.continued, true);
    }
    assert.deepEqual(sidecars[0].departure, sidecars[1].departure);
    const files = hooks.map((h) => sharedCells(storedFile(dir, h.participantId, 'csv')));
    assert.equal(files[0].length, 151, 'every step of the episode');
    assert.deepEqual(files[0], files[1], 'both remaining members store the same rows');
    // After the agreed frame the leaver only does its default action.
    const header = files[0][0].split(',');
    const column = header.indexOf(`actions.${playerIndex}`);
    const after = sidecars[0].departure.last_frame - sidecars[0].first_frame + 1;
    const actions = new Set(files[0].slice(1 + after).map((row) => row.split(',')[column]));
    assert.equal(actions.size, 1, `one action after the departure: ${[...actions]}`);
    assertClean(...pages);
  } finally {
    await Promise.all(pages.map((p) => p.close()));
  }
});

test('with "continue", a member frozen when another leaves: the third ends alone within seconds, its data kept', async () => {
  env.relay = await startRelay({ experiment: experiment('group_3_continue'), name: 'group_continue_frozen' });
  const pages = [];
  try {
    await threePlaying(pages);
    // The first page's script stops (a frozen tab), then the last one closes.
    const [frozen, third, leaver] = pages;
    const cdp = await frozen.page.context().newCDPSession(frozen.page);
    await cdp.send('Debugger.enable');
    await cdp.send('Debugger.pause');
    const { playerIndex: left } = await leaver.hook();
    pages.pop();
    await leaver.close();
    // The third cannot go on with a partner that never answers: it ends at its own frame.
    const ended = () => window.rollgym?.phase === 'partner_disconnected' && window.rollgym.exports[0]?.acked;
    const hook = await third.waitFor(ended, null, 20000);
    await cdp.send('Debugger.resume');
    const dir = path.join(env.relay.dataDir, 'e2e_group_3_continue', 'overcooked');
    const sidecar = JSON.parse(storedFile(dir, hook.participantId, 'json'));
    assert.equal(sidecar.partial, true);
    assert.deepEqual(sidecar.departure, {
      player: left,
      last_frame: sidecar.last_frame,
      agreed_by: [hook.playerIndex],
      continued: false,
    });
    assertClean(third);
  } finally {
    await Promise.all(pages.map((p) => p.close()));
  }
});
