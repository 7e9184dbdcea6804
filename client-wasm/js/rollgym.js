// rollgym's embedding API: start a real-time multiplayer session in any page.
//
//   import { start } from '/pkg/rollgym.js';
//   const session = await start({ container: document.getElementById('game') });
//   session.on('phase', ({ phase }) => console.log(phase));
//   const result = await session.finished;
//
// Types and every option: rollgym.d.ts. The session itself (netcode, recorder, relay
// connection, page elements) is the wasm module; this file is the thin, typed front.
import init, { launch, stateHash, validateEnv } from './rollgym_client.js';

let loading;

/** Loads the wasm module once; every API function awaits it. */
export function load() {
  loading ??= init();
  return loading;
}

const KINDS = new Set(['phase', 'episode', 'finished']);

/** How long start() waits for the module by default (`loadingTimeoutMs`). */
const LOADING_TIMEOUT_MS = 30_000;

export async function start(options = {}) {
  const limit = options.loadingTimeoutMs ?? LOADING_TIMEOUT_MS;
  if (!(Number.isFinite(limit) && limit > 0)) {
    throw new TypeError('rollgym: options.loadingTimeoutMs must be a positive number of milliseconds');
  }
  // A module that never arrives (a stalled network) must not leave the page hanging silently.
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`rollgym: the study did not load within ${limit / 1000} s; please check your connection and reload the page`)), limit);
  });
  try {
    await Promise.race([load(), late]);
  } finally {
    clearTimeout(timer);
  }
  addStyles(options.container?.ownerDocument ?? document);
  // Page data a closed or offline page could not deliver goes now.
  if (readPending().length > 0) void flushPending(null);
  const listeners = new Map([...KINDS].map((k) => [k, new Set()]));
  let settle;
  const finished = new Promise((resolve) => (settle = resolve));
  let handle;
  const emit = (kind, payload) => {
    if (kind === 'finished') settle(payload);
    for (const listener of listeners.get(kind) ?? []) {
      try {
        listener(payload);
      } catch (err) {
        console.error(`rollgym: a '${kind}' listener threw`, err);
      }
    }
  };
  handle = launch({ ...options, emit });
  const stopReporting = reportErrors(options.relay);
  return Object.freeze({
    on(kind, listener) {
      if (!KINDS.has(kind)) throw new TypeError(`rollgym: unknown event '${kind}'; one of ${[...KINDS].join(', ')}`);
      if (typeof listener !== 'function') throw new TypeError('rollgym: a listener must be a function');
      listeners.get(kind).add(listener);
      return () => listeners.get(kind).delete(listener);
    },
    finished,
    destroy() {
      stopReporting();
      if (handle) {
        handle.destroy();
        handle.free();
        handle = undefined;
      }
      for (const set of listeners.values()) set.clear();
    },
  });
}

/**
 * Checks what rollgym needs of a JavaScript environment and reports the first problem:
 * its shape; state bytes unchanged by setState(getState()); a rollback (restore a saved state
 * and step again) reproducing the same states; and two runs from one seed with one action
 * sequence giving equal state hashes.
 */
export async function checkEnv(env, { steps = 1000, seed = 1 } = {}) {
  await load();
  try {
    validateEnv(env);
  } catch (err) {
    return { ok: false, steps: 0, problem: { step: null, check: 'shape', detail: err.message } };
  }
  // A fixed, varied action sequence (the same for every run).
  const actions = (t) =>
    Array.from({ length: env.numPlayers }, (_, i) => ((t * 7 + i * 13 + (t >> 4)) * 2654435761 >>> 0) % env.numActions);
  const hashOf = () => stateHash(copy(env.getState()));
  const problem = (step, check, detail) => ({ ok: false, steps: step, problem: { step, check, detail } });
  const run = (record) => {
    env.reset(seed);
    const hashes = [hashOf()];
    for (let t = 0; t < steps; t++) {
      const before = copy(env.getState());
      env.setState(copy(before));
      const again = copy(env.getState());
      if (!sameBytes(before, again)) return problem(t, 'round-trip', 'getState() after setState(getState()) gave other bytes');
      const result = env.step(actions(t));
      if (!result || !Array.isArray(result.rewards)) return problem(t, 'step', 'step() must return { rewards: [...], terminated, info }');
      hashes.push(hashOf());
      if (record && t % 25 === 24) {
        // Roll back five steps and play them again: the same states must follow.
        const saved = record.saved.get(t - 5);
        if (saved) {
          env.setState(copy(saved));
          for (let u = t - 4; u <= t; u++) env.step(actions(u));
          if (hashOf() !== hashes[t + 1]) return problem(t, 'rollback', `replaying steps ${t - 4}..${t} from a saved state gave another state`);
        }
      }
      if (record) record.saved.set(t, copy(env.getState()));
      if (result.terminated) env.reset(seed + t + 1);
    }
    return hashes;
  };
  try {
    const first = run({ saved: new Map() });
    if (!Array.isArray(first)) return first;
    const second = run(null);
    if (!Array.isArray(second)) return second;
    const differs = first.findIndex((h, i) => h !== second[i]);
    if (differs >= 0) return problem(Math.max(0, differs - 1), 'determinism', `two runs from seed ${seed} differ after step ${differs - 1}: ${first[differs]} vs ${second[differs]}`);
    return { ok: true, steps, problem: null };
  } catch (err) {
    return problem(null, 'exception', String(err?.stack ?? err));
  }
}

/** The stylesheet of what rollgym draws, next to this module (a file, so a strict CSP allows it). */
function addStyles(doc) {
  if (doc.getElementById('rollgym-style')) return;
  const link = doc.createElement('link');
  link.id = 'rollgym-style';
  link.rel = 'stylesheet';
  link.href = new URL('./rollgym.css', import.meta.url).href;
  doc.head.prepend(link);
}

function copy(bytes) {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('getState() must return a Uint8Array');
  return new Uint8Array(bytes);
}

function sameBytes(a, b) {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export { stateHash };

const PAGES_KEY = 'rollgym.pages';

/**
 * Stores `data` (anything JSON) on the relay as `data/<experiment>/pages/<participant>_<name>.json`,
 * next to the game data. Resolves `{ stored: true }` once it is on disk. Until then it is kept
 * in this browser (localStorage) and sent again on the next saveData() or start() of a page of
 * this study; `{ stored: false, pending, error }` says so.
 */
export async function saveData(name, data, { relay, participantId } = {}) {
  const participant = participantId ?? knownParticipant();
  if (!participant) throw new TypeError('rollgym.saveData: no participant id; pass { participantId }');
  if (typeof name !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(name)) {
    throw new TypeError('rollgym.saveData: name must be 1 to 64 letters, digits, - or _');
  }
  const url = pagesUrl(relay);
  const pending = readPending().filter((p) => !(p.body.participant_id === participant && p.body.name === name));
  pending.push({ url, body: { participant_id: participant, name, data } });
  writePending(pending);
  return flushPending({ participant, name });
}

/** Sends every page's data still kept in this browser; resolves with the outcome of `which`. */
async function flushPending(which) {
  let outcome = { stored: false, pending: 0, error: null };
  for (const entry of readPending()) {
    let result;
    try {
      const response = await fetch(entry.url, {
        method: 'POST',
        // A simple request: no preflight when the relay is on another origin.
        headers: { 'Content-Type': 'text/plain' },
        body: JSON.stringify(entry.body),
      });
      const reply = await response.json().catch(() => ({}));
      // Refused for good (malformed, a stranger): dropped, not retried forever.
      const final = response.ok || (response.status >= 400 && response.status < 500);
      result = { stored: response.ok && reply.stored === true, final, error: response.ok ? null : reply.message ?? `HTTP ${response.status}` };
    } catch (err) {
      result = { stored: false, final: false, error: String(err?.message ?? err) };
    }
    if (result.final) {
      writePending(readPending().filter((p) => !(p.body.participant_id === entry.body.participant_id && p.body.name === entry.body.name)));
    }
    if (which && entry.body.participant_id === which.participant && entry.body.name === which.name) {
      outcome = { stored: result.stored, error: result.error };
    }
  }
  return { ...outcome, pending: readPending().length };
}

function readPending() {
  try {
    return JSON.parse(localStorage.getItem(PAGES_KEY) ?? '[]');
  } catch {
    return [];
  }
}

function writePending(pending) {
  try {
    localStorage.setItem(PAGES_KEY, JSON.stringify(pending));
  } catch (err) {
    console.warn('rollgym: cannot keep page data in browser storage', err);
  }
}

/** The participant of this tab: from the page address, else the one the relay assigned. */
function knownParticipant() {
  const params = new URLSearchParams(location.search);
  return params.get('PROLIFIC_PID') ?? params.get('participant') ?? sessionStorage.getItem('rollgym.participant');
}

function pagesUrl(relay, path = '/data/pages') {
  if (!relay) return new URL(path, location.href).href;
  const url = new URL(relay);
  url.protocol = url.protocol.replace(/^ws/, 'http');
  url.pathname = path;
  return url.href;
}

/** Reports sent per page at most (the relay keeps twenty a minute per participant). */
const MAX_REPORTS = 50;

/**
 * Sends the page's uncaught errors, unhandled rejections and console.error lines to the relay
 * (the admin console's problems, `client_errors.jsonl`), fire and forget; returns the function
 * that stops it.
 */
function reportErrors(relay) {
  const url = pagesUrl(relay, '/data/client-errors');
  let left = MAX_REPORTS;
  const send = (kind, message, source = null) => {
    const participant = knownParticipant();
    if (!participant || left <= 0) return;
    left -= 1;
    const body = JSON.stringify({ participant_id: participant, kind, message: String(message).slice(0, 1000), source });
    fetch(url, { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body, keepalive: true }).catch(() => {});
  };
  const onError = (e) => send('error', e.error?.stack ?? e.message, e.filename ? `${e.filename}:${e.lineno}` : null);
  const onRejection = (e) => send('unhandled_rejection', e.reason?.stack ?? e.reason);
  const original = console.error;
  const wrapped = (...args) => {
    send('console_error', args.map((a) => a?.stack ?? (typeof a === 'object' ? safeJson(a) : String(a))).join(' '));
    original.apply(console, args);
  };
  console.error = wrapped;
  addEventListener('error', onError);
  addEventListener('unhandledrejection', onRejection);
  return () => {
    removeEventListener('error', onError);
    removeEventListener('unhandledrejection', onRejection);
    if (console.error === wrapped) console.error = original;
  };
}

function safeJson(value) {
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}
