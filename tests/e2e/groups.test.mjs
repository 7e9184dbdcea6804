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

/**
 * `size` pages of the experiment `group_<size>` (the first one behind `network`) play one
 * episode with random keys; every member's file must have every row and agree cell for cell.
 */
async function playGroup(size, network) {
  env.relay = await startRelay({ experiment: experiment(`group_${size}`), name: `group_${size}` });
  const pages = [];
  try {
    for (let i = 0; i < size; i++) {
      pages.push(await openParticipant(env.browser, env.relay.url, { network: i === 0 ? network : undefined }));
    }
    const waiting = await pages[0].waitFor(() => window.rollgym.phase === 'waiting' && window.rollgym.waiting);
    assert.equal(waiting.waiting[1], size, 'the waiting room counts toward the group size');
    await playRandomly(pages, () => window.rollgym.phase === 'done');
    const hooks = await Promise.all(pages.map((p) => p.waitFor(stored, null, 20000)));
    const gameIds = new Set(hooks.map((h) => h.gameId));
    assert.equal(gameIds.size, 1, 'one game for the whole group');
    assert.deepEqual(hooks.map((h) => h.playerIndex).sort(), [...Array(size).keys()]);
    for (const h of hooks) assert.equal(h.partnerIds.length, size - 1, 'every page knows every partner');
    const dir = path.join(env.relay.dataDir, `e2e_group_${size}`, 'overcooked');
    const files = hooks.map((h) => storedFile(dir, h.participantId, 'csv'));
    const header = files[0].split('\n')[0].split(',');
    for (let p = 0; p < size; p++) {
      assert.ok(header.includes(`actions.${p}`) && header.includes(`rewards.${p}`), `player ${p}'s columns`);
    }
    const shared = files.map(sharedCells);
    assert.equal(shared[0].length, 151, 'a header and 150 rows');
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
  const hooks = await playGroup(3, { latency: 60, packetLoss: 5 });
  assert.ok(hooks.some((h) => h.rollbacks > 0), 'the slow link made someone roll back');
});

test('four pages play a full episode, one behind 60 ms and 5 % loss, and all four files agree', async () => {
  await playGroup(4, { latency: 60, packetLoss: 5 });
});
