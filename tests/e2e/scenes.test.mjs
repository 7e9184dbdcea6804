// An experiment as a sequence of scenes: instructions, two games, a thank-you page; the
// second game re-pairs the partners of the first (GroupReunion).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  assertClean,
  assertCleanExcept,
  experiment,
  openParticipant,
  playRandomly,
  pollUntil,
  startRelay,
  useBrowserAndRelay,
} from './harness.mjs';

const env = useBrowserAndRelay();

test('scenes run in order and GroupReunion re-pairs partners in the second game', async () => {
  env.relay = await startRelay({ experiment: experiment('scenes'), name: 'scenes_reunion' });
  const ids = ['sa', 'sb', 'sc', 'sd'];
  const players = [];
  for (const id of ids) {
    const p = await openParticipant(env.browser, env.relay.url, { query: `?participant=${id}` });
    const first = await p.waitFor(() => window.rollgym?.phase === 'scene');
    assert.equal(first.scene.id, 'welcome');
    assert.match(await p.page.textContent('.rollgym-scene-html'), /two short rounds/);
    players.push(p);
  }
  // Start in order: round 1 pairs a-b and c-d.
  for (const p of players) {
    await p.page.click('.rollgym-scene-button');
    await p.waitFor(() => window.rollgym?.scene?.id === 'round1');
  }
  const round1 = await Promise.all(
    players.map((p) => p.waitFor(() => window.rollgym?.scene?.id === 'round1' && typeof window.rollgym.gameId === 'string')),
  );
  assert.equal(round1[0].gameId, round1[1].gameId);
  assert.equal(round1[2].gameId, round1[3].gameId);
  // Play until everyone reaches round 2's game, then until the thank-you page.
  const inRound2 = () => window.rollgym?.scene?.id === 'round2' && typeof window.rollgym.gameId === 'string';
  await playRandomly(players, inRound2);
  const round2 = await Promise.all(players.map((p) => p.hook()));
  assert.equal(round2[0].gameId, round2[1].gameId, 'a and b are together again');
  assert.equal(round2[2].gameId, round2[3].gameId, 'c and d are together again');
  assert.notEqual(round2[0].gameId, round1[0].gameId, 'a new game');
  const atTheEnd = () => window.rollgym?.phase === 'scene' && window.rollgym.scene.id === 'thanks';
  await playRandomly(players, atTheEnd);
  for (const p of players) {
    assert.match(await p.page.textContent('.rollgym-scene-code'), /E2E-DONE/);
    assert.ok(await p.page.isHidden('.rollgym-scene-button'), 'the last page has no button');
    assert.ok(await p.page.isHidden('.rollgym-canvas'), 'nothing of the games is left');
  }
  // Each game's data went to its own scene directory.
  for (const scene of ['round1', 'round2']) {
    for (const id of ids) {
      const file = path.join(env.relay.dataDir, 'e2e_scenes', scene, `${id}_ep0.csv`);
      await waitForFile(file);
    }
  }
  assertClean(...players);
  await Promise.all(players.map((p) => p.close()));
});

test('a relay restart mid-game: the round finishes, the partners meet again in round 2, and the end is reached', async () => {
  const first = await startRelay({ experiment: experiment('scenes'), name: 'scenes_restart' });
  const port = new URL(first.url).port;
  const ids = ['ra', 'rb'];
  const players = [];
  for (const id of ids) {
    const p = await openParticipant(env.browser, first.url, { query: `?participant=${id}` });
    await p.waitFor(() => window.rollgym?.phase === 'scene');
    await p.page.click('.rollgym-scene-button');
    players.push(p);
  }
  try {
    await Promise.all(players.map((p) => p.waitFor(() => window.rollgym?.phase === 'playing')));
    // The relay goes away mid-game and comes back on the same address and data directory
    // once round 1 is over on both pages.
    assert.equal(await first.kill(), 0);
    await playRandomly(players, () => window.rollgym?.phase === 'done');
    env.relay = await startRelay({
      experiment: experiment('scenes'),
      name: 'scenes_restart',
      addr: `127.0.0.1:${port}`,
      dataDir: first.dataDir,
    });
    // Back, both go on to round 2, where GroupReunion (no fallback) must remember they were
    // partners, and then to the thank-you page.
    const atTheEnd = () => window.rollgym?.phase === 'scene' && window.rollgym.scene.id === 'thanks';
    await playRandomly(players, atTheEnd);
    for (const p of players) assert.match(await p.page.textContent('.rollgym-scene-code'), /E2E-DONE/);
    for (const scene of ['round1', 'round2']) {
      for (const id of ids) {
        const file = path.join(env.relay.dataDir, 'e2e_scenes', scene, `${id}_ep0.csv`);
        await waitForFile(file);
      }
    }
    // A reload at the end shows the thank-you page (and its code) again, not the experiment.
    await players[0].page.reload();
    const again = await players[0].waitFor(atTheEnd);
    assert.equal(again.scene.completionCode, 'E2E-DONE');
    // Chromium itself logs each refused reconnection attempt; nothing else may appear.
    assertCleanExcept(/WebSocket connection to .* failed: .*ERR_CONNECTION_REFUSED/, ...players);
  } finally {
    await Promise.all(players.map((p) => p.close()));
  }
});

/** Waits for a file the relay is still writing. */
function waitForFile(file) {
  return pollUntil(() => existsSync(file), () => `${file} stored`);
}
