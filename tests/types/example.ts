// A researcher's page in TypeScript, type-checked by `make test` (tsc --noEmit) against the
// package's rollgym.d.ts: every call here must stay valid as the API changes.
import { checkEnv, saveData, start, stateHash, type Environment, type SessionResult } from 'rollgym';
import jsPsychRollgym, { type RollgymTrial, type RollgymTrialData } from 'rollgym/jspsych';
import { coins } from '../../www/examples/coins/coins.js';

const env: Environment = coins();

async function run(container: HTMLElement): Promise<SessionResult> {
  const report = await checkEnv(env, { steps: 500, seed: 7 });
  if (!report.ok && report.problem) {
    throw new Error(`${report.problem.check} at step ${report.problem.step}: ${report.problem.detail}`);
  }
  const session = await start({
    container,
    relay: 'https://relay.example.org',
    participantId: 'p-001',
    env,
    keys: { ArrowUp: 1, ArrowDown: 2, ArrowLeft: 3, ArrowRight: 4 },
    // The study's own rule ([screening] custom = true): a keyboard is needed.
    screen: async (facts) =>
      facts.touchPoints === 0 || facts.window[0] >= 1024 || { passed: false, message: 'This study needs a keyboard.' },
  });
  const stop = session.on('phase', ({ phase, status }) => {
    if (phase === 'playing') console.log(`playing as player ${status.playerIndex ?? '?'}`);
    if (status.warning === 'tab_hidden') console.log('please come back to the game');
    if (status.exit?.redirectUrl) console.log(`going to ${status.exit.redirectUrl}`);
  });
  session.on('episode', (e) => console.log(e.episode, e.steps, e.stateHash, e.rewards.join(' ')));
  session.on('finished', (r) => console.log(r.outcome, r.completionCode));
  const result = await session.finished;
  stop();
  session.destroy();
  console.log(stateHash(env.getState()), result.dataStored, result.partnerIds.length);
  const saved = await saveData('answers', { enjoyed: 4 }, { participantId: 'p-001' });
  if (!saved.stored) console.warn(`kept in the browser (${saved.pending}): ${saved.error}`);
  return result;
}

void run(document.body);

// A jsPsych timeline entry and what the trial returns.
const trial: RollgymTrial = { type: jsPsychRollgym, env, participant_id: 'p-001' };
async function trialData(display: HTMLElement): Promise<string | null> {
  const data: RollgymTrialData = await new jsPsychRollgym(null).trial(display, trial);
  return data.completion_code;
}
void trialData;
