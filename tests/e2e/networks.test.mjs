// Real networks: participants whose machines cannot reach each other play through a real
// TURN server (coturn) with the time-limited credentials the relay gives each page,
// `force_relay` sends even pages that could talk directly through it, a game survives a few
// seconds without any datagram between the pages, a longer outage is met with an ICE restart
// and recorded, and one past `reconnection_timeout_ms` ends the game for both. Built from network
// namespaces (tests/e2e/topology.mjs); skipped with the reason when that cannot be done here.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
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
  storedFile,
  storedSidecar,
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
    const [cellsA, cellsB] = hooks.map((h) => sharedCells(storedFile(dir, h.participantId, 'csv')));
    assert.equal(cellsA.length, 151, 'every step stored');
    assert.deepEqual(cellsA, cellsB, 'both players stored the same game');
    for (const hook of hooks) {
      assert.equal(hook.connectionType, 'relay', 'the page says it went through TURN');
      const sidecar = storedSidecar(dir, hook.participantId);
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

// Every datagram in this namespace (the pages' WebRTC; the relay's WebSocket is TCP).
const UDP = ['INPUT', '-p', 'udp', '-j', 'DROP'];

/** Opens two pages of `experimentName`, plays past frame 90, then runs `during(a, b, game)`
 * with every datagram dropped; the rule is removed however `during` ends. */
async function withOutage(name, experimentName, during) {
  env.relay = await startRelay({ experiment: experiment(experimentName), name });
  const [a, b] = [await openParticipant(env.browser, env.relay.url), await openParticipant(env.browser, env.relay.url)];
  let dropped = false;
  const restore = () => {
    if (dropped) execFileSync('iptables', ['-D', ...UDP]);
    dropped = false;
  };
  try {
    await Promise.all([a, b].map((p) => p.waitFor(() => window.rollgym?.phase === 'playing')));
    const game = await gameOf(a);
    await Promise.all([a, b].map((p) => p.waitFor(() => window.rollgym.frame > 90, null, framesBudgetMs(game, 90))));
    execFileSync('iptables', ['-A', ...UDP]);
    dropped = true;
    await during(a, b, game, restore);
  } finally {
    restore();
    await Promise.all([a.close(), b.close()]);
  }
}

/** Waits `ms` of a page's own clock (it keeps ticking while the partner is unreachable). */
async function pageTime(page, ms) {
  const from = await page.page.evaluate(() => performance.now());
  await page.waitFor((until) => performance.now() > until, from + ms, ms + 10000);
}

/** Plays the rest of the game; both must store the same complete 450 steps. */
async function bothStoreTheSameGame(a, b, experimentId) {
  await playRandomly([a, b], () => window.rollgym.phase === 'done');
  const hooks = await Promise.all([a, b].map((p) => p.waitFor(stored, null, 20000)));
  const dir = path.join(env.relay.dataDir, experimentId, 'overcooked');
  const [cellsA, cellsB] = hooks.map((h) => sharedCells(storedFile(dir, h.participantId, 'csv')));
  assert.equal(cellsA.length, 451, 'every step stored, none lost or doubled');
  assert.deepEqual(cellsA, cellsB);
  for (const hook of hooks) assert.equal(hook.outcome, 'complete');
  return { hooks, sidecars: hooks.map((h) => storedSidecar(dir, h.participantId)) };
}

test('a 3 s outage of all UDP between the pages mid-game: play waits, resumes, and both store the same complete game', { skip: CAN_DROP }, async (t) => {
  await withOutage('udp_outage', 'long', async (a, b, game, restore) => {
    const cut = (await a.hook()).confirmedFrame;
    // Both wait at the prediction limit, saying so, instead of running ahead.
    await Promise.all([a, b].map((p) => p.waitFor(() => window.rollgym.waitingForPartner === true)));
    const waiting = await Promise.all([a, b].map((p) => p.hook()));
    for (const hook of waiting) {
      assert.ok(hook.frame - hook.confirmedFrame <= game.maxPrediction + 1, `frame ${hook.frame}, confirmed ${hook.confirmedFrame}`);
    }
    await pageTime(a, 3000);
    restore();
    const { hooks, sidecars } = await bothStoreTheSameGame(a, b, 'e2e_long');
    for (const hook of hooks) assert.ok(hook.confirmedFrame > cut, 'play went on after the outage');
    t.diagnostic(`interruptions: ${sidecars.map((s) => JSON.stringify(s.interruptions)).join(' / ')}`);
    assertClean(a, b);
  });
});

test('an outage the browsers notice: ICE is restarted, both say reconnecting, resume, and record the interruption', { skip: CAN_DROP }, async (t) => {
  await withOutage('ice_restart', 'long', async (a, b, _game, restore) => {
    // Until the browsers call the path lost (ICE `disconnected`), then a little longer, so
    // the offering page's restart runs into the outage too.
    await Promise.all([a, b].map((p) => p.waitFor(() => window.rollgym.reconnecting === true, null, 30000)));
    await pageTime(a, 1000);
    restore();
    await Promise.all([a, b].map((p) => p.waitFor(() => window.rollgym.reconnecting === false, null, 30000)));
    const { hooks, sidecars } = await bothStoreTheSameGame(a, b, 'e2e_long');
    const offering = hooks.find((h) => h.playerIndex === 0);
    assert.ok(offering.iceRestarts >= 1, `the offering page restarted ICE (${offering.iceRestarts})`);
    assert.equal(hooks.find((h) => h.playerIndex === 1).iceRestarts, 0, 'the answering page never offers');
    for (const sidecar of sidecars) {
      assert.ok(sidecar.interruptions.length >= 1, JSON.stringify(sidecar.interruptions));
      for (const gap of sidecar.interruptions) {
        assert.equal(gap.recovered, true);
        assert.ok(gap.start_frame > 90 && gap.duration_ms > 0, JSON.stringify(gap));
      }
      assert.equal(sidecar.settings.reconnection_timeout_ms, 10000);
    }
    t.diagnostic(`ICE restarts ${offering.iceRestarts}; interruptions: ${sidecars.map((s) => JSON.stringify(s.interruptions)).join(' / ')}`);
    assertClean(a, b);
  });
});

test('an outage past reconnection_timeout_ms: both end with reconnection_timeout and store their partial data', { skip: CAN_DROP }, async () => {
  await withOutage('reconnect_timeout', 'reconnect_timeout', async (a, b) => {
    const ended = () => window.rollgym.phase === 'partner_disconnected' && window.rollgym.exports.length === 1 && window.rollgym.exports[0].acked;
    // The path loss is noticed within seconds, then the 3 s timeout runs.
    const hooks = await Promise.all([a, b].map((p) => p.waitFor(ended, null, 40000)));
    const dir = path.join(env.relay.dataDir, 'e2e_reconnect_timeout', 'overcooked');
    for (const hook of hooks) {
      assert.equal(hook.outcome, 'reconnection_timeout');
      assert.match(hook.exit.message, /could not be restored/);
      const sidecar = storedSidecar(dir, hook.participantId);
      assert.equal(sidecar.outcome, 'reconnection_timeout');
      assert.equal(sidecar.partial, true);
      const last = sidecar.interruptions.at(-1);
      assert.equal(last.recovered, false);
      assert.ok(last.duration_ms >= 3000, JSON.stringify(last));
      assert.ok(sidecar.rows > 90, `the episode so far is stored (${sidecar.rows} rows)`);
    }
    assertClean(a, b);
  });
});
