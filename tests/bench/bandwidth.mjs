// Benchmark: what each peer connection carries in games of 2, 3 and 4 players at 30 fps (a
// full mesh: every page sends every partner its inputs), against the budget of 8 kB/s per
// peer connection. Pages press random keys through a five-second episode; each page's
// DataChannel payload to each partner is read from `window.rollgym.sentToPartners` between
// frame 30 and the end. "On the wire" adds, per message, the headers below the DataChannel
// (SCTP data chunk 16 + common header 12, DTLS record 13 + nonce 8 + tag 16, UDP 8, IPv4 20 =
// 93 bytes): an upper estimate, as SCTP may bundle messages into one packet.
import { experiment, launchBrowser, openParticipant, playRandomly, startRelay } from '../e2e/harness.mjs';

const FPS = 30;
const BUDGET = 8000;
const HEADERS = 93;
const GAMES = [
  { players: 2, experiment: 'short' },
  { players: 3, experiment: 'group_3' },
  { players: 4, experiment: 'group_4' },
];
const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const snapshot = () => ({ frame: window.rollgym.frame, sent: window.rollgym.sentToPartners });

const browser = await launchBrowser();
const rows = [];
try {
  for (const game of GAMES) {
    const relay = await startRelay({ experiment: experiment(game.experiment), name: `bench_bandwidth_${game.players}` });
    const pages = [];
    try {
      for (let i = 0; i < game.players; i++) pages.push(await openParticipant(browser, relay.url));
      const from = await Promise.all(pages.map((p) => p.waitFor(() => window.rollgym?.frame >= 30, null, 60000).then(() => p.page.evaluate(snapshot))));
      const ended = () => window.rollgym.phase === 'done';
      await playRandomly(pages, () => window.rollgym.phase === 'playing' && window.rollgym.frame >= 140, { timeoutMs: 60000 });
      const to = await Promise.all(pages.map((p) => p.page.evaluate(snapshot)));
      const payload = [];
      const wire = [];
      const messages = [];
      for (let i = 0; i < pages.length; i++) {
        const seconds = (to[i].frame - from[i].frame) / FPS;
        to[i].sent.forEach(([bytes, count], j) => {
          const [bytes0, count0] = from[i].sent[j];
          payload.push((bytes - bytes0) / seconds);
          messages.push((count - count0) / seconds);
          wire.push((bytes - bytes0 + HEADERS * (count - count0)) / seconds);
        });
      }
      await Promise.all(pages.map((p) => p.waitFor(ended, null, 60000)));
      const kb = (x) => (x / 1000).toFixed(2);
      rows.push(
        `| ${game.players} | ${payload.length} | ${Math.round(median(messages))} | ${kb(median(payload))} | ${kb(Math.max(...payload))} | ${kb(median(wire))} | ${kb(Math.max(...wire))} | ${(Math.max(...wire) / BUDGET).toFixed(2)} |`,
      );
    } finally {
      await Promise.all(pages.map((p) => p.close()));
      await relay.stop();
    }
  }
} finally {
  await browser.close();
}
console.log(`\nper peer connection, one direction (${FPS} fps, random keys, frames 30 to 140; budget ${BUDGET / 1000} kB/s)`);
console.log('| players | directed links | messages / s (median) | payload kB/s (median) | payload max | on the wire kB/s (median, est.) | on the wire max | max / budget |');
console.log('|---|---|---|---|---|---|---|---|');
for (const row of rows) console.log(row);
