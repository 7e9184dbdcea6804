// Benchmark: key-to-screen latency, end to end. Two pages press random keys through a
// 15-second episode, with no emulated latency and with 100 ms one way (Chromium delays a
// page's datagrams both ways by its emulated latency: 50 ms on each page); prints the round
// trip measured and each player's time from keydown to the frame that applied the key and to
// the screen (medians and 95th percentiles from the stored sidecars), next to the budget:
// input delay × frame time + one frame.
import { experiment, launchBrowser, playStoredPair, startRelay } from '../e2e/harness.mjs';

const FPS = 30;
const INPUT_DELAY = 2;
const budget = Math.round(((INPUT_DELAY + 1) * 1000) / FPS);
const browser = await launchBrowser();
const rows = [];
try {
  for (const latency of [0, 100]) {
    const relay = await startRelay({ experiment: experiment('long'), name: `bench_input_latency_${latency}` });
    try {
      const network = latency ? { latency: latency / 2 } : undefined;
      const { hooks, sidecars } = await playStoredPair(browser, relay, 'e2e_long', network);
      for (const [i, hook] of hooks.entries()) {
        const sidecar = sidecars[i];
        const { presses, applied, drawn } = sidecar.input_latency;
        const ms = (x) => (x == null ? '–' : Math.round(x));
        rows.push(`| ${latency} ms | ${Math.round(sidecar.p2p_rtt_ms.median)} | ${hook.playerIndex} | ${presses} | ${ms(applied?.p50)} | ${ms(applied?.p95)} | ${ms(drawn?.p50)} | ${ms(drawn?.p95)} | ${budget} |`);
      }
    } finally {
      await relay.stop();
    }
  }
} finally {
  await browser.close();
}
console.log(`\nkey-to-screen latency (${FPS} fps, input delay ${INPUT_DELAY}, random keys on both pages; ms)`);
console.log('| one-way latency (emulated) | round trip measured (ms) | player | presses | keydown→applied p50 | p95 | keydown→drawn p50 | p95 | budget (delay × frame + frame) |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const row of rows) console.log(row);
