// The admin console run against real participants: its tables show who is where and how the
// game goes; ending a game from it gives both players the message and partial data; a game
// with a slow link shows up under problems; an excluded participant is turned away for good;
// the data downloads as a zip holding the stored files; `rollgym replay` proves the stored
// files are what was played.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { inflateRawSync } from 'node:zlib';
import {
  RELAY_BIN,
  assertClean,
  experiment,
  inGame,
  isWaiting,
  openConsole,
  openParticipant,
  playRandomly,
  pollUntil,
  sharedCells,
  startRelay,
  useBrowserAndRelay,
} from './harness.mjs';

const env = useBrowserAndRelay();

/** The rows of a console table as cell texts. */
const rows = (page, id) => page.$$eval(`#${id} tr`, (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));

/** The files of a zip: name -> contents (deflated or stored), read from its central directory. */
function unzip(buffer) {
  const end = buffer.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  assert.ok(end >= 0, 'a zip ends with its central directory');
  const count = buffer.readUInt16LE(end + 10);
  let at = buffer.readUInt32LE(end + 16);
  const files = new Map();
  for (let i = 0; i < count; i++) {
    assert.equal(buffer.readUInt32LE(at), 0x02014b50, 'a central directory entry');
    const method = buffer.readUInt16LE(at + 10);
    const size = buffer.readUInt32LE(at + 20);
    const nameLength = buffer.readUInt16LE(at + 28);
    const extraLength = buffer.readUInt16LE(at + 30);
    const commentLength = buffer.readUInt16LE(at + 32);
    const local = buffer.readUInt32LE(at + 42);
    const name = buffer.toString('utf8', at + 46, at + 46 + nameLength);
    const dataAt = local + 30 + buffer.readUInt16LE(local + 26) + buffer.readUInt16LE(local + 28);
    const data = buffer.subarray(dataAt, dataAt + size);
    files.set(name, (method === 8 ? inflateRawSync(data) : data).toString('utf8'));
    at += 46 + nameLength + extraLength + commentLength;
  }
  return files;
}

/**
 * How many frames the console's live view of a game is behind the page of one of its players,
 * sampled `samples` times as the view advances; sorted.
 */
async function watchLags(consolePage, player, samples) {
  const lags = [];
  let shown = -1;
  for (let i = 0; i < samples; i++) {
    await consolePage.waitForFunction(
      (after) => Number(document.getElementById('watch').dataset.frame ?? -1) > after + 5,
      shown,
      { timeout: 10000 },
    );
    const [view, played] = await Promise.all([
      consolePage.$eval('#watch', (w) => Number(w.dataset.frame)),
      player.page.evaluate(() => window.rollgym.frame),
    ]);
    lags.push(played - view);
    shown = view;
  }
  return lags.sort((x, y) => x - y);
}

/** The shared columns of a CSV's data rows (header left out). */
const sharedRows = (csv) => sharedCells(csv).slice(1);

test('the console shows the players and their game, and ending it gives both the message and partial data', async () => {
  env.relay = await startRelay({ experiment: experiment('console'), name: 'console_end_game' });
  const admin = await openConsole(env.browser, env.relay.adminUrl);
  const a = await openParticipant(env.browser, env.relay.url);
  const b = await openParticipant(env.browser, env.relay.url);
  await Promise.all([a.waitFor(inGame), b.waitFor(inGame)]);
  const { gameId, participantId } = await a.hook();

  // Both pages report their game's health; the game is healthy on loopback.
  await admin.page.waitForFunction(
    () => [...document.querySelectorAll('#games tr')].some((tr) => tr.cells[4].textContent === 'healthy' && (tr.cells[5].textContent.match(/ ms /g) ?? []).length === 2),
    null,
    { timeout: 15000 },
  );
  const [game] = await rows(admin.page, 'games');
  assert.equal(game[0], gameId);
  assert.equal(game[2], 'playing');
  const people = await rows(admin.page, 'participants');
  assert.equal(people.length, 2);
  assert.deepEqual(people.map((r) => r[2]), ['playing', 'playing']);
  assert.ok(people.every((r) => r[5] === gameId));

  // A participant's timeline, from its id.
  await admin.page.click(`#participants tr[data-participant="${participantId}"] button.link`);
  await admin.page.waitForFunction(() => !document.getElementById('participant-detail').hidden);
  const timeline = await admin.page.$$eval('#detail-timeline li', (lis) => lis.map((li) => li.textContent));
  assert.deepEqual(timeline.map((t) => t.split(': ')[1].split(' ')[0]), ['waiting', 'matched', 'playing']);

  // The game watched live while the players press keys: the console simulates the rows one
  // page forwards, checks the players' state hash after every batch, and stays within a
  // second (30 frames) of the players. A second console starting later catches up at once.
  const playing = playRandomly([a, b], () => window.rollgym.confirmedFrame > 300);
  await admin.page.click('#games button.watch');
  const lags = await watchLags(admin.page, a, 8);
  assert.ok(lags[4] < 30, `the view is within a second of the players: lags ${lags}`);
  const second = await openConsole(env.browser, env.relay.adminUrl);
  await second.page.waitForSelector('#games button.watch');
  await second.page.click('#games button.watch');
  const secondLags = await watchLags(second.page, b, 3);
  assert.ok(secondLags[1] < 30, `a later watcher catches up: lags ${secondLags}`);
  await playing;
  for (const view of [admin, second]) {
    const watched = await view.page.$eval('#watch', (w) => ({ ...w.dataset }));
    assert.equal(watched.mismatch, undefined, 'every batch is the game being played');
    assert.ok(Number(watched.checked) > 10, `batches checked: ${watched.checked}`);
    assert.equal(watched.episode, '0');
  }
  assert.deepEqual(second.errors, []);
  await second.close();

  // The researcher ends the game.
  await admin.page.fill('#action-reason', 'a participant wrote that the game froze');
  await admin.page.click('#games button.end-game');
  const ended = await Promise.all([a, b].map((p) => p.waitFor(() => window.rollgym?.outcome === 'ended_by_researcher' && window.rollgym.exports[0]?.acked === true)));
  for (const hook of ended) {
    assert.equal(hook.phase, 'excluded');
    assert.equal(hook.exit.completionCode, 'ENDED1');
    assert.ok(hook.exports[0].partial, 'the data is marked partial');
  }
  for (const p of [a, b]) {
    assert.match(await p.page.textContent('.rollgym-notice'), /ended this game early/);
  }
  // Both files: partial, the outcome recorded, identical wherever both have a row.
  const dir = path.join(env.relay.dataDir, 'e2e_console', 'overcooked');
  const files = readdirSync(dir);
  const [csvA, csvB] = ended.map((h) => readFileSync(path.join(dir, `${h.participantId}_ep0.csv`), 'utf8'));
  for (const h of ended) {
    const sidecar = JSON.parse(readFileSync(path.join(dir, `${h.participantId}_ep0.json`), 'utf8'));
    assert.equal(sidecar.outcome, 'ended_by_researcher');
    assert.equal(sidecar.partial, true);
  }
  // Each stored file replays: its recorded actions reproduce every recorded state hash; a
  // hand-edited copy is caught at the edited row.
  for (const h of ended) {
    const replayed = spawnSync(RELAY_BIN, ['replay', path.join(dir, `${h.participantId}_ep0.csv`)], { encoding: 'utf8' });
    assert.equal(replayed.status, 0, replayed.stdout + replayed.stderr);
    assert.match(replayed.stdout, /^reproduced: \d+ rows/);
  }
  const copy = mkdtempSync(path.join(tmpdir(), 'rollgym-replay-'));
  const lines = csvA.split('\n');
  const hashAt = lines[0].split(',').indexOf('state_hash');
  const cells = lines[10].split(',');
  cells[hashAt] = '0123456789abcdef';
  lines[10] = cells.join(',');
  writeFileSync(path.join(copy, 'edited.csv'), lines.join('\n'));
  copyFileSync(path.join(dir, `${ended[0].participantId}_ep0.json`), path.join(copy, 'edited.json'));
  const caught = spawnSync(RELAY_BIN, ['replay', path.join(copy, 'edited.csv')], { encoding: 'utf8' });
  assert.equal(caught.status, 1, caught.stdout + caught.stderr);
  assert.match(caught.stdout, /not reproduced at row 10 .*state_hash/);
  rmSync(copy, { recursive: true });
  const [sharedA, sharedB] = [sharedRows(csvA), sharedRows(csvB)];
  const both = Math.min(sharedA.length, sharedB.length);
  assert.ok(both > 30, `the rows played before the end are there (${both})`);
  assert.deepEqual(sharedA.slice(0, both), sharedB.slice(0, both));

  // The console lists it as ended, its files agreeing; the action is journaled.
  await admin.page.waitForFunction(
    (id) => [...document.querySelectorAll('#finished-games tr')].some((tr) => tr.cells[0].textContent === id && tr.cells[5].textContent === '0: equal'),
    gameId,
  );
  const [finished] = await rows(admin.page, 'finished-games');
  await admin.page.waitForFunction(() => document.getElementById('watch').dataset.ended === 'over');
  assert.equal(finished[4], 'ended_by_researcher, ended_by_researcher');
  assert.equal(await admin.page.$$eval('#problems li[data-kind]', (lis) => lis.length), 0, 'nothing went wrong');
  // The journal line is written just after the action is taken.
  const journalFile = path.join(env.relay.dataDir, 'e2e_console', 'admin_actions.jsonl');
  const journal = await pollUntil(() => existsSync(journalFile) && readFileSync(journalFile, 'utf8').trim(), () => `${journalFile} written`);
  const action = JSON.parse(journal);
  assert.deepEqual([action.action, action.game_id, action.reason], ['end_game', gameId, 'a participant wrote that the game froze']);

  // The whole data directory as a zip, from the console's link.
  const [download] = await Promise.all([admin.page.waitForEvent('download'), admin.page.click('#download-all')]);
  assert.equal(download.suggestedFilename(), 'e2e_console.zip');
  const zipped = unzip(readFileSync(await download.path()));
  for (const file of files.filter((f) => !f.startsWith('.'))) {
    assert.ok(zipped.has(`e2e_console/overcooked/${file}`), `${file} is in the zip`);
  }
  assert.equal(zipped.get(`e2e_console/overcooked/${ended[0].participantId}_ep0.csv`), csvA);
  assert.ok(zipped.has('e2e_console/admin_actions.jsonl'));
  const scene = await fetch(`${env.relay.url}/admin/download?token=${new URL(env.relay.adminUrl).searchParams.get('token')}&scene=overcooked`);
  assert.equal(scene.status, 200);
  assert.ok([...unzip(Buffer.from(await scene.arrayBuffer())).keys()].every((name) => name.startsWith('e2e_console/overcooked/')));

  // The console replays a stored episode in the browser with the participants' own module:
  // every row verified, then played back and scrubbed; a hand-edited file is flagged at the
  // edited row.
  await admin.page.click(`#participants tr[data-participant="${participantId}"] button.link`);
  await admin.page.waitForFunction(() => [...document.querySelectorAll('#detail-files button')].length > 0);
  await admin.page.click('#detail-files button');
  await admin.page.waitForFunction(() => document.getElementById('replay-verdict').dataset.verified === 'true', null, { timeout: 15000 });
  assert.match(await admin.page.textContent('#replay-verdict'), /Every one of \d+ rows reproduced/);
  await admin.page.click('#replay-play');
  await admin.page.waitForFunction(() => Number(document.getElementById('replay-scrub').value) > 5);
  await admin.page.click('#replay-play');
  await admin.page.$eval('#replay-scrub', (scrub) => {
    scrub.value = '20';
    scrub.dispatchEvent(new Event('input'));
  });
  assert.match(await admin.page.textContent('#replay-position'), /^row 20 of \d+$/);
  writeFileSync(path.join(dir, `${participantId}_ep0.csv`), lines.join('\n'));
  await admin.page.click('#detail-files button');
  await admin.page.waitForFunction(() => document.getElementById('replay-verdict').dataset.verified === 'false', null, { timeout: 15000 });
  assert.equal(await admin.page.$eval('#replay-verdict', (p) => p.dataset.mismatchRow), '10');
  assert.match(await admin.page.textContent('#replay-verdict'), /row 10 .*state_hash recorded 0123456789abcdef/);
  assert.deepEqual(admin.errors, []);
  assertClean(a, b);
  await Promise.all([a.close(), b.close(), admin.close()]);
});

test('a game over a slow link is listed under problems', async () => {
  env.relay = await startRelay({ experiment: experiment('console'), name: 'console_degraded' });
  const admin = await openConsole(env.browser, env.relay.adminUrl);
  const a = await openParticipant(env.browser, env.relay.url);
  // 200 ms each way on one page: a 400 ms peer-to-peer round trip.
  const b = await openParticipant(env.browser, env.relay.url, { network: { latency: 200 } });
  await Promise.all([a.waitFor(inGame), b.waitFor(inGame)]);
  const { gameId } = await a.hook();
  await admin.page.waitForFunction(
    (id) => [...document.querySelectorAll('#problems li[data-kind="unhealthy_game"]')].some((li) => li.textContent.includes(id) && li.textContent.includes('slow_link')),
    gameId,
    { timeout: 20000 },
  );
  const [game] = await rows(admin.page, 'games');
  assert.equal(game[0], gameId);
  assert.match(game[4], /^degraded|^failing/);
  assert.deepEqual(admin.errors, []);
  await Promise.all([a.close(), b.close(), admin.close()]);
});

test('an excluded participant sees the message and is turned away when it comes back', async () => {
  env.relay = await startRelay({ experiment: experiment('console'), name: 'console_exclude' });
  const admin = await openConsole(env.browser, env.relay.adminUrl);
  const a = await openParticipant(env.browser, env.relay.url, { query: '?participant=p_excl' });
  await a.waitFor(isWaiting);
  await admin.page.waitForSelector('#participants tr[data-participant="p_excl"]');
  await admin.page.fill('#action-reason', 'took part before under another id');
  await admin.page.fill('#exclude-message', 'You cannot take part in this study again.');
  await admin.page.click('#participants tr[data-participant="p_excl"] button:not(.link)');
  const out = await a.waitFor(() => window.rollgym?.outcome === 'excluded');
  assert.equal(out.phase, 'excluded');
  assert.equal(out.exit.message, 'You cannot take part in this study again.');
  await admin.page.waitForFunction(() => document.querySelector('#participants tr[data-participant="p_excl"]')?.cells[2].textContent === 'exited');
  await a.close();
  const back = await openParticipant(env.browser, env.relay.url, { query: '?participant=p_excl' });
  const again = await back.waitFor(() => window.rollgym?.outcome === 'excluded');
  assert.equal(again.exit.message, 'You cannot take part in this study again.');
  // A stranger cannot be excluded: the console says so.
  const token = new URL(env.relay.adminUrl).searchParams.get('token');
  const stranger = await fetch(`${env.relay.url}/admin/exclude?token=${token}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ participant_id: 'nobody', reason: '' }),
  });
  assert.equal(stranger.status, 404);
  assert.match(await stranger.text(), /nobody has not taken part/);
  assert.deepEqual(admin.errors, []);
  assertClean(back);
  await Promise.all([back.close(), admin.close()]);
});
