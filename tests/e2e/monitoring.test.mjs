// Monitoring during play in real Chromium: a really hidden tab is warned, then excluded; the
// game ends for both players at the same frame, each sees its own outcome, message and code,
// and both stored files are partial, identical in every shared cell and exactly as long.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  assertClean,
  experiment,
  inGame,
  openHideableParticipant,
  playRandomly,
  startRelay,
  useBrowserAndRelay,
} from './harness.mjs';

const env = useBrowserAndRelay();

const FIRST_LOCAL_COLUMN = 'wasSpeculative.0';

/** A participant's stored last episode: its sidecar and CSV lines. */
function stored(participantId) {
  const base = path.join(env.relay.dataDir, 'e2e_monitoring', 'overcooked', `${participantId}_ep0`);
  const sidecar = JSON.parse(readFileSync(`${base}.json`, 'utf8'));
  const lines = readFileSync(`${base}.csv`, 'utf8').trimEnd().split('\n');
  return { sidecar, lines };
}

/** The shared columns of every line (header included). */
function sharedCells(lines) {
  const cut = lines[0].split(',').indexOf(FIRST_LOCAL_COLUMN);
  assert.ok(cut > 0, 'the header has local columns');
  return lines.map((line) => line.split(',').slice(0, cut).join(','));
}

test('a tab hidden past tab_exclude_ms ends the game for both at the same frame', async () => {
  env.relay = await startRelay({ experiment: experiment('monitoring'), name: 'monitoring_hidden' });
  const a = await openHideableParticipant(env.relay.url, 'monitoring_a');
  const b = await openHideableParticipant(env.relay.url, 'monitoring_b');
  try {
    await Promise.all([a.waitFor(inGame), b.waitFor(inGame)]);
    await playRandomly([a, b], () => window.rollgym.frame > 60);
    await b.hide();
    // Both hear about it (after 1 s; the hidden page polls its hook about once a second, so
    // the warning stays up for 4 s), then both end (after 5 s).
    const warned = await a.waitFor(() => window.rollgym.warning === 'partner_tab_hidden', null, 15000);
    assert.equal(warned.phase, 'playing');
    const hiddenWarning = await b.waitFor(() => window.rollgym.warning === 'tab_hidden', null, 15000);
    assert.equal(hiddenWarning.focused, false);
    const ended = (s) => s.phase !== 'playing' && s.phase !== 'between_episodes';
    const sa = await a.waitFor(
      () => window.rollgym.outcome === 'partner_excluded' && window.rollgym.exports[0]?.acked,
      null,
      30000,
    );
    const sb = await b.waitFor(
      () => window.rollgym.outcome === 'excluded' && window.rollgym.exports[0]?.acked,
      null,
      30000,
    );
    assert.ok(ended(sa) && ended(sb));
    assert.equal(sa.phase, 'partner_disconnected');
    assert.equal(sb.phase, 'excluded');
    assert.equal(sa.exit.completionCode, 'PEXC1');
    assert.equal(sb.exit.completionCode, 'EXCL1');
    const notice = await a.page.textContent('.rollgym-notice');
    assert.match(notice, /Your partner had a technical problem/);
    assert.match(notice, /PEXC1/);
    await b.show();
    assert.match(await b.page.textContent('.rollgym-notice'), /EXCL1/);

    // The stored data of both: partial, the same exclusion, identical and exactly as long.
    const [da, db] = [stored(sa.participantId), stored(sb.participantId)];
    assert.deepEqual(da.sidecar.exclusion, db.sidecar.exclusion);
    assert.deepEqual(da.sidecar.exclusion.players, [sb.playerIndex]);
    assert.equal(da.sidecar.exclusion.reason, 'tab_hidden');
    assert.equal(da.sidecar.outcome, 'partner_excluded');
    assert.equal(db.sidecar.outcome, 'excluded');
    assert.ok(da.sidecar.partial && db.sidecar.partial, 'marked partial');
    assert.equal(da.sidecar.unconfirmed_rows, 0);
    assert.equal(db.sidecar.unconfirmed_rows, 0);
    assert.equal(da.sidecar.last_frame, da.sidecar.exclusion.frame - 1, 'the data stops before it');
    assert.equal(da.lines.length, db.lines.length, 'exactly as long');
    assert.deepEqual(sharedCells(da.lines), sharedCells(db.lines), 'identical shared cells');
    // b's last rows say its tab was hidden.
    const focusColumn = da.lines[0].split(',').indexOf(`isFocused.${sb.playerIndex}`);
    assert.equal(da.lines.at(-1).split(',')[focusColumn], 'false');
    assertClean(a, b);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});
