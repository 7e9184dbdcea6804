// Test harness: the real relay binary on a free port, real Chromium pages, and helpers that
// wait on the `window.rollgym` hook (never on sleeps).
import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const RELAY_BIN = path.join(ROOT, 'target/release/rollgym');
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

/** Starts `rollgym serve` on port 0 and resolves once it prints its URL. */
export async function startRelay({ experiment, name = 'relay' } = {}) {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'rollgym-e2e-'));
  const args = ['serve', '--addr', '127.0.0.1:0', '--data-dir', dataDir];
  if (experiment) args.push(experiment);
  const child = spawn(RELAY_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(path.join(ARTIFACTS, `${name}.log`));
  child.stderr.pipe(log);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`relay did not start; see ${name}.log`)), 15000);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/rollgym listening on (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    exited.then(({ code }) => reject(new Error(`relay exited with ${code} before listening`)));
  });
  return {
    url,
    dataDir,
    /** SIGTERM by PID, then wait for a clean exit (graceful shutdown). */
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const { code } = await exited;
      rmSync(dataDir, { recursive: true, force: true });
      return code;
    },
  };
}

export async function launchBrowser() {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

/**
 * Opens the participant page in a fresh context (its own storage, like a separate person).
 * Every uncaught page error and console error is collected; `assertClean` fails the test.
 */
export async function openParticipant(browser, url, { query = '' } = {}) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console.error: ${msg.text()}`);
  });
  await page.goto(`${url}/${query}`);
  return {
    page,
    context,
    errors,
    hook: () => page.evaluate(() => ({ ...window.rollgym })),
    /** Waits until `predicate(window.rollgym)` holds (the predicate runs in the page). */
    async waitFor(predicate, arg, timeout = 20000) {
      await page.waitForFunction(predicate, arg, { timeout, polling: 50 });
      return page.evaluate(() => ({ ...window.rollgym }));
    },
    async close() {
      await context.close();
    },
  };
}

export function assertClean(...participants) {
  const errors = participants.flatMap((p) => p.errors);
  if (errors.length > 0) throw new Error(`page errors:\n${errors.join('\n')}`);
}
