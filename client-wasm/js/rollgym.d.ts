// Types of rollgym's embedding API (rollgym.js). Every field the API reads or gives is here.

/** Loads the wasm module (start() and checkEnv() do this themselves). */
export function load(): Promise<unknown>;

/** Starts a session in a page: connects to the relay, waits, plays, stores the data. */
export function start(options?: StartOptions): Promise<Session>;

/**
 * Checks what rollgym needs of a JavaScript environment and reports the first problem: its
 * shape, state bytes surviving setState(getState()), rollbacks reproducing the same states,
 * and two runs from one seed with one action sequence giving equal state hashes.
 */
export function checkEnv(env: Environment, options?: { steps?: number; seed?: number }): Promise<CheckReport>;

/**
 * Stores `data` (anything JSON, at most 256 kB) on the relay as
 * `data/<experiment>/pages/<participant>_<name>.json`. Kept in this browser and sent again
 * (next saveData() or start()) until the relay has it on disk.
 */
export function saveData(name: string, data: unknown, options?: SaveDataOptions): Promise<SaveDataResult>;

export interface SaveDataOptions {
  /** Default: this page's origin. */
  relay?: string;
  /** Default: the page address's `?PROLIFIC_PID=` / `?participant=`, else this tab's session's. */
  participantId?: string;
}

export interface SaveDataResult {
  /** On the relay's disk. */
  stored: boolean;
  /** Entries still kept in this browser, waiting to be sent. */
  pending: number;
  /** Why it was not stored. */
  error: string | null;
}

/** rollgym's state hash (64-bit FNV-1a) of state bytes, as 16 hex digits. */
export function stateHash(bytes: Uint8Array): string;

export interface StartOptions {
  /** The element the game, its status line, pages and notices render into. Default: `document.body`. */
  container?: Element;
  /** The relay: its page address (`https://relay.example.org`) or WebSocket (`wss://…/ws`). Default: this page's origin. */
  relay?: string;
  /** Letters, digits, `-` and `_`, at most 64. Default: `?PROLIFIC_PID=` or `?participant=` of the page address, else one the relay assigns. */
  participantId?: string;
  /** The page's own environment, played when the experiment's `[game] env` names it. Default: the built-in one the experiment names. */
  env?: Environment;
  /** `KeyboardEvent.key` to action, replacing the environment's own keys. */
  keys?: KeyMap;
  /**
   * The page's own screening rule, asked when the experiment sets `[screening] custom = true`:
   * return (or resolve to) `true` to admit, `false`, a message, or `{ passed: false, message }`
   * to turn the participant away. The relay records the answer in `screening.jsonl`.
   */
  screen?: (facts: ScreenFacts) => ScreenVerdict | Promise<ScreenVerdict>;
  /** How long `start()` waits for the wasm module before it rejects with an Error saying so. Default: 30000. */
  loadingTimeoutMs?: number;
}

/** What the browser says about itself, as the page's screening rule sees it. */
export interface ScreenFacts {
  userAgent: string;
  /** `navigator.userAgentData.mobile`, where the browser has it. */
  mobile: boolean | null;
  touchPoints: number;
  /** `[width, height]` of the screen and of the window, CSS pixels. */
  screen: [number, number];
  window: [number, number];
}

export type ScreenVerdict = boolean | string | { passed: boolean; message?: string };

/** `KeyboardEvent.key` (e.g. `"ArrowLeft"`, `"a"`, `" "`) to an action index. */
export type KeyMap = Record<string, number>;

export interface Session {
  /** Listens to an event; returns a function that stops listening. */
  on(kind: 'phase', listener: (event: PhaseEvent) => void): () => void;
  on(kind: 'episode', listener: (episode: EpisodeSummary) => void): () => void;
  on(kind: 'finished', listener: (result: SessionResult) => void): () => void;
  /** Resolves once the session is over, the partner has finished too (or had 5 s to) and its data is stored (or has waited 10 s for the relay). */
  readonly finished: Promise<SessionResult>;
  /** Ends the session and releases everything: connections, the game clock, listeners, the elements it added. */
  destroy(): void;
}

/** Where the participant is. */
export type Phase =
  | 'loading'
  | 'ready'
  | 'screening'
  | 'screened_out'
  | 'scene'
  | 'waiting'
  | 'matched'
  | 'countdown'
  | 'playing'
  | 'between_episodes'
  | 'done'
  | 'partner_disconnected'
  | 'excluded'
  | 'error';

/** How a game ended; the same word is in every episode's sidecar. */
export type Outcome =
  | 'complete'
  | 'partner_disconnected'
  | 'partner_away'
  | 'timeout'
  | 'already_finished'
  | 'error'
  | 'screened_out'
  | 'loading_failed'
  | 'excluded'
  | 'partner_excluded'
  | 'study_closed'
  | 'ended_by_researcher'
  | 'reconnection_timeout';

/** What `[monitoring]` warns about while a game runs. */
export type Warning = 'tab_hidden' | 'slow_connection' | 'partner_tab_hidden';

/** What the page shows at an ending: the experiment's `[outcomes.<name>]`, or defaults. */
export interface Exit {
  message: string;
  completionCode: string | null;
  redirectUrl: string | null;
}

export interface PhaseEvent {
  phase: Phase;
  /** Everything `window.rollgym` shows at that moment. */
  status: Status;
}

/** An episode whose last frame both players confirmed: the same on every machine. */
export interface EpisodeSummary {
  episode: number;
  lastFrame: number;
  steps: number;
  /** The state hash after the last step, 16 hex digits. */
  stateHash: string;
  /** Each player's summed rewards over the episode. */
  rewards: number[];
}

export interface SessionResult {
  /** `null` when the session ended before any game (e.g. a page of the experiment). */
  outcome: Outcome | null;
  completionCode: string | null;
  episodes: EpisodeSummary[];
  gameId: string | null;
  partnerIds: string[];
  participantId: string | null;
  /** Every episode's files are on the relay's disk; otherwise this browser keeps them and re-sends them. */
  dataStored: boolean;
  /** The message, when the outcome is an error. */
  error: string | null;
}

/** The test hook `window.rollgym` and the `status` of phase events (the main fields). */
export interface Status {
  phase: Phase;
  participantId: string | null;
  gameId: string | null;
  playerIndex: number | null;
  partnerIds: string[];
  /** In the waiting room: players waiting there and players per game ("2 of 3"). */
  waiting: [number, number] | null;
  p2pRttMs: number | null;
  lastError: string | null;
  frame: number;
  confirmedFrame: number;
  episode: number;
  rollbacks: number;
  waitingForPartner: boolean;
  /** The peer connection lost its path mid-game and is being restarted ("Reconnecting…"). */
  reconnecting: boolean;
  /** Path losses in this game so far; each is in a sidecar's `interruptions`. */
  interruptions: number;
  /** ICE restarts this page offered in this game. */
  iceRestarts: number;
  focused: boolean;
  outcome: Outcome | null;
  episodes: EpisodeSummary[];
  exports: { episode: number; uploadId: string; rows: number; partial: boolean; acked: boolean }[];
  /** `relay` (through TURN), `srflx` / `prflx` (through a NAT) or `host`, once connected; in a
   * group, each partner's connection in player order, joined by commas (`host,relay`). */
  connectionType: string | null;
  /** DataChannel payload sent to each partner of this game, in player order: `[bytes, messages]`. */
  sentToPartners: [number, number][];
  /** This player's key presses in the episode under way: keydown to the frame that applied
   * each (`applied`) and to the screen (`drawn`), in ms (docs/DATA.md `input_latency`). */
  inputLatency: {
    presses: number;
    applied: { p50: number; p95: number; max: number } | null;
    drawn: { p50: number; p95: number; max: number } | null;
  } | null;
  countdown: number | null;
  /** Set when the session or a game ends: the outcome's message, code and redirect. */
  exit: Exit | null;
  /** What monitoring warns about right now, during play. */
  warning: Warning | null;
  [more: string]: unknown;
}

/**
 * A deterministic game written in JavaScript. rollgym runs it under rollback netcode: it
 * saves states with getState(), loads them with setState() and steps again, so everything
 * that decides the future (positions, scores, the random generator) must be in the state
 * bytes, and step() must depend on nothing else (no Date, no Math.random).
 */
export interface Environment {
  /** Letters, digits, `_`, `-`, `.`; the experiment's `[game] env` names it. */
  name: string;
  /** Both players' pages must run the same version, or the game does not start. */
  version: string;
  /** 1 to 8; the game's number of players. */
  numPlayers: number;
  /** 1 to 254: actions are `0 .. numActions - 1`. */
  numActions: number;
  /** What a player who presses nothing (or whose tab is hidden) does. Default 0. */
  defaultAction?: number;
  /** Starts an episode. `seed` is an integer from 0 to 2^32 - 1. */
  reset(seed: number): void;
  /** One step with one action per player, in player order. */
  step(actions: number[]): StepResult;
  /** The whole state as bytes; equal states must give equal bytes. */
  getState(): Uint8Array;
  /** Restores a state getState() gave. */
  setState(state: Uint8Array): void;
  /** Draws the current state; `ctx` is scaled so the scene is `viewWidth` × `viewHeight` units. */
  render(ctx: CanvasRenderingContext2D, view: View): void;
  /** The scene's size in drawing units. Default 600 × 400. */
  viewWidth?: number;
  viewHeight?: number;
  /** The keys participants play with. */
  keys?: KeyMap;
  /** One line telling participants which keys do what. */
  help?: string;
  /** What each action means (recorded in every episode's sidecar); default: their numbers. */
  actionNames?: string[];
}

export interface StepResult {
  /** One per player. */
  rewards: number[];
  /** The episode reached a terminal state. */
  terminated?: boolean;
  /** Named integers recorded as `infos.<name>` columns; the same names in the same order every step. */
  info?: Record<string, number>;
}

export interface View {
  width: number;
  height: number;
  /** This page's player, to mark "you". */
  playerIndex: number | null;
}

export interface CheckReport {
  ok: boolean;
  steps: number | null;
  /** The first problem found, or null. */
  problem: { step: number | null; check: 'shape' | 'round-trip' | 'step' | 'rollback' | 'determinism' | 'exception'; detail: string } | null;
}
