// One binary to deploy: the release `rollgym`, copied alone to a directory outside the
// checkout, serves the participant page and the wasm package it has built in, and a pair plays.
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import {
  RELAY_BIN,
  assertClean,
  experiment,
  inGame,
  isDone,
  openParticipant,
  playRandomly,
  sameEpisodes,
  startRelay,
  useBrowserAndRelay,
} from './harness.mjs';

const env = useBrowserAndRelay();

test('the release binary copied alone to another directory serves the page and a pair plays', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rollgym-deploy-'));
  try {
    const bin = path.join(dir, 'rollgym');
    copyFileSync(RELAY_BIN, bin);
    chmodSync(bin, 0o755);
    const study = path.join(dir, 'study.toml');
    copyFileSync(experiment('short'), study);
    env.relay = await startRelay({ bin, cwd: dir, experiment: study, name: 'deploy' });
    const a = await openParticipant(env.browser, env.relay.url);
    const b = await openParticipant(env.browser, env.relay.url);
    await Promise.all([a.waitFor(inGame), b.waitFor(inGame)]);
    await playRandomly([a, b], isDone);
    const [sa, sb] = await Promise.all([a.hook(), b.hook()]);
    assert.ok(sameEpisodes(sa, sb, 1), `hashes differ: ${JSON.stringify([sa.episodes, sb.episodes])}`);
    assertClean(a, b);
    await Promise.all([a.close(), b.close()]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
