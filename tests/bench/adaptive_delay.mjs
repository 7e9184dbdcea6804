// Benchmark: a fixed input delay of 2 against input_delay = "auto", at 20, 100 and 200 ms
// round trip (Chromium delays a page's datagrams both ways by the emulated latency, so a
// quarter of the round trip on each page). Two pages press random keys through a
// 15-second episode; prints, per setting, the delay played, the round trip measured,
// rollbacks per second of play and key-to-screen latency (medians over both players, from the
// stored sidecars).
import { experiment, launchBrowser, playStoredPair, startRelay } from '../e2e/harness.mjs';

const FPS = 30;
const SETTINGS = [
  { name: 'fixed 2', experiment: 'long', id: 'e2e_long' },
  { name: 'auto', experiment: 'long_auto_delay', id: 'e2e_long_auto_delay' },
];
const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const browser = await launchBrowser();
const rows = [];
try {
  for (const rtt of [20, 100, 200]) {
    for (const setting of SETTINGS) {
      const relay = await startRelay({ experiment: experiment(setting.experiment), name: `bench_delay_${setting.experiment}_${rtt}` });
      try {
        const { sidecars } = await playStoredPair(browser, relay, setting.id, { latency: rtt / 4 });
        const seconds = sidecars[0].rows / FPS;
        const perSecond = median(sidecars.map((s) => s.rollbacks.in_episode / seconds));
        const drawn = sidecars.map((s) => s.input_latency.drawn).filter(Boolean);
        const measured = median(sidecars.map((s) => s.p2p_rtt_ms.median));
        rows.push(
          `| ${rtt} ms | ${setting.name} | ${sidecars[0].settings.input_delay} | ${Math.round(measured)} | ${perSecond.toFixed(1)} | ${Math.round(median(drawn.map((d) => d.p50)))} | ${Math.round(median(drawn.map((d) => d.p95)))} |`,
        );
      } finally {
        await relay.stop();
      }
    }
  }
} finally {
  await browser.close();
}
console.log(`\nfixed against automatic input delay (${FPS} fps, random keys on both pages, 15 s episode; medians over both players)`);
console.log('| round trip (emulated) | input delay | frames played | round trip measured (ms) | rollbacks / s | keydown→drawn p50 (ms) | p95 (ms) |');
console.log('|---|---|---|---|---|---|---|');
for (const row of rows) console.log(row);
