// Test harness: the real relay binary on a free port, real Chromium pages, and helpers that
// wait on the `window.rollgym` hook (never on sleeps).
import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { after, afterEach, before } from 'node:test';
import { chromium } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const RELAY_BIN = path.join(ROOT, 'target/release/rollgym');
const ARTIFACTS = path.join(ROOT, 'tests/.artifacts');

/** Chromium flags verified in RECIPES.md: hermetic, and WebRTC allowed on loopback. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--allow-loopback-in-peer-connection',
  '--use-fake-ui-for-media-stream',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];

/**
 * Starts `rollgym serve` on port 0 and resolves once it prints its URL. `bin` and `cwd` run
 * another copy of the binary from another directory (a deployment); `env` adds variables.
 */
export async function startRelay({
  experiment,
  name = 'relay',
  addr = '127.0.0.1:0',
  dataDir,
  bin = RELAY_BIN,
  cwd,
  wwwDir,
  env,
} = {}) {
  dataDir ??= mkdtempSync(path.join(tmpdir(), 'rollgym-e2e-'));
  const args = ['serve', '--addr', addr, '--data-dir', dataDir];
  if (wwwDir) args.push('--www-dir', wwwDir);
  if (experiment) args.push(experiment);
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd, env: { ...process.env, ...env } });
  const log = createWriteStream(path.join(ARTIFACTS, `${name}.log`), { flags: 'a' });
  child.stderr.pipe(log);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const { url, adminUrl } = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`relay did not start; see ${name}.log`)), 15000);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/rollgym listening on (http:\/\/\S+)/);
      const admin = out.match(/admin page:\s+(\S+)/);
      if (m && admin) {
        clearTimeout(timer);
        resolve({ url: m[1], adminUrl: admin[1] });
      }
    });
    exited.then(({ code }) => reject(new Error(`relay exited with ${code} before listening`)));
  });
  return {
    url,
    /** The admin page with its token, as `rollgym serve` printed it. */
    adminUrl,
    dataDir,
    /** SIGTERM by PID, then wait for a clean exit (graceful shutdown). */
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const { code } = await exited;
      rmSync(dataDir, { recursive: true, force: true });
      return code;
    },
    /** Stops the relay, keeping its data directory (for a restart on the same data). */
    async kill() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return (await exited).code;
    },
  };
}

export async function launchBrowser(extraArgs = []) {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: [...CHROMIUM_ARGS, ...extraArgs] });
}

/**
 * Opens the participant page in a fresh context (its own storage, like a separate person).
 * Every uncaught page error and console error is collected; `assertClean` fails the test.
 */
export async function openParticipant(
  browser,
  url,
  { path: at = '', query = '', network, beforeLoad, contextOptions = {} } = {},
) {
  // `contextOptions`: Playwright's, e.g. a phone's `userAgent` or a small `viewport`.
  const context = await browser.newContext(contextOptions);
  const page = await context.newPage();
  const watched = watch(page);
  // Network conditions set before the page loads apply to its peer connection from the start.
  if (network) await emulateNetwork({ page }, network);
  // `beforeLoad({ page })` may set up more (changing conditions) and return a stop function.
  const stopBeforeLoad = beforeLoad ? await beforeLoad({ page }) : undefined;
  await page.goto(`${url}/${at}${query}`);
  return {
    ...watched,
    context,
    async close() {
      stopBeforeLoad?.();
      await context.close();
    },
  };
}

/**
 * Opens the admin console at `adminUrl` in a fresh context (downloads accepted) and waits until
 * it is live; returns its page, its uncaught and console errors, the `admin/status` requests it
 * made (the rest must come pushed) and `close()`.
 */
export async function openConsole(browser, adminUrl) {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  const errors = [];
  const statusRequests = [];
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (msg) => msg.type() === 'error' && errors.push(msg.text()));
  page.on('request', (r) => r.url().includes('/admin/status') && statusRequests.push(r.url()));
  await page.goto(adminUrl);
  await page.waitForFunction(() => document.getElementById('admin-status').textContent.startsWith('Live'));
  return { page, errors, statusRequests, close: () => context.close() };
}

/**
 * What every test needs of a participant's page: its uncaught and console errors, a snapshot
 * of `window.rollgym`, and waiting on a condition of it.
 */
function watch(page) {
  const errors = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console.error: ${msg.text()}`);
  });
  return {
    page,
    errors,
    hook: () => page.evaluate(() => ({ ...window.rollgym })),
    /** Waits until `predicate(window.rollgym)` holds (the predicate runs in the page). */
    async waitFor(predicate, arg, timeout = 20000) {
      await page.waitForFunction(predicate, arg, { timeout, polling: 50 });
      return page.evaluate(() => ({ ...window.rollgym }));
    },
  };
}

/**
 * Registers the hooks of a test file: one browser for the file (with `browserArgs` added to
 * the usual flags), and the relay a test starts (`env.relay = await startRelay(...)`) stopped
 * after it, which must exit cleanly.
 */
export function useBrowserAndRelay({ browserArgs = [] } = {}) {
  const env = { browser: null, relay: null };
  before(async () => {
    env.browser = await launchBrowser(browserArgs);
  });
  after(async () => {
    await env.browser?.close();
  });
  afterEach(async () => {
    if (env.relay) assert.equal(await env.relay.stop(), 0, 'relay exits cleanly on SIGTERM');
    env.relay = null;
  });
  return env;
}

/**
 * The shared columns (up to the first local one) of every line of a stored CSV, header
 * included: what both players' files must agree on.
 */
export function sharedCells(csv) {
  const lines = csv.trimEnd().split('\n');
  const cut = lines[0].split(',').indexOf('wasSpeculative.0');
  assert.ok(cut > 0, `local columns in the header: ${lines[0]}`);
  return lines.map((line) => line.split(',').slice(0, cut).join(','));
}

/** The text of a participant's stored episode file under `dir`: `ext` is `csv` or `json`. */
export function storedFile(dir, participantId, ext, episode = 0) {
  return readFileSync(path.join(dir, `${participantId}_ep${episode}.${ext}`), 'utf8');
}

/** A participant's stored sidecar of `episode` under `dir`, parsed. */
export function storedSidecar(dir, participantId, episode = 0) {
  return JSON.parse(storedFile(dir, participantId, 'json', episode));
}

/**
 * Two pages of `relay` (each behind `network`, if given) press random keys to the end of a
 * one-episode Overcooked game and wait until both stored it; returns their hooks and stored
 * sidecars (`experimentId` names the data directory). The pages are closed.
 */
export async function playStoredPair(browser, relay, experimentId, network) {
  const players = [
    await openParticipant(browser, relay.url, { network }),
    await openParticipant(browser, relay.url, { network }),
  ];
  try {
    await playRandomly(players, () => window.rollgym.phase === 'done', { timeoutMs: 90000 });
    const stored = () => window.rollgym.exports.length === 1 && window.rollgym.exports[0].acked;
    const hooks = await Promise.all(players.map((p) => p.waitFor(stored, null, 20000)));
    const dir = path.join(relay.dataDir, experimentId, 'overcooked');
    return { hooks, sidecars: hooks.map((h) => storedSidecar(dir, h.participantId)) };
  } finally {
    await Promise.all(players.map((p) => p.close()));
  }
}

export function assertClean(...participants) {
  assertCleanExcept(null, ...participants);
}

/** Like `assertClean`, but messages matching `expected` (a RegExp) are allowed. */
export function assertCleanExcept(expected, ...participants) {
  const errors = participants.flatMap((p) => p.errors).filter((e) => !(expected && expected.test(e)));
  if (errors.length > 0) throw new Error(`page errors:\n${errors.join('\n')}`);
}

/** Conditions on `window.rollgym`, evaluated in the page by `waitFor` / `playRandomly`. */
/**
 * Polls a condition outside the pages (a file the relay is still writing) until `check()`
 * returns something truthy, and returns it; fails with `what()` after `timeoutMs`.
 */
export async function pollUntil(check, what, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    assert.ok(Date.now() < deadline, `timed out waiting: ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Waits are derived from the experiment, never wall-clock constants: a page knows the timing of
 * the game it was matched into (`window.rollgym.game`, from the experiment file). Frames run in
 * real time at `fps`; the budget doubles that for a loaded 2-core machine and adds a margin
 * for connecting, stalls at the prediction limit and delivering the data.
 */
const SLACK = 2;
const MARGIN_MS = 15000;
/** How long a page waits to be matched before any game is known. */
const MATCH_BUDGET_MS = 30000;

/** Wall-clock budget for `frames` frames of `game`. */
export function framesBudgetMs(game, frames) {
  return afterMs((frames / game.fps) * 1000);
}

/** Wall-clock budget for something the experiment says happens after `ms` (a timeout). */
export function afterMs(ms) {
  return SLACK * ms + MARGIN_MS;
}

/** Wall-clock budget for a whole game: countdown, every episode and the pauses between. */
export function gameBudgetMs(game) {
  const pauses = game.countdownMs + (game.numEpisodes - 1) * game.betweenEpisodesMs;
  return framesBudgetMs(game, game.numEpisodes * game.maxSteps) + SLACK * pauses;
}

/** The game timing of a participant's page (it must have been matched). */
export async function gameOf(participant) {
  const { game } = await participant.hook();
  assert.ok(game, 'the page knows its game once matched');
  return game;
}

/** Waits until `predicate` holds on a matched page, within its whole game's budget. */
export async function waitForGame(participant, predicate, arg) {
  return participant.waitFor(predicate, arg, gameBudgetMs(await gameOf(participant)));
}

export const isDone = () => window.rollgym?.phase === 'done';
export const isWaiting = () => window.rollgym?.phase === 'waiting';
export const inGame = () => ['countdown', 'playing'].includes(window.rollgym?.phase);
/** Matched into a game at some point (its game may be over already). */
export const wasMatched = () => typeof window.rollgym?.gameId === 'string';

/** Path of a test experiment under tests/e2e/experiments/. */
export function experiment(name) {
  return path.join(ROOT, 'tests/e2e/experiments', `${name}.toml`);
}

const KEYS = ['ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight', 'Space', 'w', 'a', 's', 'd', 'e'];

/**
 * Presses random keys (real keyboard events) on every participant every ~60 ms until each
 * page's hook satisfies `done` (evaluated in the page). The pacing is input generation, not a
 * wait: completion is detected from the hook. `arg` is passed to `done`. Without `timeoutMs`
 * the deadline follows the games: every game a page is matched into extends it by that
 * game's budget (so a sequence of scenes gets the time of each of its games).
 */
export async function playRandomly(participants, done, { timeoutMs, arg } = {}) {
  let deadline = Date.now() + (timeoutMs ?? MATCH_BUDGET_MS);
  const budgeted = new Set();
  let seed = 12345;
  const random = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  for (;;) {
    const finished = await Promise.all(participants.map((p) => p.page.evaluate(done, arg)));
    if (finished.every(Boolean)) return;
    if (timeoutMs === undefined) {
      for (const { gameId, game } of await Promise.all(participants.map((p) => p.hook()))) {
        if (gameId && game && !budgeted.has(gameId)) {
          budgeted.add(gameId);
          deadline = Math.max(deadline, Date.now() + gameBudgetMs(game));
        }
      }
    }
    if (Date.now() > deadline) {
      const hooks = await Promise.all(participants.map((p) => p.hook()));
      const errors = participants.flatMap((p) => p.errors);
      throw new Error(`game did not finish in time: ${JSON.stringify(hooks)}; page errors: ${JSON.stringify(errors)}`);
    }
    await Promise.all(
      participants.map((p) => p.page.keyboard.press(KEYS[random() % KEYS.length])),
    );
    await new Promise((resolve) => setTimeout(resolve, 60));
  }
}

/** Network conditions for one page through CDP; applies to its WebRTC traffic (RECIPES.md). */
export async function emulateNetwork(participant, { latency = 0, packetLoss = 0 }) {
  const cdp = await participant.page.context().newCDPSession(participant.page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency,
    downloadThroughput: -1,
    uploadThroughput: -1,
    packetLoss,
  });
  return cdp;
}

/**
 * A Chromium process of its own, driven over CDP, whose pages can really be hidden: a normal
 * Playwright launch emulates focus and keeps every page visible (RECIPES.md). Returns a
 * participant-like object plus `hide()` / `show()`.
 */
export async function openHideableParticipant(url, name, { query = '' } = {}) {
  const userDir = mkdtempSync(path.join(tmpdir(), 'rollgym-chromium-'));
  const child = spawn('/usr/bin/chromium', [
    '--headless=new',
    '--remote-debugging-port=0',
    `--user-data-dir=${userDir}`,
    ...CHROMIUM_ARGS,
    'about:blank',
  ], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  const log = createWriteStream(path.join(ARTIFACTS, `${name}.chromium.log`));
  // Anything failing from here on must not leave the browser running: a live child keeps
  // node's test runner from ever exiting.
  try {
    return await driveHideable(child, log, userDir, url, query);
  } catch (err) {
    await stopChromium(child, userDir);
    throw err;
  }
}

async function driveHideable(child, log, userDir, url, query) {
  const endpoint = await new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error('chromium did not start')), 15000);
    child.stderr.on('data', (chunk) => {
      log.write(chunk);
      err += chunk;
      const m = err.match(/DevTools listening on (ws:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
  const browser = await chromium.connectOverCDP(endpoint, { noDefaults: true });
  const context = browser.contexts()[0];
  const page = await context.newPage();
  const watched = watch(page);
  await page.goto(`${url}/${query}`);
  let cover = null;
  return {
    ...watched,
    /** Brings another tab to the front: the game page becomes really hidden. */
    async hide() {
      cover = await context.newPage();
      await cover.bringToFront();
      await page.waitForFunction(() => document.hidden, null, { timeout: 5000, polling: 50 });
    },
    async show() {
      await page.bringToFront();
      await cover?.close();
      cover = null;
      await page.waitForFunction(() => !document.hidden, null, { timeout: 5000, polling: 50 });
    },
    async close() {
      await browser.close().catch(() => {});
      await stopChromium(child, userDir);
    },
  };
}

/**
 * Ends a Chromium started by `openHideableParticipant`: the whole process group (the browser
 * and its helper processes: zygote, renderers, crashpad, which otherwise outlive it and keep
 * writing the profile), then its profile directory.
 */
async function stopChromium(child, userDir) {
  const group = -child.pid;
  const alive = () => {
    try {
      process.kill(group, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (alive()) process.kill(group, 'SIGTERM');
  const deadline = Date.now() + 5000;
  while (alive() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  if (alive()) process.kill(group, 'SIGKILL');
  rmSync(userDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
}

/** Both players' confirmed episode hashes, checked equal and complete. */
export function sameEpisodes(a, b, episodes) {
  if (a.episodes.length !== episodes || b.episodes.length !== episodes) {
    throw new Error(`expected ${episodes} confirmed episodes: ${JSON.stringify([a.episodes, b.episodes])}`);
  }
  return JSON.stringify(a.episodes) === JSON.stringify(b.episodes);
}
