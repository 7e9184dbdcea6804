// The waiting room with several participants at once: concurrent games, staggered arrivals,
// someone leaving the waiting room while others play.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  assertClean,
  assertCleanExcept,
  experiment,
  openParticipant,
  playRandomly,
  sameEpisodes,
  startRelay,
  isDone,
  wasMatched,
  isWaiting,
  useBrowserAndRelay,
} from './harness.mjs';

const env = useBrowserAndRelay();


/** Groups participants by game and checks each game's two players agree. */
async function assertGamesAgree(participants, games) {
  const hooks = await Promise.all(participants.map((p) => p.hook()));
  const byGame = new Map();
  for (const h of hooks) byGame.set(h.gameId, [...(byGame.get(h.gameId) ?? []), h]);
  assert.equal(byGame.size, games, `${games} games`);
  for (const [game, players] of byGame) {
    assert.equal(players.length, 2, `two players in ${game}`);
    assert.ok(sameEpisodes(players[0], players[1], 1), `game ${game} agrees`);
  }
}

test('six participants play three concurrent games to the end', async () => {
  env.relay = await startRelay({ experiment: experiment('short'), name: 'lobby_six' });
  const players = [];
  for (let i = 0; i < 6; i++) players.push(await openParticipant(env.browser, env.relay.url, { query: `?participant=six-${i}` }));
  // The first pair may finish its five-second game while the last pages still load.
  await Promise.all(players.map((p) => p.waitFor(wasMatched)));
  await playRandomly(players, isDone);
  await assertGamesAgree(players, 3);
  assertClean(...players);
  await Promise.all(players.map((p) => p.close()));
});

test('staggered arrivals are paired in arrival order', async () => {
  env.relay = await startRelay({ experiment: experiment('short'), name: 'lobby_staggered' });
  const players = [];
  for (let i = 0; i < 4; i++) {
    const p = await openParticipant(env.browser, env.relay.url, { query: `?participant=st-${i}` });
    // Each arrival comes once the previous one is settled (waiting or in a game).
    await p.waitFor(() => ['waiting', 'matched', 'countdown', 'playing'].includes(window.rollgym?.phase));
    players.push(p);
  }
  const hooks = await Promise.all(players.map((p) => p.waitFor(() => typeof window.rollgym?.gameId === 'string')));
  assert.equal(hooks[0].gameId, hooks[1].gameId);
  assert.equal(hooks[2].gameId, hooks[3].gameId);
  assert.notEqual(hooks[0].gameId, hooks[2].gameId);
  assert.deepEqual(hooks.map((h) => h.playerIndex), [0, 1, 0, 1]);
  await playRandomly(players, isDone);
  await assertGamesAgree(players, 2);
  assertClean(...players);
  await Promise.all(players.map((p) => p.close()));
});

test('a participant leaving the waiting room does not disturb a running game', async () => {
  env.relay = await startRelay({ experiment: experiment('short'), name: 'lobby_leaver' });
  const a = await openParticipant(env.browser, env.relay.url);
  const b = await openParticipant(env.browser, env.relay.url);
  await Promise.all([a.waitFor(() => window.rollgym?.phase === 'playing'), b.waitFor(() => window.rollgym?.phase === 'playing')]);
  const c = await openParticipant(env.browser, env.relay.url);
  await c.waitFor(isWaiting);
  await c.close();
  await playRandomly([a, b], isDone);
  await assertGamesAgree([a, b], 1);
  assertClean(a, b, c);
  await Promise.all([a.close(), b.close()]);
});

test('a relay restart during the countdown sends the pair back to the waiting room, and they play after all', async () => {
  const first = await startRelay({ experiment: experiment('long_countdown'), name: 'lobby_restart' });
  const port = new URL(first.url).port;
  const a = await openParticipant(env.browser, first.url, { query: '?participant=cd-a' });
  const b = await openParticipant(env.browser, first.url, { query: '?participant=cd-b' });
  try {
    const [before] = await Promise.all([a, b].map((p) => p.waitFor(() => window.rollgym?.phase === 'countdown')));
    // The game the old relay was validating is gone with it.
    assert.equal(await first.kill(), 0);
    env.relay = await startRelay({
      experiment: experiment('long_countdown'),
      name: 'lobby_restart',
      addr: `127.0.0.1:${port}`,
      dataDir: first.dataDir,
    });
    const newGame = (old) => typeof window.rollgym?.gameId === 'string' && window.rollgym.gameId !== old && window.rollgym.phase === 'playing';
    const after = await Promise.all([a, b].map((p) => p.waitFor(newGame, before.gameId, 30000)));
    assert.equal(after[0].gameId, after[1].gameId, 'matched with each other again');
    await playRandomly([a, b], isDone);
    await assertGamesAgree([a, b], 1);
    assertCleanExcept(/WebSocket connection to .* failed: .*ERR_CONNECTION_REFUSED/, a, b);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});
