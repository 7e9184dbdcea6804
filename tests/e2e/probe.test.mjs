// Peer-to-peer probes before a match (`max_p2p_rtt_ms`): real probe connections between real
// pages; a page with emulated latency is kept apart from everyone.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  assertClean,
  experiment,
  inGame,
  isDone,
  isWaiting,
  openParticipant,
  playRandomly,
  pollUntil,
  sameEpisodes,
  startRelay,
  useBrowserAndRelay,
} from './harness.mjs';

const env = useBrowserAndRelay();

/** The match log of the probe experiment's one scene, as records. */
function matchLog(relay) {
  const file = path.join(relay.dataDir, 'e2e_probe/match_logs/overcooked_matches.jsonl');
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line));
}

/** Waits until the match log holds `n` records (the relay writes them off its hot path). */
function matchLogWith(relay, n) {
  return pollUntil(
    () => (matchLog(relay).length >= n ? matchLog(relay) : null),
    () => `match log has ${matchLog(relay).length} of ${n} records`,
  );
}

test('a close pair is probed, matched and plays to the end', async () => {
  env.relay = await startRelay({ experiment: experiment('probe'), name: 'probe_pair' });
  const a = await openParticipant(env.browser, env.relay.url, { query: '?participant=probe-a' });
  await a.waitFor(isWaiting);
  const b = await openParticipant(env.browser, env.relay.url, { query: '?participant=probe-b' });
  const hooks = await Promise.all([a.waitFor(inGame), b.waitFor(inGame)]);
  for (const h of hooks) {
    assert.equal(h.probes, 1, 'one probe before the match');
  }
  // Both sides measured; whichever reported first decided.
  const [probe, match] = await matchLogWith(env.relay, 2);
  assert.equal(probe.event, 'probe');
  assert.equal(probe.result, 'accepted');
  assert.ok(probe.p2p_rtt_ms <= 120, `measured ${probe.p2p_rtt_ms} ms`);
  assert.equal(match.event, 'match');
  assert.equal(match.probe.probe_id, probe.probe_id);
  assert.equal(match.game_id, hooks[0].gameId);
  await playRandomly([a, b], isDone);
  const [ha, hb] = await Promise.all([a.hook(), b.hook()]);
  assert.ok(sameEpisodes(ha, hb, 1), 'the game after the probe agrees');
  assertClean(a, b);
  await Promise.all([a.close(), b.close()]);
});

test('a participant with a slow connection is probed with each arrival and matched with none', async () => {
  env.relay = await startRelay({ experiment: experiment('probe'), name: 'probe_slow' });
  // 100 ms added each way on this page: every peer-to-peer round trip with it is over 200 ms.
  const slow = await openParticipant(env.browser, env.relay.url, {
    query: '?participant=slow',
    network: { latency: 100 },
  });
  await slow.waitFor(isWaiting);
  const fast1 = await openParticipant(env.browser, env.relay.url, { query: '?participant=fast-1' });
  // The first probe (slow with fast-1) is too slow: both wait on.
  const [first] = await matchLogWith(env.relay, 1);
  assert.equal(first.result, 'too_slow');
  assert.ok(first.p2p_rtt_ms > 120, `measured ${first.p2p_rtt_ms} ms`);
  await fast1.waitFor(() => window.rollgym?.phase === 'waiting' && window.rollgym?.probes === 1);

  const fast2 = await openParticipant(env.browser, env.relay.url, { query: '?participant=fast-2' });
  const [h1, h2] = await Promise.all([fast1.waitFor(inGame), fast2.waitFor(inGame)]);
  assert.equal(h1.gameId, h2.gameId, 'the two fast participants play together');
  const records = await matchLogWith(env.relay, 4);
  const probes = records.filter((r) => r.event === 'probe').map((r) => r.result);
  // slow was waiting longest, so it was probed with fast-2 before fast-1 was.
  assert.deepEqual(probes, ['too_slow', 'too_slow', 'accepted']);
  const hs = await slow.hook();
  assert.equal(hs.phase, 'waiting');
  assert.equal(hs.probes, 2, 'probed with each arrival, never with the same one twice');
  assertClean(slow, fast1, fast2);
  await Promise.all([slow.close(), fast1.close(), fast2.close()]);
});
