// Benchmark: an environment written in JavaScript (the example `coins`) in headless Chromium,
// called as rollgym calls it (called here directly, without the wasm boundary): one step
// (step + getState, as after every simulated frame), and a 12-frame rollback (setState +
// 12 x (step + getState)). Median of many runs.
// Prints a table; asserts nothing about speed.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { experiment, launchBrowser, openParticipant, startRelay } from '../e2e/harness.mjs';

const PAGES = path.join(path.dirname(fileURLToPath(import.meta.url)), '../e2e/pages');
const relay = await startRelay({ experiment: experiment('coins'), name: 'bench_js_env', wwwDir: PAGES });
const browser = await launchBrowser();
try {
  const p = await openParticipant(browser, relay.url, { path: 'blank/' });
  const result = await p.page.evaluate(async () => {
    const { coins } = await import('/examples/coins/coins.js');
    const env = coins();
    env.reset(1);
    const actions = (i) => [(i * 7) % 5, (i * 13 + 3) % 5];
    const medianUs = (runs, units, work) => {
      work(Math.ceil(units / 10));
      const samples = [];
      for (let r = 0; r < runs; r++) {
        const start = performance.now();
        work(units);
        samples.push(((performance.now() - start) * 1000) / units);
      }
      samples.sort((a, b) => a - b);
      return samples[Math.floor(runs / 2)];
    };
    let sink = 0;
    const step = medianUs(21, 20000, (n) => {
      for (let i = 0; i < n; i++) {
        env.step(actions(i));
        sink ^= env.getState()[0];
      }
    });
    const saved = env.getState();
    const rollback = medianUs(21, 2000, (n) => {
      for (let r = 0; r < n; r++) {
        env.setState(saved);
        for (let f = 0; f < 12; f++) {
          env.step(actions(r * 12 + f));
          sink ^= env.getState()[0];
        }
      }
    });
    return { step, rollback, sink, agent: navigator.userAgent.match(/Chrome\/[\d.]+/)?.[0] ?? 'Chromium' };
  });
  console.log(`\nJavaScript environment (www/examples/coins), the calls rollgym makes (without the wasm boundary), ${result.agent} headless, median of 21 runs`);
  console.log('| workload | time | budget |');
  console.log('|---|---|---|');
  console.log(`| coins step (step + getState) | ${result.step.toFixed(3)} µs | — |`);
  console.log(`| coins 12-frame rollback (setState + 12 x (step + getState)) | ${result.rollback.toFixed(2)} µs | < 1000 µs |`);
  await p.close();
} finally {
  await browser.close();
  await relay.stop();
}
