// Real networks: participants whose machines cannot reach each other play through a real
// TURN server (coturn) with the time-limited credentials the relay gives each page,
// `force_relay` sends even pages that could talk directly through it, and a game survives a
// few seconds without any datagram between the pages. Built from network
// namespaces (tests/e2e/topology.mjs); skipped with the reason when that cannot be done here.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  assertClean,
  experiment,
  framesBudgetMs,
  gameOf,
  openParticipant,
  playRandomly,
  sharedCells,
  startRelay,
  useBrowserAndRelay,
} from './harness.mjs';
import { ROUTING, createHomes, launchBrowserIn, startTurn } from './topology.mjs';

const env = useBrowserAndRelay();
const SECRET = 'e2e-turn-shared-secret';
const net = { homes: null, turn: null };

before(async () => {
  if (ROUTING) return;
  net.homes = createHomes();
  net.turn = await startTurn({ addresses: [net.homes.a.gateway, net.homes.b.gateway], secret: SECRET });
});
after(async () => {
  await net.turn?.stop();
  net.homes?.remove();
});

const stored = () =>
  window.rollgym?.phase === 'done' && window.rollgym.exports.length === 1 && window.rollgym.exports[0].acked;

/** Plays one game between pages opened in `browsers` (the relay reached at `hosts`); checks
 * both ended with connection type relay and identical shared columns. */
async function playThroughTurn(name, experimentName, experimentId, browsers, hosts) {
  env.relay = await startRelay({
    experiment: experiment(experimentName),
    name,
    addr: '0.0.0.0:0',
    env: { ROLLGYM_TURN_SECRET: SECRET },
  });
  const port = new URL(env.relay.url).port;
  const [a, b] = [
    await openParticipant(browsers[0], `http://${hosts[0]}:${port}`),
    await openParticipant(browsers[1], `http://${hosts[1]}:${port}`),
  ];
  try {
    await playRandomly([a, b], () => window.rollgym.phase === 'done');
    const hooks = await Promise.all([a, b].map((p) => p.waitFor(stored, null, 20000)));
    const dir = path.join(env.relay.dataDir, experimentId, 'overcooked');
    const [cellsA, cellsB] = hooks.map((h) => sharedCells(readFileSync(path.join(dir, `${h.participantId}_ep0.csv`), 'utf8')));
    assert.equal(cellsA.length, 151, 'every step stored');
    assert.deepEqual(cellsA, cellsB, 'both players stored the same game');
    for (const hook of hooks) {
      assert.equal(hook.connectionType, 'relay', 'the page says it went through TURN');
      const sidecar = JSON.parse(readFileSync(path.join(dir, `${hook.participantId}_ep0.json`), 'utf8'));
      assert.equal(sidecar.connection_type, 'relay', 'and so does its sidecar');
    }
    assertClean(a, b);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

test('pages in two homes that cannot reach each other play a full game through TURN', { skip: ROUTING }, async () => {
  const browsers = [await launchBrowserIn(net.homes.a.ns), await launchBrowserIn(net.homes.b.ns)];
  try {
    await playThroughTurn('turn_homes', 'turn', 'e2e_turn', browsers, [net.homes.a.gateway, net.homes.b.gateway]);
  } finally {
    await Promise.all(browsers.map((b) => b.close()));
  }
});

test('force_relay sends pages that could talk directly through TURN', { skip: ROUTING }, async () => {
  // Both pages in one home: a direct path exists, and force_relay must not take it.
  const browser = await launchBrowserIn(net.homes.a.ns);
  try {
    const host = net.homes.a.gateway;
    await playThroughTurn('turn_forced', 'turn_forced', 'e2e_turn_forced', [browser, browser], [host, host]);
  } finally {
    await browser.close();
  }
});

const CAN_DROP =
  process.getuid?.() !== 0 ? 'needs root (iptables in run-e2e.sh\'s namespace)'
    : !process.env.ROLLGYM_E2E_NETNS ? 'needs run-e2e.sh\'s private network namespace'
      : spawnSync('iptables', ['-S']).status !== 0 ? 'needs iptables (scripts/setup.sh installs it as root)'
        : false;

test('a 3 s outage of all UDP between the pages mid-game: play waits, resumes, and both store the same complete game', { skip: CAN_DROP }, async () => {
  env.relay = await startRelay({ experiment: experiment('long'), name: 'udp_outage' });
  const [a, b] = [await openParticipant(env.browser, env.relay.url), await openParticipant(env.browser, env.relay.url)];
  // Every datagram in this namespace (the pages' WebRTC; the relay's WebSocket is TCP).
  const rule = ['INPUT', '-p', 'udp', '-j', 'DROP'];
  let dropped = false;
  try {
    await Promise.all([a, b].map((p) => p.waitFor(() => window.rollgym?.phase === 'playing')));
    const game = await gameOf(a);
    await Promise.all([a, b].map((p) => p.waitFor(() => window.rollgym.frame > 90, null, framesBudgetMs(game, 90))));
    execFileSync('iptables', ['-A', ...rule]);
    dropped = true;
    const cut = (await a.hook()).confirmedFrame;
    // Both wait at the prediction limit, saying so, instead of running ahead.
    await Promise.all([a, b].map((p) => p.waitFor(() => window.rollgym.waitingForPartner === true)));
    const waiting = await Promise.all([a, b].map((p) => p.hook()));
    for (const hook of waiting) {
      assert.ok(hook.frame - hook.confirmedFrame <= game.maxPrediction + 1, `frame ${hook.frame}, confirmed ${hook.confirmedFrame}`);
    }
    // Three seconds of the game's own clock, counted by a page that is still ticking.
    const from = await a.page.evaluate(() => performance.now());
    await a.waitFor((until) => performance.now() > until, from + 3000, 10000);
    execFileSync('iptables', ['-D', ...rule]);
    dropped = false;
    await playRandomly([a, b], () => window.rollgym.phase === 'done');
    const hooks = await Promise.all([a, b].map((p) => p.waitFor(stored, null, 20000)));
    for (const hook of hooks) {
      assert.equal(hook.outcome, 'complete');
      assert.ok(hook.confirmedFrame > cut, 'play went on after the outage');
    }
    const dir = path.join(env.relay.dataDir, 'e2e_long', 'overcooked');
    const [cellsA, cellsB] = hooks.map((h) => sharedCells(readFileSync(path.join(dir, `${h.participantId}_ep0.csv`), 'utf8')));
    assert.equal(cellsA.length, 451, 'every step stored, none lost or doubled');
    assert.deepEqual(cellsA, cellsB);
    assertClean(a, b);
  } finally {
    if (dropped) execFileSync('iptables', ['-D', ...rule]);
    await Promise.all([a.close(), b.close()]);
  }
});
