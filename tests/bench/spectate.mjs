// Benchmark: watching a game live from the admin console. Two players press random keys
// through a 30-second episode while one console watches; prints how many frames (and
// milliseconds) the console's view is behind a player's page, sampled whenever the view has
// moved on, and the bytes of rows per second the feed adds (what the feeding page sends up
// and each watching console receives, JSON before transport framing).
import { experiment, launchBrowser, openConsole, openParticipant, playRandomly, startRelay } from '../e2e/harness.mjs';

const FPS = 30;
const relay = await startRelay({ experiment: experiment('console'), name: 'bench_spectate' });
const browser = await launchBrowser();
try {
  const admin = await openConsole(browser, relay.adminUrl);
  const players = [await openParticipant(browser, relay.url), await openParticipant(browser, relay.url)];
  await Promise.all(players.map((p) => p.waitFor(() => window.rollgym?.phase === 'playing', null, 30000)));
  const playing = playRandomly(players, () => window.rollgym.confirmedFrame > 750, { timeoutMs: 60000 });
  await admin.page.waitForSelector('#games button.watch');
  await admin.page.click('#games button.watch');
  await admin.page.waitForFunction(() => document.getElementById('watch').dataset.frame !== undefined);
  const lags = [];
  const started = await admin.page.$eval('#watch', (w) => ({ bytes: Number(w.dataset.bytes), at: performance.now() }));
  let shown = -1;
  while (lags.length < 200) {
    const moved = await admin.page
      .waitForFunction((after) => Number(document.getElementById("watch").dataset.frame) > after + 2, shown, { timeout: 5000 })
      .then(() => true, () => false);
    if (!moved) break;
    const [view, played] = await Promise.all([
      admin.page.$eval('#watch', (w) => Number(w.dataset.frame)),
      players[0].page.evaluate(() => window.rollgym.frame),
    ]);
    lags.push(played - view);
    shown = view;
  }
  const ended = await admin.page.$eval('#watch', (w) => ({ bytes: Number(w.dataset.bytes), at: performance.now(), checked: w.dataset.checked, mismatch: w.dataset.mismatch }));
  await playing;
  lags.sort((x, y) => x - y);
  const at = (q) => lags[Math.min(lags.length - 1, Math.floor(q * lags.length))];
  const perSecond = ((ended.bytes - started.bytes) * 1000) / (ended.at - started.at);
  console.log(`\nwatching a game live (${FPS} fps, 2 players, random keys; ${lags.length} samples, ${ended.checked} batches checked, mismatch: ${ended.mismatch ?? 'none'})`);
  console.log('| | median | p95 | max |');
  console.log('|---|---|---|---|');
  console.log(`| view behind a player (frames) | ${at(0.5)} | ${at(0.95)} | ${lags[lags.length - 1]} |`);
  console.log(`| view behind a player (ms) | ${Math.round((at(0.5) * 1000) / FPS)} | ${Math.round((at(0.95) * 1000) / FPS)} | ${Math.round((lags[lags.length - 1] * 1000) / FPS)} |`);
  console.log(`\nrows forwarded: ${Math.round(perSecond)} B/s (JSON) per watched game, sent once by one page, received by each console`);
  await Promise.all([...players.map((p) => p.close()), admin.close()]);
} finally {
  await browser.close();
  await relay.stop();
}
