// Two participants play Overcooked with rollback netcode over real WebRTC, under good and bad
// networks and with a really hidden tab, and must end with identical confirmed state hashes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  afterMs,
  assertClean,
  experiment,
  framesBudgetMs,
  gameOf,
  openHideableParticipant,
  openParticipant,
  playRandomly,
  sameEpisodes,
  startRelay,
  storedSidecar,
  inGame,
  isDone,
  useBrowserAndRelay,
} from './harness.mjs';

const env = useBrowserAndRelay();


async function pair(conditions = [{}, {}]) {
  const network = (i) => (conditions[i].latency ? conditions[i] : undefined);
  const a = await openParticipant(env.browser, env.relay.url, { network: network(0) });
  const b = await openParticipant(env.browser, env.relay.url, { network: network(1) });
  await Promise.all([a.waitFor(inGame), b.waitFor(inGame)]);
  return [a, b];
}

async function playToTheEnd(a, b) {
  await playRandomly([a, b], isDone);
  const [sa, sb] = await Promise.all([a.hook(), b.hook()]);
  assert.ok(sameEpisodes(sa, sb, 1), `hashes differ: ${JSON.stringify([sa.episodes, sb.episodes])}`);
  assert.equal(sa.episodes[0].steps, 150);
  assert.equal(sa.desyncs, 0);
  assert.equal(sb.desyncs, 0);
  assert.equal(sa.outcome, 'complete');
  assert.ok(await a.page.isVisible('.rollgym-notice'), 'the end is shown');
  assertClean(a, b);
  return [sa, sb];
}

test('random key presses on both pages end with identical confirmed state hashes', async () => {
  env.relay = await startRelay({ experiment: experiment('short'), name: 'gameplay_plain' });
  const [a, b] = await pair();
  const [sa, sb] = await playToTheEnd(a, b);
  assert.ok(sa.localActions > 10 && sb.localActions > 10, 'key presses became actions');
  await Promise.all([a.close(), b.close()]);
});

test('100 ms of added latency on one page: rollbacks happen, hashes still agree', async () => {
  env.relay = await startRelay({ experiment: experiment('short'), name: 'gameplay_latency' });
  const [a, b] = await pair([{ latency: 100 }, {}]);
  const [sa, sb] = await playToTheEnd(a, b);
  assert.ok(sa.rollbacks + sb.rollbacks > 0, 'latency beyond the input delay causes rollbacks');
  await Promise.all([a.close(), b.close()]);
});

test('input_delay = "auto" with 150 ms on one page: both play the delay the relay chose from the round trip', async () => {
  env.relay = await startRelay({ experiment: experiment('auto_delay'), name: 'gameplay_auto_delay' });
  const [a, b] = await pair([{ latency: 150 }, {}]);
  const [sa, sb] = await playToTheEnd(a, b);
  const stored = () => window.rollgym.exports.length === 1 && window.rollgym.exports[0].acked;
  await Promise.all([a.waitFor(stored), b.waitFor(stored)]);
  const dir = path.join(env.relay.dataDir, 'e2e_auto_delay', 'overcooked');
  const [ca, cb] = [sa, sb].map((h) => storedSidecar(dir, h.participantId).settings);
  assert.deepEqual(ca.input_delay_auto, cb.input_delay_auto, 'one delay for the game, not one per page');
  const { frames, rtt_ms: rtt } = ca.input_delay_auto;
  assert.ok(rtt >= 150, `chosen from the measured round trip (${rtt} ms)`);
  assert.equal(frames, Math.min(8, Math.ceil((rtt * 30 + 1000) / 2000)), 'the one-way trip and half a frame');
  assert.equal(ca.input_delay, frames);
  assert.equal(cb.input_delay, frames);
  await Promise.all([a.close(), b.close()]);
});

test('packet loss (10 % with 30 ms latency on one page): hashes still agree', async () => {
  env.relay = await startRelay({ experiment: experiment('short'), name: 'gameplay_loss' });
  const [a, b] = await pair([{ latency: 30, packetLoss: 10 }, {}]);
  await playToTheEnd(a, b);
  await Promise.all([a.close(), b.close()]);
});

test('a really hidden tab keeps simulating and its partner never waits', async () => {
  env.relay = await startRelay({ experiment: experiment('long'), name: 'gameplay_hidden' });
  const a = await openHideableParticipant(env.relay.url, 'hidden_a');
  const b = await openHideableParticipant(env.relay.url, 'hidden_b');
  try {
    await Promise.all([a.waitFor(inGame), b.waitFor(inGame)]);
    // Play a little, then hide b for five seconds in the middle of the episode.
    await playRandomly([a, b], () => window.rollgym.frame > 90);
    await b.hide();
    const before = await a.hook();
    // Five seconds of the visible player's simulation (150 frames at 30 fps) pass while b is
    // hidden; if the partner had to wait for the hidden tab, these frames would not come.
    const fiveSeconds = before.frame + 150;
    const budget = framesBudgetMs(await gameOf(a), 150);
    await playRandomly([a], (f) => window.rollgym.frame >= f, { timeoutMs: budget, arg: fiveSeconds });
    const hiddenStatus = await b.hook();
    assert.equal(await b.page.evaluate(() => document.hidden), true);
    assert.equal(hiddenStatus.focused, false, 'the hidden tab reports focused = false');
    assert.equal(hiddenStatus.phase, 'playing');
    assert.ok(hiddenStatus.frame >= fiveSeconds - 30, `the hidden tab kept simulating (${hiddenStatus.frame})`);
    assert.equal((await a.hook()).waitingForPartner, false, 'the visible partner never waits');
    await b.show();
    await playRandomly([a, b], isDone);
    const [sa, sb] = await Promise.all([a.hook(), b.hook()]);
    assert.ok(sameEpisodes(sa, sb, 1), `hashes differ: ${JSON.stringify([sa.episodes, sb.episodes])}`);
    assert.equal(sa.episodes[0].steps, 450);
    assertClean(a, b);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('closing a page mid-game shows the partner the disconnect notice and stops the game', async () => {
  env.relay = await startRelay({ experiment: experiment('short'), name: 'gameplay_close' });
  const [a, b] = await pair();
  await a.waitFor(() => window.rollgym.phase === 'playing');
  await b.close();
  const left = await a.waitFor(() => window.rollgym.phase === 'partner_disconnected');
  assert.equal(left.outcome, 'partner_disconnected');
  assert.ok(await a.page.isVisible('.rollgym-notice'));
  assert.ok(await a.page.isHidden('.rollgym-canvas'), 'the game canvas and its clock are torn down');
  // The data so far is saved and marked partial.
  const saved = await a.waitFor(() => window.rollgym.exports[0]?.acked === true);
  assert.equal(saved.exports[0].partial, true);
  const base = path.join(env.relay.dataDir, 'e2e_short', 'overcooked', `${saved.participantId}_ep0`);
  const sidecar = JSON.parse(readFileSync(`${base}.json`, 'utf8'));
  assert.equal(sidecar.partial, true);
  assert.equal(sidecar.outcome, 'partner_disconnected');
  const rows = readFileSync(`${base}.csv`, 'utf8').trimEnd().split('\n');
  assert.equal(rows.length - 1, sidecar.rows);
  assertClean(a, b);
  await a.close();
});

/** Blocks the page's main thread (a frozen page; its Worker keeps running). */
function freeze(participant, ms) {
  return participant.page.evaluate((duration) => {
    const end = performance.now() + duration;
    while (performance.now() < end) {
      // busy: nothing on the main thread runs
    }
  }, ms);
}

test('a frozen page makes its partner wait at the prediction limit; both resume and agree', async () => {
  env.relay = await startRelay({ experiment: experiment('long'), name: 'gameplay_frozen' });
  const [a, b] = await pair();
  await playRandomly([a, b], () => window.rollgym.frame > 60);
  const game = await gameOf(a);
  const freezeMs = 2500;
  assert.ok(freezeMs < game.focusLossTimeoutMs, 'a freeze the game waits out');
  const frozen = freeze(b, freezeMs);
  // a runs on until the prediction limit, then waits.
  const limit = framesBudgetMs(game, game.maxPrediction);
  const waiting = await a.waitFor(() => window.rollgym.waitingForPartner === true, null, limit);
  assert.equal(waiting.phase, 'playing');
  await frozen;
  const resumed = await a.waitFor((f) => !window.rollgym.waitingForPartner && window.rollgym.frame > f, waiting.frame + 30);
  assert.equal(resumed.phase, 'playing');
  await playRandomly([a, b], isDone);
  const [sa, sb] = await Promise.all([a.hook(), b.hook()]);
  assert.ok(sameEpisodes(sa, sb, 1), `hashes differ: ${JSON.stringify([sa.episodes, sb.episodes])}`);
  assertClean(a, b);
  await Promise.all([a.close(), b.close()]);
});

test('a page frozen past the focus-loss timeout ends the game for both as partner_away', async () => {
  env.relay = await startRelay({ experiment: experiment('away'), name: 'gameplay_away' });
  const [a, b] = await pair();
  await playRandomly([a, b], () => window.rollgym.frame > 60);
  const { focusLossTimeoutMs } = await gameOf(a);
  // Frozen twice as long as the partner waits: a gives up while b is still frozen.
  const frozen = freeze(b, 2 * focusLossTimeoutMs);
  const over = afterMs(2 * focusLossTimeoutMs);
  const ended = await a.waitFor(() => window.rollgym.phase === 'partner_disconnected', null, over);
  assert.equal(ended.outcome, 'partner_away');
  await frozen;
  const other = await b.waitFor(() => window.rollgym.phase === 'partner_disconnected', null, over);
  assert.equal(other.outcome, 'partner_away');
  assert.ok(await a.page.isVisible('.rollgym-notice'));
  assert.ok(await b.page.isVisible('.rollgym-notice'));
  assertClean(a, b);
  await Promise.all([a.close(), b.close()]);
});
