// Benchmark: page load to `ready` in headless Chromium (cold cache, median of LOADS loads), and
// the bytes of wasm + JS the page transfers, raw and compressed as the relay serves them.
// Run with `make bench`. Prints a table; asserts nothing about speed.
import http from 'node:http';
import { launchBrowser, openParticipant, startRelay } from '../e2e/harness.mjs';

const LOADS = Number(process.env.LOADS ?? 15);
const ASSETS = ['index.html', 'main.js', 'style.css', 'pkg/rollgym.js', 'pkg/rollgym.css', 'pkg/rollgym_client.js', 'pkg/rollgym_client_bg.wasm'];

/** Bytes on the wire for `path` with the given Accept-Encoding (no decompression). */
function transferred(base, path, encoding) {
  return new Promise((resolve, reject) => {
    const req = http.get(`${base}/${path}`, { headers: { 'accept-encoding': encoding } }, (res) => {
      let bytes = 0;
      res.on('data', (chunk) => (bytes += chunk.length));
      res.on('end', () => resolve({ bytes, encoding: res.headers['content-encoding'] ?? 'identity', type: res.headers['content-type'] }));
    });
    req.on('error', reject);
  });
}

function quantile(sorted, q) {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))));
  return sorted[i];
}

const relay = await startRelay({ name: 'bench' });
const browser = await launchBrowser();
try {
  const times = [];
  for (let i = 0; i < LOADS; i++) {
    // A fresh context per load: empty HTTP cache, like a participant's first visit.
    const p = await openParticipant(browser, relay.url);
    const hook = await p.waitFor(() => typeof window.rollgym?.readyAtMs === 'number');
    times.push(hook.readyAtMs);
    await p.close();
  }
  times.sort((a, b) => a - b);
  const fmt = (ms) => `${ms.toFixed(1)} ms`;
  console.log(`\npage load to ready (navigation start -> wasm client running), ${LOADS} cold loads, headless Chromium, loopback`);
  console.log('| median | p10 | p90 | min | max | budget |');
  console.log('|---|---|---|---|---|---|');
  console.log(`| ${fmt(quantile(times, 0.5))} | ${fmt(quantile(times, 0.1))} | ${fmt(quantile(times, 0.9))} | ${fmt(times[0])} | ${fmt(times.at(-1))} | < 300 ms |`);

  console.log('\nbytes transferred per asset (as served by the relay)');
  console.log('| asset | content-type | raw | gzip | br |');
  console.log('|---|---|---|---|---|');
  const totals = { raw: 0, gzip: 0, br: 0 };
  for (const asset of ASSETS) {
    const raw = await transferred(relay.url, asset, 'identity');
    const gz = await transferred(relay.url, asset, 'gzip');
    const br = await transferred(relay.url, asset, 'br');
    if (asset.startsWith('pkg/') && (asset.endsWith('.js') || asset.endsWith('.wasm'))) {
      totals.raw += raw.bytes;
      totals.gzip += gz.bytes;
      totals.br += br.bytes;
    }
    console.log(`| ${asset} | ${raw.type} | ${raw.bytes} | ${gz.bytes} (${gz.encoding}) | ${br.bytes} (${br.encoding}) |`);
  }
  console.log(`| **package wasm + JS** | | ${totals.raw} | ${totals.gzip} | ${totals.br} |`);
  console.log(`budget: package wasm + JS < 250 kB gzip (${(totals.gzip / 1000).toFixed(1)} kB: ${totals.gzip < 250000 ? 'within' : 'OVER'})`);
} finally {
  await browser.close();
  await relay.stop();
}
