// Researchers' own games and pages: a page that supplies its environment in JavaScript and
// calls start() plays with the same netcode and stores the same data on both machines; pages
// running different versions of an environment never play; an environment that throws ends
// the game with outcome `error`; checkEnv finds what would break rollback.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import {
  assertClean,
  experiment,
  openParticipant,
  playRandomly,
  startRelay,
  useBrowserAndRelay,
} from './harness.mjs';

const env = useBrowserAndRelay();
const PAGES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'pages');
const FIRST_LOCAL_COLUMN = 'wasSpeculative.0';

const open = (id, at, options = {}) =>
  openParticipant(env.browser, env.relay.url, { path: at, query: `?participant=${id}`, ...options });

/** The shared columns of a stored CSV, row by row. */
function sharedRows(file) {
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
  const cut = lines[0].split(',').indexOf(FIRST_LOCAL_COLUMN);
  assert.ok(cut > 0, `local columns in ${file}`);
  return lines.map((l) => l.split(',').slice(0, cut).join(','));
}

test('a page with its own JavaScript environment plays a full episode under 80 ms and 5 % loss; both files agree', async () => {
  env.relay = await startRelay({ experiment: experiment('coins'), name: 'embed_coins' });
  const network = { latency: 80, packetLoss: 5 };
  const [a, b] = [await open('coins-a', 'examples/coins/', { network }), await open('coins-b', 'examples/coins/', { network })];
  try {
    await Promise.all([a, b].map((p) => p.waitFor(() => typeof window.rollgym?.gameId === 'string')));
    await playRandomly([a, b], () => window.rollgym.phase === 'done');
    // session.finished resolved on both pages, after the data was stored.
    for (const p of [a, b]) {
      await p.page.waitForFunction(() => document.getElementById('result').textContent.startsWith('Finished'), null, { timeout: 20000 });
      assert.equal(await p.page.textContent('#result'), 'Finished: complete · code COINS-E2E');
      assert.ok((await p.hook()).exports.every((e) => e.acked));
    }
    const dir = path.join(env.relay.dataDir, 'e2e_coins', 'coins');
    const [ra, rb] = ['coins-a', 'coins-b'].map((id) => sharedRows(path.join(dir, `${id}_ep0.csv`)));
    assert.equal(ra.length, 201, 'a header and 200 rows');
    assert.deepEqual(ra, rb, 'every shared column agrees');
    assert.ok(ra[0].includes('infos.coins.0') && ra[0].includes('infos.coins.1'), ra[0]);
    const sidecar = JSON.parse(readFileSync(path.join(dir, 'coins-a_ep0.json'), 'utf8'));
    assert.equal(sidecar.settings.env, 'coins');
    assert.equal(sidecar.settings.env_version, '1');
    assert.deepEqual(sidecar.settings.action_names, ['stay', 'up', 'down', 'left', 'right']);
    assert.equal(sidecar.outcome, 'complete');
    assert.ok((await a.hook()).localActions > 0, "the environment's keys reached the game");
    assertClean(a, b);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('pages running different versions of an environment are stopped before play, both told why', async () => {
  env.relay = await startRelay({ experiment: experiment('coins'), name: 'embed_versions', wwwDir: PAGES });
  const [a, b] = [await open('v1', 'examples/coins/'), await open('v2', 'coins-v2/')];
  try {
    for (const [p, mine, theirs] of [[a, '"1"', '"2"'], [b, '"2"', '"1"']]) {
      const failed = await p.waitFor(() => window.rollgym?.phase === 'error');
      assert.match(failed.lastError, new RegExp(`this page runs the environment "coins" version ${mine}, but your partner's runs "coins" version ${theirs}`));
      assert.equal(failed.frame, 0, 'nothing was played');
      assert.ok(await p.page.isVisible('.rollgym-notice'));
    }
    const result = await b.page.evaluate(() => window.finished);
    assert.equal(result.outcome, null);
    assert.match(result.error, /version/);
    const dir = path.join(env.relay.dataDir, 'e2e_coins');
    assert.ok(!existsSync(path.join(dir, 'coins')) || readdirSync(path.join(dir, 'coins')).length === 0, 'no data');
    const log = readFileSync(path.join(dir, 'match_logs', 'coins_matches.jsonl'), 'utf8');
    assert.match(log, /"reason":"env_mismatch"/);
    assertClean(a, b);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('an environment that throws ends the game with outcome error and its message; the data so far is kept', async () => {
  env.relay = await startRelay({ experiment: experiment('coins'), name: 'embed_throws', wwwDir: PAGES });
  const [a, b] = [await open('throw-a', 'throws/'), await open('throw-b', 'throws/')];
  try {
    const ends = await Promise.all([a, b].map((p) => p.waitFor(() => ['error', 'partner_disconnected'].includes(window.rollgym?.phase), undefined, 30000)));
    const errors = ends.filter((s) => s.phase === 'error');
    assert.ok(errors.length >= 1, JSON.stringify(ends));
    for (const s of errors) {
      assert.equal(s.outcome, 'error');
      assert.match(s.lastError, /error in the environment: step\(\) threw: the coin fell off the board/);
    }
    const dir = path.join(env.relay.dataDir, 'e2e_coins', 'coins');
    for (const [i, p] of [a, b].entries()) {
      if (ends[i].phase !== 'error') continue;
      await p.waitFor(() => window.rollgym.exports.length === 1 && window.rollgym.exports[0].acked);
      const sidecar = JSON.parse(readFileSync(path.join(dir, `${['throw-a', 'throw-b'][i]}_ep0.json`), 'utf8'));
      assert.equal(sidecar.outcome, 'error');
      assert.equal(sidecar.partial, true);
      const result = await p.page.evaluate(() => window.finished);
      assert.equal(result.outcome, 'error');
      assert.match(result.error, /the coin fell off the board/);
    }
    // The environment's exception is the page's business, reported as the game's end, not as
    // an uncaught error.
    assertClean(a, b);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('checkEnv passes the example and reports the first broken rule of others', async () => {
  env.relay = await startRelay({ experiment: experiment('coins'), name: 'embed_check', wwwDir: PAGES });
  const p = await open('checker', 'blank/');
  try {
    const reports = await p.page.evaluate(async () => {
      const { checkEnv } = await import('/pkg/rollgym.js');
      const { coins } = await import('/examples/coins/coins.js');
      // An environment that draws on Math.random: no two runs agree.
      const dice = coins();
      const random = { ...dice, step: (actions) => dice.step(actions.map(() => Math.floor(Math.random() * 5))) };
      // An environment that keeps its score outside the state bytes: a rollback loses it.
      let hidden = 0;
      const base = coins();
      const leaky = {
        ...base,
        reset(seed) { hidden = 0; base.reset(seed); },
        step(actions) { hidden += 1; const r = base.step(actions); return r; },
        getState() { const s = base.getState(); s[6] = hidden & 0xff; return s; },
        setState(bytes) { base.setState(bytes); },
      };
      return {
        good: await checkEnv(coins(), { steps: 300 }),
        shape: await checkEnv({ ...coins(), numActions: 0 }),
        leaky: await checkEnv(leaky, { steps: 300 }),
        random: await checkEnv(random, { steps: 300 }),
      };
    });
    assert.deepEqual(reports.good, { ok: true, steps: 300, problem: null });
    assert.equal(reports.shape.problem.check, 'shape');
    assert.match(reports.shape.problem.detail, /numActions/);
    assert.equal(reports.leaky.ok, false);
    assert.ok(['round-trip', 'rollback'].includes(reports.leaky.problem.check), JSON.stringify(reports.leaky));
    assert.equal(reports.random.ok, false);
    assert.ok(['rollback', 'determinism'].includes(reports.random.problem.check), JSON.stringify(reports.random));
    // The package is complete: every file its package.json lists is served.
    const missing = await p.page.evaluate(async () => {
      const manifest = await (await fetch('/pkg/package.json')).json();
      const statuses = await Promise.all(manifest.files.map(async (f) => [f, (await fetch(`/pkg/${f}`)).status]));
      return statuses.filter(([, status]) => status !== 200);
    });
    assert.deepEqual(missing, []);
    assertClean(p);
  } finally {
    await p.close();
  }
});

test('destroy() releases the session: its elements, its relay connection, and the page may start again', async () => {
  env.relay = await startRelay({ experiment: experiment('coins'), name: 'embed_destroy', wwwDir: PAGES });
  const p = await open('destroyer', 'blank/');
  try {
    const outcome = await p.page.evaluate(async () => {
      const { start } = await import('/pkg/rollgym.js');
      const { coins } = await import('/examples/coins/coins.js');
      const waitPhase = (session, phase) => new Promise((resolve) => session.on('phase', (e) => e.phase === phase && resolve()));
      const first = await start({ container: document.body, env: coins() });
      await waitPhase(first, 'waiting');
      let second;
      try {
        await start({ container: document.body, env: coins() });
      } catch (err) {
        second = `${err.name}: ${err.message}`;
      }
      first.destroy();
      const left = document.querySelectorAll('.rollgym').length;
      const again = await start({ container: document.body, env: coins() });
      await waitPhase(again, 'waiting');
      const shown = document.querySelectorAll('.rollgym').length;
      again.destroy();
      let typeError;
      try {
        await start({ container: 'not an element' });
      } catch (err) {
        typeError = `${err.name}: ${err.message}`;
      }
      return { second, left, shown, typeError, after: document.querySelectorAll('.rollgym').length };
    });
    assert.match(outcome.second, /already runs on this page: destroy\(\) it first/);
    assert.equal(outcome.left, 0, 'destroy() removed what the session drew');
    assert.equal(outcome.shown, 1);
    assert.equal(outcome.after, 0);
    assert.match(outcome.typeError, /^TypeError: options.container must be an element/);
    // The relay sees both sessions leave (their WebSockets closed): nobody is left connected.
    const status = env.relay.adminUrl.replace('/admin.html', '/admin/status');
    let snapshot;
    for (const deadline = Date.now() + 5000; Date.now() < deadline; ) {
      snapshot = await (await fetch(status)).json();
      if (snapshot.connected === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(snapshot.connected, 0, JSON.stringify(snapshot));
    assertClean(p);
  } finally {
    await p.close();
  }
});
