// jsPsychRollgym: a rollgym game as one jsPsych 8 trial. The trial starts a session in the
// trial's display element, ends when the session is over (the game played, the participant
// excluded, an error) and its data stored, and returns the result as the trial's data.
//
//   import jsPsychRollgym from '/pkg/rollgym-jspsych.js';
//   timeline.push({ type: jsPsychRollgym, env: myEnvironment });
import { start } from './rollgym.js';

// A parameter without a default is required in jsPsych: the optional ones default to null,
// which start() reads as absent.
// jsPsych 8's ParameterType values, so this module works without importing jsPsych (pages
// load jsPsych as a script, from wherever they like).
const BOOL = 0;
const STRING = 1;
const OBJECT = 12;
const COMPLEX = 13;

const info = {
  name: 'rollgym',
  version: '0.1.0',
  parameters: {
    /** A JavaScript environment; default: the built-in game the experiment names. */
    env: { type: OBJECT, default: null },
    /** The relay's address; default: the page's origin. */
    relay: { type: STRING, default: null },
    /** Default: `?PROLIFIC_PID=` / `?participant=` of the page address. */
    participant_id: { type: STRING, default: null },
    /** `KeyboardEvent.key` to action, replacing the environment's keys. */
    keys: { type: OBJECT, default: null },
  },
  data: {
    /** complete, partner_disconnected, partner_away, reconnection_timeout, timeout, already_finished, error, screened_out, loading_failed; null before any game. */
    outcome: { type: STRING },
    completion_code: { type: STRING },
    /** Every confirmed episode: episode, steps, stateHash, rewards. */
    episodes: { type: COMPLEX, array: true },
    game_id: { type: STRING },
    partner_ids: { type: STRING, array: true },
    participant_id: { type: STRING },
    /** The game's data is on the relay's disk. */
    data_stored: { type: BOOL },
    error: { type: STRING },
  },
};

export default class RollgymPlugin {
  static info = info;

  constructor(jsPsych) {
    this.jsPsych = jsPsych;
  }

  async trial(display_element, trial) {
    const session = await start({
      container: display_element,
      env: trial.env,
      relay: trial.relay,
      participantId: trial.participant_id,
      keys: trial.keys,
    });
    try {
      const result = await session.finished;
      return {
        outcome: result.outcome,
        completion_code: result.completionCode,
        episodes: result.episodes,
        game_id: result.gameId,
        partner_ids: result.partnerIds,
        participant_id: result.participantId,
        data_stored: result.dataStored,
        error: result.error,
      };
    } finally {
      session.destroy();
    }
  }
}

export { RollgymPlugin as jsPsychRollgym };
