// The jsPsych example study, as two participants go through it: consent, instructions, the
// rollgym game as a jsPsych trial, a Likert and a free-text question, the thank-you page with
// the completion code; their answers are stored by the relay next to the game data.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { assertClean, experiment, openParticipant, playRandomly, startRelay, useBrowserAndRelay } from './harness.mjs';

const env = useBrowserAndRelay();

/** Consent and instructions, up to the game. */
async function throughInstructions(p) {
  await p.page.click('#jspsych-html-button-response-btngroup button');
  await p.page.click('#jspsych-instructions-next');
  await p.page.click('#jspsych-instructions-next');
}

/** The questions after the game, with this participant's answers. */
async function answer(p, likert, comment) {
  await p.page.click(`input[type="radio"][name="Q0"][value="${likert}"]`, { timeout: 30000 });
  await p.page.click('#jspsych-survey-likert-next');
  await p.page.fill('#input-0', comment);
  await p.page.click('#jspsych-survey-text-next');
  await p.page.waitForFunction(() => document.getElementById('saved')?.textContent === 'Your answers are saved.', null, { timeout: 20000 });
  return p.page.textContent('#completion-code');
}

test('two participants go through the jsPsych example study from consent to the completion code; answers stored', async () => {
  env.relay = await startRelay({ experiment: experiment('jspsych'), name: 'jspsych_study' });
  const ids = ['js-a', 'js-b'];
  const [a, b] = await Promise.all(ids.map((id) => openParticipant(env.browser, env.relay.url, { path: 'examples/jspsych/', query: `?participant=${id}` })));
  try {
    await Promise.all([a, b].map(throughInstructions));
    await Promise.all([a, b].map((p) => p.waitFor(() => typeof window.rollgym?.gameId === 'string')));
    await playRandomly([a, b], () => window.rollgym.phase === 'done');
    const codes = await Promise.all([answer(a, 4, 'great teamwork'), answer(b, 1, 'too fast')]);
    assert.deepEqual(codes, ['JSPSYCH-E2E', 'JSPSYCH-E2E']);
    const pages = path.join(env.relay.dataDir, 'e2e_jspsych', 'pages');
    const stored = ids.map((id) => JSON.parse(readFileSync(path.join(pages, `${id}_answers.json`), 'utf8')));
    assert.deepEqual(stored[0].likert, { enjoyment: 4 });
    assert.deepEqual(stored[0].comments, { comments: 'great teamwork' });
    assert.deepEqual(stored[1].likert, { enjoyment: 1 });
    for (const [i, s] of stored.entries()) {
      assert.equal(s.game.outcome, 'complete');
      assert.equal(s.game.data_stored, true, 'the game trial ended once its data was stored');
      assert.equal(s.game.participant_id, ids[i]);
      assert.deepEqual(s.game.partner_ids, [ids[1 - i]]);
      assert.equal(s.game.episodes.length, 1);
    }
    assert.equal(stored[0].game.episodes[0].stateHash, stored[1].game.episodes[0].stateHash);
    // The game's own files are there too, under the scene.
    readFileSync(path.join(env.relay.dataDir, 'e2e_jspsych', 'overcooked', 'js-a_ep0.csv'), 'utf8');
    // The session removed its elements when the trial ended.
    assert.equal(await a.page.locator('.rollgym').count(), 0);
    assertClean(a, b);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});
