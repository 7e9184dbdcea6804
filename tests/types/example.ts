// A researcher's page in TypeScript, type-checked by `make test` (tsc --noEmit) against the
// package's rollgym.d.ts: every call here must stay valid as the API changes.
import { checkEnv, start, stateHash, type Environment, type SessionResult } from 'rollgym';
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
  });
  const stop = session.on('phase', ({ phase, status }) => {
    if (phase === 'playing') console.log(`playing as player ${status.playerIndex ?? '?'}`);
  });
  session.on('episode', (e) => console.log(e.episode, e.steps, e.stateHash, e.rewards.join(' ')));
  session.on('finished', (r) => console.log(r.outcome, r.completionCode));
  const result = await session.finished;
  stop();
  session.destroy();
  console.log(stateHash(env.getState()), result.dataStored, result.partnerIds.length);
  return result;
}

void run(document.body);
