// An example study: consent, instructions, a rollgym game (the experiment's built-in game, or
// pass `env` for your own), a Likert and a free-text question, and a thank-you page with the
// completion code. The answers are stored by the relay next to the game data:
// data/<experiment>/pages/<participant>_answers.json.
import jsPsychRollgym from '/pkg/rollgym-jspsych.js';
import { saveData } from '/pkg/rollgym.js';

const jsPsych = initJsPsych();
let participant = new URLSearchParams(location.search).get('participant');

const consent = {
  type: jsPsychHtmlButtonResponse,
  stimulus: `<h1>Consent</h1>
    <p>You will play a short game with another participant and answer two questions.
    Your key presses and answers are recorded for research. You may stop at any time.</p>`,
  choices: ['I agree'],
  data: { task: 'consent' },
};

const instructions = {
  type: jsPsychInstructions,
  pages: [
    '<p>You will be matched with a partner. The game starts after a short countdown.</p>',
    '<p>Use the keys shown under the game. Do your best together!</p>',
  ],
  show_clickable_nav: true,
  data: { task: 'instructions' },
};

const game = {
  type: jsPsychRollgym,
  data: { task: 'game' },
  on_finish: (data) => {
    participant = data.participant_id ?? participant;
  },
};

const likert = {
  type: jsPsychSurveyLikert,
  questions: [
    {
      prompt: 'How much did you enjoy playing with your partner?',
      name: 'enjoyment',
      labels: ['Not at all', 'A little', 'Somewhat', 'Quite', 'Very much'],
      required: true,
    },
  ],
  data: { task: 'likert' },
};

const text = {
  type: jsPsychSurveyText,
  questions: [{ prompt: 'Anything you would like to tell us about the game?', name: 'comments' }],
  data: { task: 'comments' },
};

const thanks = {
  type: jsPsychHtmlButtonResponse,
  stimulus: () => {
    const code = jsPsych.data.get().filter({ task: 'game' }).values()[0]?.completion_code;
    return `<h1>Thank you!</h1>
      <p>Your completion code: <strong id="completion-code">${code ?? 'none'}</strong></p>
      <p id="saved">Saving your answers…</p>`;
  },
  choices: ['Finish'],
  on_load: async () => {
    const answers = {
      likert: jsPsych.data.get().filter({ task: 'likert' }).values()[0]?.response ?? null,
      comments: jsPsych.data.get().filter({ task: 'comments' }).values()[0]?.response ?? null,
      game: jsPsych.data.get().filter({ task: 'game' }).values()[0] ?? null,
    };
    const saved = await saveData('answers', answers, { participantId: participant ?? undefined });
    document.getElementById('saved').textContent = saved.stored
      ? 'Your answers are saved.'
      : `Your answers are kept in this browser and will be sent later (${saved.error}).`;
  },
  data: { task: 'thanks' },
};

jsPsych.run([consent, instructions, game, likert, text, thanks]);
