// Two browsers pair through the real relay and talk over a real WebRTC DataChannel.
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { assertClean, openParticipant, startRelay, useBrowserAndRelay } from './harness.mjs';

const env = useBrowserAndRelay();
beforeEach(async (t) => {
  env.relay = await startRelay({ name: t.name.replace(/\W+/g, '_') });
});

const connected = () => typeof window.rollgym?.p2pRttMs === 'number';

test('two participants are paired and measure a peer-to-peer round trip', async () => {
  const a = await openParticipant(env.browser, env.relay.url, { query: '?participant=alice' });
  const waiting = await a.waitFor(() => window.rollgym?.phase === 'waiting');
  assert.equal(waiting.participantId, 'alice');
  const b = await openParticipant(env.browser, env.relay.url, { query: '?PROLIFIC_PID=bob' });

  const [sa, sb] = await Promise.all([a.waitFor(connected), b.waitFor(connected)]);
  const inGame = ['matched', 'countdown', 'playing'];
  assert.ok(inGame.includes(sa.phase), sa.phase);
  assert.ok(inGame.includes(sb.phase), sb.phase);
  assert.equal(sa.playerIndex, 0);
  assert.equal(sb.playerIndex, 1);
  assert.equal(sa.gameId, sb.gameId);
  assert.ok(sa.p2pRttMs >= 0 && sa.p2pRttMs < 1000, `rtt ${sa.p2pRttMs}`);
  assert.match(await a.page.textContent('.rollgym-status'), /Connected to your partner — round trip \d+ ms/);
  assert.match(await b.page.textContent('.rollgym-status'), /round trip \d+ ms/);
  assertClean(a, b);
  await Promise.all([a.close(), b.close()]);
});

test('a third participant waits alone until a fourth arrives', async () => {
  const a = await openParticipant(env.browser, env.relay.url);
  const b = await openParticipant(env.browser, env.relay.url);
  await Promise.all([a.waitFor(connected), b.waitFor(connected)]);
  const c = await openParticipant(env.browser, env.relay.url);
  const alone = await c.waitFor(() => window.rollgym?.phase === 'waiting');
  assert.deepEqual(alone.waiting, [1, 2]);
  assert.match(await c.page.textContent('.rollgym-status'), /Waiting for a partner/);

  const d = await openParticipant(env.browser, env.relay.url);
  const [sc, sd] = await Promise.all([c.waitFor(connected), d.waitFor(connected)]);
  assert.equal(sc.gameId, sd.gameId);
  assert.notEqual(sc.gameId, (await a.hook()).gameId);
  assert.deepEqual([sc.playerIndex, sd.playerIndex], [0, 1]);
  assertClean(a, b, c, d);
  await Promise.all([a, b, c, d].map((p) => p.close()));
});

test('a partner leaving before the start sends the other back to the waiting room', async () => {
  const a = await openParticipant(env.browser, env.relay.url);
  const b = await openParticipant(env.browser, env.relay.url);
  await Promise.all([a.waitFor(connected), b.waitFor(connected)]);
  await b.close();
  const back = await a.waitFor(() => window.rollgym?.phase === 'waiting');
  assert.equal(back.gameId, null);
  assert.match(await a.page.textContent('.rollgym-status'), /partner left before the game started/);
  assert.ok(await a.page.isHidden('.rollgym-canvas'), 'nothing of the unstarted game is left');
  // And the next arrival is paired with them.
  const c = await openParticipant(env.browser, env.relay.url);
  const [sa, sc] = await Promise.all([a.waitFor(connected), c.waitFor(connected)]);
  assert.equal(sa.gameId, sc.gameId);
  assertClean(a, b, c);
  await Promise.all([a.close(), c.close()]);
});

test('a second tab with the same participant id gets a clear error', async () => {
  const a = await openParticipant(env.browser, env.relay.url, { query: '?participant=twice' });
  await a.waitFor(() => window.rollgym?.phase === 'waiting');
  const again = await openParticipant(env.browser, env.relay.url, { query: '?participant=twice' });
  const refused = await again.waitFor(() => window.rollgym?.phase === 'error');
  assert.match(refused.lastError, /already connected in another tab/);
  assert.ok(await again.page.isVisible('.rollgym-notice'));
  assertClean(a, again);
  await Promise.all([a.close(), again.close()]);
});

test('an invalid participant id in the link is reported, not sent', async () => {
  const p = await openParticipant(env.browser, env.relay.url, { query: '?participant=..%2Fetc' });
  const failed = await p.waitFor(() => window.rollgym?.phase === 'error');
  assert.match(failed.lastError, /participant id in the link is not valid/);
  assertClean(p);
  await p.close();
});
