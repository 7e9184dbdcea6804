// Real networks: participants whose machines cannot reach each other play through a real
// TURN server (coturn) with the time-limited credentials the relay gives each page, and
// `force_relay` sends even pages that could talk directly through it. Built from network
// namespaces (tests/e2e/topology.mjs); skipped with the reason when that cannot be done here.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  assertClean,
  experiment,
  openParticipant,
  playRandomly,
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
    const files = hooks.map((h) => readFileSync(path.join(dir, `${h.participantId}_ep0.csv`), 'utf8'));
    const shared = (csv) => {
      const lines = csv.trimEnd().split('\n');
      const cut = lines[0].split(',').indexOf('wasSpeculative.0');
      return lines.map((l) => l.split(',').slice(0, cut).join(','));
    };
    assert.equal(shared(files[0]).length, 151, 'every step stored');
    assert.deepEqual(shared(files[0]), shared(files[1]), 'both players stored the same game');
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
