// The admin page: the address `rollgym serve` prints shows the lobby's counts, live; without
// the token it shows nothing but how to get in.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertClean, assertCleanExcept, experiment, isWaiting, openParticipant, startRelay, useBrowserAndRelay } from './harness.mjs';

const env = useBrowserAndRelay();

/** The admin page's table as rows of cell texts. */
const table = (page) => page.$$eval('#scenes tr', (rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));

test('the printed admin address shows who waits and who plays, live', async () => {
  env.relay = await startRelay({ experiment: experiment('short'), name: 'admin' });
  const context = await env.browser.newContext();
  const admin = await context.newPage();
  const errors = [];
  admin.on('pageerror', (err) => errors.push(err.message));
  admin.on('console', (msg) => msg.type() === 'error' && errors.push(msg.text()));
  await admin.goto(env.relay.adminUrl);
  await admin.waitForFunction(() => document.getElementById('experiment').textContent === 'e2e_short');
  // [index, id, kind, here, waiting, probing, starting, playing, timed out]
  assert.deepEqual(await table(admin), [['0', 'overcooked', 'gym', '0', '0', '0', '0', '0', '0']]);

  const a = await openParticipant(env.browser, env.relay.url);
  await a.waitFor(isWaiting);
  await admin.waitForFunction(() => document.querySelector('#scenes td:nth-child(5)')?.textContent === '1', null, { timeout: 10000 });
  const b = await openParticipant(env.browser, env.relay.url);
  await Promise.all([a, b].map((p) => p.waitFor(() => window.rollgym?.phase === 'playing')));
  await admin.waitForFunction(() => document.querySelector('#scenes td:nth-child(8)')?.textContent === '1', null, { timeout: 10000 });
  assert.deepEqual((await table(admin))[0].slice(3), ['2', '0', '0', '0', '1', '0']);
  assert.deepEqual(errors, []);
  assertClean(a, b);
  await Promise.all([a.close(), b.close(), context.close()]);
});

test('without the token the admin page shows no data', async () => {
  env.relay = await startRelay({ experiment: experiment('short'), name: 'admin_denied' });
  const p = await openParticipant(env.browser, env.relay.url, { query: '' });
  await p.page.goto(`${env.relay.url}/admin.html?token=guess`);
  await p.page.waitForFunction(() => document.getElementById('admin-status').textContent.includes('wrong or missing token'));
  assert.equal(await p.page.textContent('#experiment'), '…');
  assert.equal(await p.page.$$eval('#scenes tr', (rows) => rows.length), 0);
  // Chromium logs the refused request itself.
  assertCleanExcept(/401 \(Unauthorized\)/, p);
  await p.close();
});
