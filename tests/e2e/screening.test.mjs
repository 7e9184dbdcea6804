// Entry screening: the relay asks an arriving page for its facts and judges them before the
// participant enters the experiment; every decision is one line of screening.jsonl; a page
// turned away sees its message and completion code, and stays turned away after a reload.
import assert from 'node:assert/strict';
import { execSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  assertClean,
  experiment,
  openParticipant,
  pollUntil,
  startRelay,
  useBrowserAndRelay,
} from './harness.mjs';

const env = useBrowserAndRelay();
const PAGES = path.join(path.dirname(new URL(import.meta.url).pathname), 'pages');
const PHONE = {
  userAgent:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1',
  viewport: { width: 1000, height: 800 },
};
const DESKTOP = { viewport: { width: 1280, height: 800 } };

const open = (id, rule, contextOptions = DESKTOP) =>
  openParticipant(env.browser, env.relay.url, {
    path: 'screen-rule/',
    query: `?participant=${id}&rule=${rule}`,
    contextOptions,
  });

/** The screening.jsonl lines of participant `id`, once there are `count` of them. */
async function decisions(id, count = 1, experimentId = 'e2e_screening') {
  const file = path.join(env.relay.dataDir, experimentId, 'screening.jsonl');
  return pollUntil(
    () => {
      let lines = [];
      try {
        lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      } catch {
        return null;
      }
      const mine = lines.filter((l) => l.participant_id === id);
      return mine.length >= count ? mine : null;
    },
    () => `${count} screening line(s) of ${id} in ${file}`,
  );
}

const start = () =>
  startRelay({ experiment: experiment('screening'), name: 'screening', wwwDir: PAGES });

test('a phone is screened out before it waits, with its message and code; a reload stays out', async () => {
  env.relay = await start();
  const phone = await open('phone-1', 'pass', PHONE);
  try {
    const status = await phone.waitFor(() => window.rollgym?.phase === 'screened_out');
    assert.equal(status.outcome, 'screened_out');
    assert.equal(status.exit.completionCode, 'SCREENED1');
    assert.equal(status.exit.message, 'This study can only be done on a computer.');
    assert.equal(status.gameId, null, 'never matched');
    const notice = await phone.page.textContent('.rollgym-notice');
    assert.ok(notice.includes('This study can only be done on a computer.') && notice.includes('SCREENED1'), notice);
    const result = await phone.page.evaluate(() => window.finished);
    assert.equal(result.outcome, 'screened_out');
    assert.equal(result.completionCode, 'SCREENED1');
    const [line] = await decisions('phone-1');
    assert.equal(line.passed, false);
    assert.equal(line.failed_rule, 'device');
    assert.equal(line.device, 'mobile');
    assert.deepEqual(line.browser, ['safari', 17]);
    assert.ok(line.user_agent.includes('iPhone'));
    // A reload is turned away again without a second screening.
    await phone.page.reload();
    await phone.waitFor(() => window.rollgym?.phase === 'screened_out');
    assert.equal((await decisions('phone-1')).length, 1);
    assertClean(phone);
  } finally {
    await phone.close();
  }
});

test('a too-small window sees the prompt, passes after enlarging and reaches the waiting room', async () => {
  env.relay = await start();
  const small = await open('small-1', 'pass', { viewport: { width: 700, height: 500 } });
  try {
    await small.waitFor(() => window.rollgym?.phase === 'screening' && window.rollgym?.notice?.includes('900 × 700'));
    assert.ok(await small.page.isVisible('.rollgym-notice'), 'the prompt is on the page');
    await small.page.setViewportSize({ width: 1000, height: 760 });
    await small.waitFor(() => window.rollgym?.phase === 'waiting');
    assert.equal(await small.page.isVisible('.rollgym-notice'), false, 'the prompt is gone');
    const [line] = await decisions('small-1');
    assert.equal(line.passed, true);
    assert.equal(line.prompted, true);
    assert.deepEqual(line.window, [1000, 760]);
    assert.deepEqual(line.custom, { passed: true, message: null });
    const facts = await small.page.evaluate(() => window.seenFacts);
    assert.equal(typeof facts.userAgent, 'string');
    assertClean(small);
  } finally {
    await small.close();
  }
});

test("the page's own rule turns a participant away with its message; one that never answers fails loading", async () => {
  env.relay = await start();
  const refused = await open('refused-1', 'refuse');
  const hanging = await open('hang-1', 'hang');
  try {
    const out = await refused.waitFor(() => window.rollgym?.phase === 'screened_out');
    assert.equal(out.exit.message, 'This study needs a keyboard and mouse.');
    const [line] = await decisions('refused-1');
    assert.equal(line.failed_rule, 'custom');
    assert.deepEqual(line.custom, { passed: false, message: 'This study needs a keyboard and mouse.' });

    const failed = await hanging.waitFor(() => window.rollgym?.phase === 'error', null, 15000);
    assert.equal(failed.outcome, 'loading_failed');
    assert.equal(failed.lastError, 'The study did not load in time.');
    const notice = await hanging.page.textContent('.rollgym-notice');
    assert.ok(notice.includes('LOADFAIL1'), notice);
    const [timedOut] = await decisions('hang-1');
    assert.equal(timedOut.timed_out, true);
    assert.equal(timedOut.passed, false);
    assertClean(refused, hanging);
  } finally {
    await Promise.all([refused.close(), hanging.close()]);
  }
});

test('without screening rules nobody is asked: the bundled page goes straight to the waiting room', async () => {
  env.relay = await startRelay({ experiment: experiment('short'), name: 'no_screening' });
  const p = await openParticipant(env.browser, env.relay.url, { query: '?participant=plain-1', contextOptions: PHONE });
  try {
    await p.waitFor(() => window.rollgym?.phase === 'waiting');
    assertClean(p);
  } finally {
    await p.close();
  }
});

const startWebrtc = () =>
  startRelay({ experiment: experiment('screening_webrtc'), name: 'screening_webrtc' });
const openPlain = (browser, id, options = {}) =>
  openParticipant(browser, env.relay.url, { query: `?participant=${id}`, contextOptions: DESKTOP, ...options });

test("the relay's own WebRTC peer admits a nearby page and turns away one 300 ms away", async () => {
  env.relay = await startWebrtc();
  const near = await openPlain(env.browser, 'near-1');
  const far = await openPlain(env.browser, 'far-1', { network: { latency: 300 } });
  try {
    await near.waitFor(() => window.rollgym?.phase === 'waiting', null, 20000);
    const [passed] = await decisions('near-1', 1, 'e2e_screening_webrtc');
    assert.equal(passed.passed, true, JSON.stringify(passed));
    assert.equal(passed.webrtc.connected, true);
    assert.equal(passed.webrtc.rtt_samples.length, 3);
    assert.ok(passed.webrtc.rtt_ms < 250, `round trip ${passed.webrtc.rtt_ms} ms`);
    assert.ok(passed.webrtc.candidate_types.includes('host'), passed.webrtc.candidate_types.join());

    const out = await far.waitFor(() => window.rollgym?.phase === 'screened_out', null, 30000);
    assert.equal(out.exit.completionCode, 'NOUDP1');
    const [failed] = await decisions('far-1', 1, 'e2e_screening_webrtc');
    assert.equal(failed.failed_rule, 'rtt', JSON.stringify(failed));
    assert.equal(failed.webrtc.connected, true);
    assert.ok(failed.webrtc.rtt_ms > 250, `round trip ${failed.webrtc.rtt_ms} ms`);
    assertClean(near, far);
  } finally {
    await Promise.all([near.close(), far.close()]);
  }
});

/** Drops UDP to `port` inside this test's network namespace until the returned undo runs. */
function blockUdp(port) {
  const rule = `INPUT -p udp --dport ${port} -j DROP`;
  execSync(`iptables -A ${rule}`);
  return () => execSync(`iptables -D ${rule}`);
}

const CAN_BLOCK = process.getuid?.() === 0 && spawnSync('iptables', ['-S']).status === 0;

test('a network that blocks UDP to the relay fails the reachability rule before it waits', { skip: !CAN_BLOCK && 'needs root and iptables (scripts/setup.sh installs it)' }, async () => {
  env.relay = await startRelay({ experiment: experiment('screening_no_udp'), name: 'screening_no_udp' });
  const unblock = blockUdp(47999);
  const page = await openPlain(env.browser, 'no-udp-1');
  try {
    const out = await page.waitFor(() => window.rollgym?.phase === 'screened_out', null, 15000);
    assert.equal(out.gameId, null, 'never matched');
    assert.ok(out.exit.message.includes('direct connections'), out.exit.message);
    const [line] = await decisions('no-udp-1', 1, 'e2e_screening_no_udp');
    assert.equal(line.failed_rule, 'webrtc', JSON.stringify(line));
    assert.equal(line.webrtc.connected, false);
    assertClean(page);
  } finally {
    unblock();
    await page.close();
  }
});

test('a module that never arrives ends start() with a clear error after loadingTimeoutMs', async () => {
  env.relay = await start();
  const context = await env.browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(err.message));
  // Hold the wasm module back: the request never gets an answer.
  await page.route('**/rollgym_client_bg.wasm', () => {});
  try {
    await page.goto(`${env.relay.url}/slow-load/?participant=slow-1`);
    // Module scripts run before the load event goto waits for; evaluate awaits the promise.
    const settled = await page.evaluate(() => window.startOutcome);
    assert.ok(/^failed: rollgym: the study did not load within 1.5 s/.test(settled), settled);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
