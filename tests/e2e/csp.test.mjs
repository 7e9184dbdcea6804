// A page whose Content-Security-Policy forbids the game clock's blob: Worker ends with a clear
// fatal error, once: no hang, no retry loop, no leaked Blob URL. Its partner is not left stuck.
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { assertClean, assertCleanExcept, experiment, openParticipant, startRelay, useBrowserAndRelay } from './harness.mjs';

// A page whose response Playwright rewrites counts as coming from outside this machine, and
// Chromium's local-network-access checks would then block its WebSocket to the loopback relay.
// A real study page is served as is; only this rewriting needs the checks off.
const env = useBrowserAndRelay({ browserArgs: ['--disable-features=LocalNetworkAccessChecks'] });
beforeEach(async (t) => {
  env.relay = await startRelay({ name: t.name.replace(/\W+/g, '_'), experiment: experiment('short') });
});

/** Serves the participant page with a real CSP header that allows workers only from 'self'. */
async function withStrictCsp({ page }) {
  await page.route(/\/(\?.*)?$/, async (route) => {
    const response = await route.fetch();
    const headers = { ...response.headers(), 'content-security-policy': "worker-src 'self'" };
    await route.fulfill({ response, headers });
  });
  // Counts Worker constructions and Blob URLs made and released by the page.
  await page.addInitScript(() => {
    const counts = { workers: 0, urls: 0, revoked: 0 };
    window.__counts = counts;
    const NativeWorker = window.Worker;
    window.Worker = function Worker(...args) {
      counts.workers += 1;
      return new NativeWorker(...args);
    };
    const create = URL.createObjectURL.bind(URL);
    const revoke = URL.revokeObjectURL.bind(URL);
    URL.createObjectURL = (blob) => (counts.urls += 1, create(blob));
    URL.revokeObjectURL = (url) => (counts.revoked += 1, revoke(url));
  });
}

test('a page that forbids blob workers fails once with a clear message', async () => {
  const strict = await openParticipant(env.browser, env.relay.url, { beforeLoad: withStrictCsp });
  const other = await openParticipant(env.browser, env.relay.url);
  const failed = await strict.waitFor(() => window.rollgym?.phase === 'error');
  assert.match(failed.lastError, /clock \(a Web Worker\) could not start/);
  assert.match(failed.lastError, /worker-src/);
  assert.match(await strict.page.textContent('.rollgym-notice'), /could not start/);
  // The partner does not wait for a game that cannot happen: it is back in the waiting room
  // (the game had not started) or told its partner left.
  const after = await other.waitFor(() => ['waiting', 'partner_disconnected'].includes(window.rollgym?.phase));
  assert.ok(after.gameId === null || after.phase === 'partner_disconnected', JSON.stringify(after));
  // The failing page is responsive and tried once: one Worker, its Blob URL released.
  const counts = await strict.page.evaluate(() => ({ ...window.__counts, phase: window.rollgym.phase }));
  assert.deepEqual(counts, { workers: 1, urls: 1, revoked: 1, phase: 'error' });
  // Chromium reports the CSP violation itself on the console; nothing else may appear.
  assertCleanExcept(/Content Security Policy|worker-src|Refused to create a worker/, strict);
  assertClean(other);
  await Promise.all([strict.close(), other.close()]);
});
