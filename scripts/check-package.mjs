// Checks the built package (www/pkg/): its wasm + JS stay under the gzip budget, and the README
// shows the example environment exactly as www/examples/coins/coins.js has it. Run by
// `make check` after `make build`; prints the size either way.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const PKG = path.join(ROOT, 'www/pkg');
const BUDGET = 250_000;

let files;
try {
  files = readdirSync(PKG).filter((f) => f.endsWith('.js') || f.endsWith('.wasm'));
} catch {
  console.error('www/pkg/ is missing: run `make build` first');
  process.exit(1);
}
// What a page loads: the API, the glue and the module (not the jsPsych plugin).
const loaded = files.filter((f) => f !== 'rollgym-jspsych.js');
const gzip = loaded.reduce((sum, f) => sum + gzipSync(readFileSync(path.join(PKG, f))).length, 0);
console.log(`package wasm + JS: ${gzip} bytes gzip (${loaded.join(', ')}); budget ${BUDGET}`);
let failed = gzip >= BUDGET;
if (failed) console.error('the package is over its size budget: see where the bytes go with twiggy (README, "Other targets")');

const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const coins = readFileSync(path.join(ROOT, 'www/examples/coins/coins.js'), 'utf8').trim();
if (!readme.includes(coins)) {
  console.error('README.md does not show www/examples/coins/coins.js as it is: copy it again');
  failed = true;
}
process.exit(failed ? 1 : 0);
