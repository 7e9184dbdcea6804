// Benchmark: bytes on disk per participant and episode, from a real two-player game of 450
// steps (15 s at 30 fps) stored by the relay. Prints a table.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { experiment, launchBrowser, openParticipant, startRelay } from '../e2e/harness.mjs';

const relay = await startRelay({ experiment: experiment('long'), name: 'bench_episode' });
const browser = await launchBrowser();
try {
  const players = [
    await openParticipant(browser, relay.url, { query: '?participant=bench-a' }),
    await openParticipant(browser, relay.url, { query: '?participant=bench-b' }),
  ];
  const stored = () => window.rollgym?.exports?.length === 1 && window.rollgym.exports[0].acked;
  await Promise.all(players.map((p) => p.waitFor(stored, null, 60000)));
  const dir = path.join(relay.dataDir, 'e2e_long', 'overcooked');
  console.log('\nresearch data per participant and episode (450 steps, idle players, as stored by the relay)');
  console.log('| file | bytes | gzip |');
  console.log('|---|---|---|');
  for (const name of readdirSync(dir).sort()) {
    const file = path.join(dir, name);
    console.log(`| ${name} | ${statSync(file).size} | ${gzipSync(readFileSync(file)).length} |`);
  }
  await Promise.all(players.map((p) => p.close()));
} finally {
  await browser.close();
  await relay.stop();
}
