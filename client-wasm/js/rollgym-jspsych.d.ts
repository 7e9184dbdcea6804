// Types of the jsPsych plugin (rollgym-jspsych.js).
import type { EpisodeSummary, Environment, KeyMap, Outcome } from './rollgym.js';

/** The trial's parameters (jsPsych's trial object). */
export interface RollgymTrial {
  type: typeof RollgymPlugin;
  env?: Environment;
  relay?: string;
  participant_id?: string;
  keys?: KeyMap;
}

/** The trial's data. */
export interface RollgymTrialData {
  outcome: Outcome | null;
  completion_code: string | null;
  episodes: EpisodeSummary[];
  game_id: string | null;
  partner_ids: string[];
  participant_id: string | null;
  data_stored: boolean;
  error: string | null;
}

export default class RollgymPlugin {
  static info: { name: 'rollgym'; version: string; parameters: Record<string, unknown>; data: Record<string, unknown> };
  constructor(jsPsych: unknown);
  trial(display_element: HTMLElement, trial: Omit<RollgymTrial, 'type'>): Promise<RollgymTrialData>;
}

export { RollgymPlugin as jsPsychRollgym };
