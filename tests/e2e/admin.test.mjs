// The admin console: the address `rollgym serve` prints shows the lobby's counts and the
// study's funnel, pushed live by the relay; its switch closes the study to newcomers while
// those already in finish; without the token it shows nothing but how to get in.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  assertClean,
  assertCleanExcept,
  experiment,
  inGame,
  isDone,
  isWaiting,
  openConsole,
  openParticipant,
  playRandomly,
  pollUntil,
  startRelay,
  useBrowserAndRelay,
} from './harness.mjs';

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
  // [index, id, kind, here, waiting, probing, starting, playing, timed out, players per game]
  assert.deepEqual(await table(admin), [['0', 'overcooked', 'gym', '0', '0', '0', '0', '0', '0', '2']]);

  const a = await openParticipant(env.browser, env.relay.url);
  await a.waitFor(isWaiting);
  await admin.waitForFunction(() => document.querySelector('#scenes td:nth-child(5)')?.textContent === '1', null, { timeout: 10000 });
  const b = await openParticipant(env.browser, env.relay.url);
  await Promise.all([a, b].map((p) => p.waitFor(() => window.rollgym?.phase === 'playing')));
  await admin.waitForFunction(() => document.querySelector('#scenes td:nth-child(8)')?.textContent === '1', null, { timeout: 10000 });
  assert.deepEqual((await table(admin))[0].slice(3), ['2', '0', '0', '0', '1', '0', '2']);
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
  // Guessing at speed is slowed down; the right token still gets in.
  const statuses = [];
  for (let i = 0; i < 25; i++) {
    statuses.push((await fetch(`${env.relay.url}/admin/status?token=guess${i}`)).status);
  }
  assert.ok(statuses.includes(401) && statuses.at(-1) === 429, statuses.join(' '));
  const token = new URL(env.relay.adminUrl).searchParams.get('token');
  assert.equal((await fetch(`${env.relay.url}/admin/status?token=${token}`)).status, 200);
  await p.close();
});

const dd = (page, id) => page.textContent(`#f-${id}`);

test('closing the study turns a newcomer away with its message while a running game finishes', async () => {
  env.relay = await startRelay({ experiment: experiment('admin'), name: 'admin_close' });
  const admin = await openConsole(env.browser, env.relay.adminUrl);
  assert.equal(await admin.page.textContent('#study-state'), 'open to new arrivals');
  const a = await openParticipant(env.browser, env.relay.url);
  const b = await openParticipant(env.browser, env.relay.url);
  await Promise.all([a.waitFor(inGame), b.waitFor(inGame)]);
  await admin.page.waitForFunction(() => document.getElementById('f-matched').textContent === '2');

  await admin.page.fill('#study-reason', 'enough participants');
  await admin.page.click('#study-toggle');
  await admin.page.waitForFunction(() => document.getElementById('study-state').textContent.includes('closed'));

  const late = await openParticipant(env.browser, env.relay.url);
  const turnedAway = await late.waitFor(() => window.rollgym?.outcome === 'study_closed');
  assert.equal(turnedAway.phase, 'excluded');
  assert.equal(turnedAway.exit.completionCode, 'FULL1');
  assert.match(await late.page.textContent('.rollgym-notice'), /This study is full/);

  // The game that was running finishes, and its data is counted.
  await playRandomly([a, b], isDone);
  await Promise.all([a, b].map((p) => p.waitFor(() => window.rollgym.exports[0]?.acked === true)));
  await admin.page.waitForFunction(() => document.getElementById('f-outcomes').textContent === 'complete 2');
  assert.equal(await dd(admin.page, 'arrived'), '2', 'the newcomer did not arrive');
  assert.equal(await dd(admin.page, 'played'), '2');
  assert.equal(await dd(admin.page, 'completion_rate'), '100 %');

  const journalFile = path.join(env.relay.dataDir, 'e2e_admin', 'admin_actions.jsonl');
  const journal = await pollUntil(() => existsSync(journalFile) && readFileSync(journalFile, 'utf8'), () => `${journalFile} written`);
  const [line, ...rest] = journal.trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(rest, []);
  assert.equal(line.action, 'close_study');
  assert.equal(line.reason, 'enough participants');
  // Everything after the first look came pushed, not polled.
  assert.equal(admin.statusRequests.length, 1, admin.statusRequests.join(' '));
  assert.deepEqual(admin.errors, []);
  assertClean(a, b, late);
  await Promise.all([a.close(), b.close(), late.close()]);
  // An open console does not keep the relay from stopping: its stream ends with the relay.
  assert.equal(await env.relay.stop(), 0, 'relay exits cleanly with a console open');
  const token = new URL(env.relay.adminUrl).searchParams.get('token');
  env.relay = null;
  const log = readFileSync(path.join(import.meta.dirname, '..', '.artifacts', 'admin_close.log'), 'utf8');
  assert.ok(log.includes('study switch'), 'the switch is logged');
  assert.ok(!log.includes(token), 'the admin token never appears in the log');
  await admin.page.waitForFunction(() => document.getElementById('admin-status').textContent.includes('reconnecting'));
  await admin.close();
});

test("errors on a participant's page reach the console and client_errors.jsonl", async () => {
  env.relay = await startRelay({ experiment: experiment('short'), name: 'admin_client_errors' });
  const admin = await openConsole(env.browser, env.relay.adminUrl);
  const a = await openParticipant(env.browser, env.relay.url);
  const waiting = await a.waitFor(isWaiting);
  await a.page.evaluate(() => {
    console.error('logged by the study page', { step: 3 });
    setTimeout(() => {
      throw new Error('boom from the study page');
    });
  });
  await admin.page.waitForFunction(() => document.getElementById('client-errors').textContent === '2');
  const listed = await admin.page.textContent('#recent-client-errors');
  assert.match(listed, /boom from the study page/);
  assert.match(listed, /logged by the study page \{"step":3\}/);
  // The console counts a report when the relay accepts it; the journal line follows.
  const file = path.join(env.relay.dataDir, 'e2e_short', 'client_errors.jsonl');
  const read = () => (existsSync(file) ? readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l)) : []);
  const lines = await pollUntil(() => read().length === 2 && read(), () => `two lines in ${file}: ${JSON.stringify(read())}`);
  assert.deepEqual(lines.map((l) => l.kind).sort(), ['console_error', 'error']);
  assert.ok(lines.every((l) => l.participant_id === waiting.participantId && l.time_ms > 0));
  assert.deepEqual(admin.errors, []);
  assertCleanExcept(/logged by the study page|boom from the study page/, a);
  await Promise.all([a.close(), admin.close()]);
});
