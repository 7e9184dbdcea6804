// Benchmark: the built-in games' step and a 12-frame rollback in WebAssembly (Node's V8, the engine
// of Chromium), the same workloads as client-wasm/benches/native.rs. Prints a table row each.
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
const wasm = require('../../target/bench-pkg/rollgym_client.js');

function medianNs(runs, units, f) {
  f(Math.floor(units / 10)); // warm up (tier-up of the wasm compiler)
  const samples = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    f(units);
    samples.push(((performance.now() - start) * 1e6) / units);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(runs / 2)];
}

const step = medianNs(21, 1_000_000, wasm.benchOvercookedSteps);
const rollback = medianNs(21, 20_000, wasm.benchRollbacks);
console.log(`| workload | wasm in Node ${process.versions.node} (median of 21 runs) | budget |`);
console.log('|---|---|---|');
console.log(`| overcooked step | ${(step / 1000).toFixed(3)} µs | < 2 µs |`);
console.log(`| 12-frame rollback (load + 12 x (advance + save with checksum)) | ${(rollback / 1000).toFixed(3)} µs | < 50 µs |`);
const slimeStep = medianNs(21, 1_000_000, wasm.benchSlimeSteps);
const slimeRollback = medianNs(21, 20_000, wasm.benchSlimeRollbacks);
console.log(`| slime_volleyball step | ${(slimeStep / 1000).toFixed(3)} µs | < 2 µs |`);
console.log(`| slime_volleyball 12-frame rollback | ${(slimeRollback / 1000).toFixed(3)} µs | < 50 µs |`);
const exportNs = medianNs(21, 200, (n) => wasm.benchExport(450, n));
console.log(`| CSV export of a 450-frame episode (${wasm.benchExport(450, 1)} bytes) | ${(exportNs / 1000).toFixed(1)} µs | — |`);
console.log('anchor: overcooked-ai 1.1.0 on CPython 3.11, cramped_room, 61 µs per env.step (measured for reference/ecosystem-notes.md, not by this command)');
