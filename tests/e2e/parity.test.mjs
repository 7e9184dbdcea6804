// The research-data promise: under every network condition both players' stored files have
// exactly max_steps rows per episode and zero differing cells in the shared columns. Files are
// read from the relay's data directory, as a researcher would.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  RELAY_BIN,
  assertClean,
  assertCleanExcept,
  emulateNetwork,
  experiment,
  framesBudgetMs,
  gameOf,
  openHideableParticipant,
  openParticipant,
  playRandomly,
  startRelay,
  storedSidecar,
  useBrowserAndRelay,
  waitForGame,
} from './harness.mjs';

const env = useBrowserAndRelay();

const FIRST_LOCAL_COLUMN = 'wasSpeculative.0';
const allStored = (episodes) =>
  window.rollgym?.phase === 'done' &&
  window.rollgym.exports.length === episodes &&
  window.rollgym.exports.every((e) => e.acked);

/**
 * Reads both players' CSVs of every episode and compares every shared cell. `steps`: the rows
 * each episode must have, or null for an episode that may end early (then both files agree).
 */
function assertParity(experimentId, ids, episodes, steps, scene = 'overcooked') {
  const dir = path.join(env.relay.dataDir, experimentId, scene);
  for (let ep = 0; ep < episodes; ep++) {
    const [a, b] = ids.map((id) => path.join(dir, `${id}_ep${ep}.csv`));
    const [ta, tb] = [a, b].map((f) => readFileSync(f, 'utf8').trimEnd().split('\n'));
    if (steps !== null) {
      assert.equal(ta.length - 1, steps, `episode ${ep}: ${steps} rows in ${a}`);
      assert.equal(tb.length - 1, steps, `episode ${ep}: ${steps} rows in ${b}`);
    }
    assert.equal(ta.length, tb.length, `episode ${ep}: as many rows in ${a} as in ${b}`);
    assert.ok(ta.length > 1, `episode ${ep}: rows in ${a}`);
    const shared = ta[0].split(',').indexOf(FIRST_LOCAL_COLUMN);
    assert.ok(shared > 0);
    let differing = 0;
    for (let r = 0; r < ta.length; r++) {
      const [ra, rb] = [ta[r].split(','), tb[r].split(',')];
      for (let c = 0; c < shared; c++) if (ra[c] !== rb[c]) differing++;
    }
    assert.equal(differing, 0, `episode ${ep}: differing shared cells`);
    // The command-line check agrees, and so does the relay's own parity summary.
    const verdict = execFileSync(RELAY_BIN, ['compare', a, b], { encoding: 'utf8' });
    assert.match(verdict, /^equal/);
    const gameId = JSON.parse(readFileSync(a.replace(/\.csv$/, '.json'), 'utf8')).game_id;
    const summary = JSON.parse(readFileSync(path.join(dir, `${gameId}_summary.json`), 'utf8'));
    assert.equal(summary.episodes[String(ep)].parity.result, 'equal');
  }
}

/**
 * One scenario: two participants, optional network conditions, random or no input, and an
 * optional `during(a, b)` step; then every episode must be stored with perfect parity.
 */
async function scenario(name, { exp = 'short', experimentId = 'e2e_short', scene = 'overcooked', episodes = 1, steps = 150, conditions = [null, null], idle = false, during, check } = {}) {
  env.relay = await startRelay({ experiment: experiment(exp), name: `parity_${name}` });
  const ids = [`${name}-a`, `${name}-b`];
  const hideable = typeof during === 'function' && during.hideable;
  assert.ok(!hideable || conditions.every((c) => !c), 'hideable pages take no network conditions');
  // Conditions are set before each page loads, so the peer connection is emulated from its start.
  const open = (id, i) =>
    hideable
      ? openHideableParticipant(env.relay.url, `parity_${id}`, { query: `?participant=${id}` })
      : openParticipant(env.browser, env.relay.url, { query: `?participant=${id}`, beforeLoad: conditions[i] ?? undefined });
  const [a, b] = [await open(ids[0], 0), await open(ids[1], 1)];
  try {
    await Promise.all([a, b].map((p) => p.waitFor(() => ['countdown', 'playing'].includes(window.rollgym?.phase))));
    if (during) await during(a, b);
    if (idle) {
      await Promise.all([a, b].map((p) => waitForGame(p, () => window.rollgym.phase === 'done')));
    } else {
      await playRandomly([a, b], () => window.rollgym.phase === 'done');
    }
    await Promise.all([a, b].map((p) => p.waitFor(allStored, episodes, 20000)));
    assertParity(experimentId, ids, episodes, steps, scene);
    if (check) await check(a, b, path.join(env.relay.dataDir, experimentId, scene), ids);
    assertClean(a, b);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

const latency = (ms, packetLoss = 0) => async (p) => {
  await emulateNetwork(p, { latency: ms, packetLoss });
};

/** 100 ± 75 ms, a new value every 200 ms (each page its own sequence). */
let jitterSeed = 1;
const jitter = async (p) => {
  const cdp = await emulateNetwork(p, { latency: 100 });
  let seed = (jitterSeed += 7919);
  const timer = setInterval(() => {
    seed = (seed * 48271) % 2147483647;
    cdp
      .send('Network.emulateNetworkConditions', {
        offline: false,
        latency: 25 + (seed % 151),
        downloadThroughput: -1,
        uploadThroughput: -1,
      })
      .catch(() => {});
  }, 200);
  return () => clearInterval(timer);
};

/** Hides `b` (really: another tab in front) for five seconds of `a`'s simulation. */
function hideFor5s(fromFrame) {
  const during = async (a, b) => {
    const game = await gameOf(a);
    await a.waitFor((f) => window.rollgym.frame >= f, fromFrame, framesBudgetMs(game, fromFrame));
    await b.hide();
    const start = (await a.hook()).frame;
    await a.waitFor((f) => window.rollgym.frame >= f, start + 150, framesBudgetMs(game, 150));
    assert.equal((await b.hook()).focused, false);
    await b.show();
  };
  during.hideable = true;
  return during;
}

test('parity: idle players', () => scenario('idle', { idle: true }));
test('parity: random inputs on both; every press timed to the game and the screen', () =>
  scenario('random', {
    check: async (a, b, dir, ids) => {
      for (const [i, p] of [a, b].entries()) {
        const { input_latency: latency } = storedSidecar(dir, ids[i]);
        assert.ok(latency.presses > 0, `presses timed: ${JSON.stringify(latency)}`);
        for (const spread of [latency.applied, latency.drawn]) {
          assert.ok(spread && spread.p50 > 0 && spread.p50 <= spread.p95 && spread.p95 <= spread.max, JSON.stringify(latency));
          assert.ok(spread.max < 5000, `no press waits seconds: ${JSON.stringify(latency)}`);
        }
        assert.equal((await p.hook()).inputLatency.presses, 0, 'the live figures start over after the episode');
      }
    },
  }));
test('parity: 100 ms latency on both', () => scenario('lat100', { conditions: [latency(100), latency(100)] }));
test('parity: 200 ms latency on both', () => scenario('lat200', { conditions: [latency(200), latency(200)] }));
test('parity: asymmetric latency 50 ms vs 200 ms', () =>
  scenario('asym', { conditions: [latency(50), latency(200)] }));
test('parity: jitter 100 ± 75 ms on both', () => scenario('jitter', { conditions: [jitter, jitter] }));
test('parity: 15 % packet loss with 50 ms latency', () =>
  scenario('loss', { conditions: [latency(50, 15), latency(50, 15)] }));
test('parity: a really hidden tab for 5 s mid-episode', () =>
  scenario('hidden', { exp: 'long', experimentId: 'e2e_long', steps: 450, during: hideFor5s(90) }));
test('parity: a hidden tab across the episode boundary', () =>
  scenario('boundary', { exp: 'two_episodes', experimentId: 'e2e_two', episodes: 2, during: hideFor5s(120) }));
test('parity: two episodes back to back', () =>
  scenario('two', { exp: 'two_episodes', experimentId: 'e2e_two', episodes: 2 }));

test('parity: Slime Volleyball, the second built-in game, under 80 ms latency and 5 % loss', () =>
  scenario('slime', {
    exp: 'slime',
    experimentId: 'e2e_slime',
    scene: 'slime',
    steps: null,
    conditions: [latency(80, 5), latency(80, 5)],
    check: async (a, b, dir, ids) => {
      const csv = readFileSync(path.join(dir, `${ids[0]}_ep0.csv`), 'utf8');
      const header = csv.split('\n')[0].split(',');
      for (const column of ['infos.points.0', 'infos.points.1', 'infos.touches.0', 'infos.rally']) {
        assert.ok(header.includes(column), `${column} in ${header}`);
      }
      const sidecar = JSON.parse(readFileSync(path.join(dir, `${ids[0]}_ep0.json`), 'utf8'));
      assert.equal(sidecar.settings.env, 'slime_volleyball');
      assert.equal(sidecar.settings.env_version, '1');
      assert.equal(sidecar.settings.input_mode, 'held', "the environment's own input mode");
      assert.ok((await a.hook()).localActions > 0, 'the keys reached the game');
    },
  }));

test('data survives a relay outage: kept in the browser, delivered after the relay is back', async () => {
  const first = await startRelay({ experiment: experiment('short'), name: 'parity_outage' });
  const port = new URL(first.url).port;
  const ids = ['outage-a', 'outage-b'];
  const [a, b] = [
    await openParticipant(env.browser, first.url, { query: `?participant=${ids[0]}` }),
    await openParticipant(env.browser, first.url, { query: `?participant=${ids[1]}` }),
  ];
  try {
    await Promise.all([a, b].map((p) => p.waitFor(() => window.rollgym?.phase === 'playing')));
    // The relay goes away mid-game; the game goes on peer to peer.
    assert.equal(await first.kill(), 0);
    await playRandomly([a, b], () => window.rollgym.phase === 'done');
    const waiting = await a.hook();
    assert.equal(waiting.exports.length, 1);
    assert.equal(waiting.exports[0].acked, false, 'nothing acknowledged while the relay is down');
    const stored = await a.page.evaluate(() => JSON.parse(localStorage.getItem('rollgym.pending')));
    assert.ok(stored.length >= 1, 'the upload waits in browser storage');
    assert.equal(JSON.parse(stored[0].message).type, 'upload', 'as the message it is sent as');
    // Back on the same address and data directory: both clients reconnect and deliver.
    env.relay = await startRelay({ experiment: experiment('short'), name: 'parity_outage', addr: `127.0.0.1:${port}`, dataDir: first.dataDir });
    await Promise.all([a, b].map((p) => p.waitFor(allStored, 1, 30000)));
    assert.equal(await a.page.evaluate(() => localStorage.getItem('rollgym.pending')), '[]');
    assertParity('e2e_short', ids, 1, 150);
    // Chromium itself logs each refused reconnection attempt; nothing else may appear.
    assertCleanExcept(/WebSocket connection to .* failed: .*ERR_CONNECTION_REFUSED/, a, b);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});
