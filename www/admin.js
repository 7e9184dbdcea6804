// The admin console: the relay pushes the lobby's snapshot whenever it changes (server-sent
// events, `admin/events`); the actions post to `admin/study`, `admin/end-game` and
// `admin/exclude`; a participant's timeline and files come from `admin/participant`, the data
// as a zip from `admin/download`, a running game live from `admin/watch` (`admin-watch.js`). The token comes from this page's own address
// (`admin.html?token=...`, printed by `rollgym serve`). Every URL is relative to this page, so
// the console works behind a reverse proxy's path prefix.
import { stopWatching, watchGame } from './admin-watch.js';

const token = new URLSearchParams(location.search).get('token') ?? '';
const query = `token=${encodeURIComponent(token)}`;
const status = document.getElementById('admin-status');
const COLUMNS = ['index', 'id', 'kind', 'here', 'waiting', 'probing', 'games_validating', 'games_playing', 'timed_out', 'group_size'];
let open = null;
// The latest snapshot, the participants table's search and sort, and the participant shown.
let latest = null;
let sortKey = 'since_ms';
let sortDescending = false;
let shownParticipant = null;

const text = (id, value) => {
  document.getElementById(id).textContent = String(value);
};
const seconds = (ms) => (ms == null ? '–' : `${(ms / 1000).toFixed(1)} s`);

function renderFunnel(funnel, scenes) {
  for (const key of ['arrived', 'waiting', 'timed_out', 'matched', 'played']) {
    text(`f-${key}`, funnel[key]);
  }
  const outcomes = Object.entries(funnel.outcomes).map(([name, n]) => `${name} ${n}`);
  text('f-outcomes', outcomes.length ? outcomes.join(', ') : '–');
  text('f-completion_rate', funnel.completion_rate == null ? '–' : `${Math.round(funnel.completion_rate * 100)} %`);
  text('f-waits', `${seconds(funnel.wait_median_ms)} / ${seconds(funnel.wait_p90_ms)}`);
  text('f-games', scenes.reduce((n, s) => n + s.games_playing, 0));
  open = funnel.open;
  text('study-state', open ? 'open to new arrivals' : 'closed to new arrivals');
  const toggle = document.getElementById('study-toggle');
  toggle.textContent = open ? 'Close to new arrivals' : 'Reopen to new arrivals';
  toggle.disabled = false;
}

const PROBLEM_NAMES = {
  stuck: 'stuck', unhealthy_game: 'game not healthy', desync: 'desync',
  parity_mismatch: 'parity mismatch', upload_refused: 'upload refused', data_missing: 'data missing',
};

function renderProblems(problems) {
  const found = problems.items.map((problem) => {
    const li = document.createElement('li');
    li.dataset.kind = problem.kind;
    const who = [problem.participant, problem.game && `game ${problem.game}`].filter(Boolean).join(', ');
    li.textContent = `${PROBLEM_NAMES[problem.kind] ?? problem.kind}: ${who} · ${problem.detail}`;
    return li;
  });
  document.getElementById('problems').replaceChildren(...(found.length ? found : [cell('li', 'none found')]));
  text('client-errors', problems.client_errors);
  const items = problems.recent_client_errors.slice(-10).reverse().map((report) => {
    const li = document.createElement('li');
    const when = report.time_ms ? new Date(report.time_ms).toLocaleTimeString() : '';
    const first = report.message.split('\n')[0];
    li.textContent = `${when} ${report.participant_id} (${report.kind.replace('_', ' ')}): ${first}`;
    return li;
  });
  document.getElementById('recent-client-errors').replaceChildren(...items);
}

function cell(tag, content) {
  const element = document.createElement(tag);
  if (content instanceof Node) element.append(content);
  else element.textContent = content == null ? '–' : String(content);
  return element;
}

function row(cells) {
  const tr = document.createElement('tr');
  tr.append(...cells.map((c) => (c instanceof HTMLTableCellElement ? c : cell('td', c))));
  return tr;
}

function button(label, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  b.addEventListener('click', onClick);
  return b;
}

function playerHealth(h) {
  const rtt = h.rtt_ms == null ? '–' : `${h.rtt_ms} ms`;
  return `${h.participant}: ${rtt} · ${h.connection ?? '–'} · ${h.rollbacks_per_s} · ${h.frames_behind} · ${h.desyncs} · ${h.episode}/${h.frame}`;
}

function renderGames(snapshot) {
  const running = snapshot.games.map((game) => {
    const health = cell('td', game.flag + (game.reasons.length ? ` (${game.reasons.join(', ')})` : ''));
    health.className = `flag-${game.flag}`;
    const end = button('End game', () => act('admin/end-game', { game_id: game.id }, `game ${game.id} ended`));
    end.className = 'end-game';
    const watch = button('Watch', () => watchGame(game.id, query));
    watch.className = 'watch';
    const actions = cell('td', watch);
    actions.append(' ', end);
    return row([game.id, game.scene, game.state, seconds(snapshot.now_ms - game.since_ms),
      health, game.health.map(playerHealth).join(' | ') || 'no report yet', actions]);
  });
  document.getElementById('games').replaceChildren(...running);
  const finished = snapshot.finished_games.map((game) => {
    const parity = Object.entries(game.parity).map(([episode, equal]) => `${episode}: ${equal ? 'equal' : 'DIFFERENT'}`);
    return row([game.id, game.scene, game.players.join(', '), seconds(game.ended_ms - game.started_ms),
      game.outcomes.map((o) => o ?? '…').join(', '), parity.join(', ') || '…']);
  });
  document.getElementById('finished-games').replaceChildren(...finished);
}

const PARTICIPANT_COLUMNS = [
  ['id', 'id'], ['scene', 'scene'], ['phase', 'phase'], ['since_ms', 'for'],
  ['server_rtt_ms', 'server round trip'], ['game', 'game'], ['partners', 'partners'],
  ['uploads_stored', 'uploads stored / refused / pending'], ['outcome', 'outcome'],
];

function renderParticipantsHead() {
  const cells = PARTICIPANT_COLUMNS.map(([key, label]) => {
    const th = cell('th', label + (key === sortKey ? (sortDescending ? ' ▼' : ' ▲') : ''));
    th.dataset.sort = key;
    th.addEventListener('click', () => {
      sortDescending = key === sortKey ? !sortDescending : false;
      sortKey = key;
      renderParticipantsHead();
      if (latest) renderParticipants(latest);
    });
    return th;
  });
  document.getElementById('participants-head').replaceChildren(row([...cells, cell('th', '')]));
}

function renderParticipants(snapshot) {
  const search = document.getElementById('watch-stop').addEventListener('click', () => {
  stopWatching();
  document.getElementById('watch').hidden = true;
});

document.getElementById('participant-search').value.trim().toLowerCase();
  const matches = snapshot.participants.filter((p) =>
    !search || [p.id, p.phase, p.game, p.partners?.join(' '), p.outcome].some((v) => v && String(v).toLowerCase().includes(search)));
  const value = (p) => p[sortKey] ?? '';
  matches.sort((a, b) => (value(a) < value(b) ? -1 : value(a) > value(b) ? 1 : 0) * (sortDescending ? -1 : 1));
  const rows = matches.map((p) => {
    const id = button(p.id, () => showParticipant(p.id));
    id.className = 'link';
    const uploads = `${p.uploads_stored} / ${p.uploads_refused} / ${p.pending_uploads ?? '–'}`;
    const exclude = button('Exclude', () => act('admin/exclude', {
      participant_id: p.id, message: document.getElementById('exclude-message').value,
    }, `${p.id} excluded`));
    const tr = row([cell('td', id), p.scene, p.phase, seconds(snapshot.now_ms - p.since_ms),
      p.server_rtt_ms == null ? null : `${p.server_rtt_ms} ms`, p.game, p.partners?.join(', '), uploads, p.outcome,
      cell('td', exclude)]);
    tr.dataset.participant = p.id;
    return tr;
  });
  document.getElementById('participants').replaceChildren(...rows);
}

async function showParticipant(id) {
  shownParticipant = id;
  const response = await fetch(`admin/participant?${query}&id=${encodeURIComponent(id)}`, { cache: 'no-store' });
  if (!response.ok) {
    text('action-result', `Cannot show ${id}: ${await response.text()}`);
    return;
  }
  const detail = await response.json();
  text('detail-id', detail.id);
  const steps = detail.timeline.map((step) =>
    cell('li', `${seconds(step.at_ms)} after the relay started: ${step.phase} in scene ${step.scene}${step.game ? ` (game ${step.game})` : ''}`));
  document.getElementById('detail-timeline').replaceChildren(...steps);
  const files = detail.files.map((file) => {
    const li = cell('li', file);
    if (file.endsWith('.csv')) li.append(' ', button('Replay', () => openReplay(file)));
    return li;
  });
  document.getElementById('detail-files').replaceChildren(...(files.length ? files : [cell('li', 'none yet')]));
  document.getElementById('participant-detail').hidden = false;
}

// Posts an action with the shared reason; shows what happened.
async function act(path, body, done) {
  const reason = document.getElementById('action-reason').value;
  const response = await fetch(`${path}?${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, reason }),
  }).catch((err) => ({ ok: false, text: async () => err.message }));
  if (!response.ok) {
    text('action-result', `Failed: ${await response.text()}`);
    return;
  }
  text('action-result', done);
  render(await response.json());
  if (shownParticipant) showParticipant(shownParticipant);
}

function renderDownloads(scenes) {
  document.getElementById('download-all').href = `admin/download?${query}`;
  const links = scenes.filter((s) => s.kind === 'gym').map((s) => {
    const a = document.createElement('a');
    a.href = `admin/download?${query}&scene=${encodeURIComponent(s.id)}`;
    a.textContent = s.id;
    a.download = '';
    return a;
  });
  const holder = document.getElementById('download-scenes');
  holder.replaceChildren(...(links.length ? ['· one scene: ', ...links.flatMap((a, i) => (i ? [', ', a] : [a]))] : []));
}

function render(snapshot) {
  latest = snapshot;
  renderGames(snapshot);
  renderParticipants(snapshot);
  renderDownloads(snapshot.scenes);
  text('experiment', snapshot.experiment);
  text('connected', snapshot.connected);
  text('returning', snapshot.returning);
  text('progress', snapshot.progress_recorded);
  text('screening', snapshot.screening);
  text('screened-in', snapshot.screened_in);
  text('screened-out', snapshot.screened_out);
  text('f-screened_out', snapshot.screened_out);
  text('loading-failed', snapshot.loading_failed);
  renderFunnel(snapshot.funnel, snapshot.scenes);
  renderProblems(snapshot.problems);
  const rows = snapshot.scenes.map((scene) => {
    const tr = document.createElement('tr');
    for (const column of COLUMNS) {
      const td = document.createElement('td');
      td.textContent = String(scene[column] ?? '–');
      tr.append(td);
    }
    return tr;
  });
  document.getElementById('scenes').replaceChildren(...rows);
  status.textContent = `Live · updated ${new Date().toLocaleTimeString()}`;
}

async function listen() {
  // An EventSource cannot read a refusal's status: ask once, so a wrong token is explained.
  const check = await fetch(`admin/status?${query}`, { cache: 'no-store' }).catch(() => null);
  if (check?.status === 401) {
    status.textContent = 'This address has a wrong or missing token: use the admin address rollgym printed.';
    return;
  }
  const events = new EventSource(`admin/events?${query}`);
  events.onmessage = (event) => render(JSON.parse(event.data));
  // EventSource reconnects by itself; say so meanwhile.
  events.onerror = () => {
    status.textContent = 'Cannot reach the relay; reconnecting…';
  };
}

// The replay player: the episode re-simulated in this page with the participants' own wasm
// environment, every row's recorded state hash checked, then played back on a canvas.
const replay = { player: null, fps: 30, timer: null };

async function stored(file) {
  const response = await fetch(`admin/file?${query}&path=${encodeURIComponent(file)}`, { cache: 'no-store' });
  if (!response.ok) throw new Error(await response.text());
  return response.text();
}

async function openReplay(file) {
  stopReplay();
  const verdict = document.getElementById('replay-verdict');
  document.getElementById('replay').hidden = false;
  text('replay-file', file);
  verdict.textContent = 'Replaying…';
  delete verdict.dataset.verified;
  try {
    const [csv, sidecar] = await Promise.all([stored(file), stored(file.replace(/\.csv$/, '.json'))]);
    // The console's own build of the module: the participants' environments plus the player.
    const module = await import('./console-pkg/rollgym_client.js');
    await module.default();
    const { EpisodeReplay } = module;
    replay.player?.free();
    replay.player = new EpisodeReplay(csv, sidecar);
    replay.fps = JSON.parse(sidecar).settings?.fps || 30;
  } catch (err) {
    verdict.textContent = `Cannot replay ${file}: ${err.message}`;
    verdict.dataset.verified = 'unknown';
    return;
  }
  const player = replay.player;
  const mismatch = player.verify();
  verdict.dataset.verified = mismatch ? 'false' : 'true';
  verdict.dataset.mismatchRow = mismatch ? String(mismatch.row) : '';
  verdict.textContent = mismatch
    ? `Not reproduced from row ${mismatch.row} (t = ${mismatch.t}): ${mismatch.column} recorded ${mismatch.recorded}, replayed ${mismatch.replayed}`
    : `Every one of ${player.rows()} rows reproduced: the recorded actions give every recorded state hash.`;
  const scrub = document.getElementById('replay-scrub');
  scrub.max = String(player.rows());
  showRow(mismatch ? mismatch.row : 0);
}

function showRow(row) {
  const player = replay.player;
  if (!player) return;
  player.seek(row);
  player.draw(document.getElementById('replay-canvas'));
  document.getElementById('replay-scrub').value = String(player.position());
  text('replay-position', `row ${player.position()} of ${player.rows()}`);
}

function stopReplay() {
  clearInterval(replay.timer);
  replay.timer = null;
  document.getElementById('replay-play').textContent = 'Play';
}

document.getElementById('replay-play').addEventListener('click', () => {
  if (replay.timer) return stopReplay();
  const player = replay.player;
  if (!player) return;
  if (player.position() >= player.rows()) showRow(0);
  const speed = Number(document.getElementById('replay-speed').value);
  document.getElementById('replay-play').textContent = 'Pause';
  replay.timer = setInterval(() => {
    if (!player.step()) return stopReplay();
    showRow(player.position());
  }, 1000 / (replay.fps * speed));
});
document.getElementById('replay-speed').addEventListener('change', () => {
  if (replay.timer) {
    stopReplay();
    document.getElementById('replay-play').click();
  }
});
document.getElementById('replay-scrub').addEventListener('input', (event) => {
  stopReplay();
  showRow(Number(event.target.value));
});

document.getElementById('participant-search').addEventListener('input', () => {
  if (latest) renderParticipants(latest);
});
renderParticipantsHead();

document.getElementById('study-switch').addEventListener('submit', async (event) => {
  event.preventDefault();
  if (open === null) return;
  const reason = document.getElementById('study-reason').value;
  const response = await fetch(`admin/study?${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ open: !open, reason }),
  }).catch((err) => ({ ok: false, text: async () => err.message }));
  if (!response.ok) {
    status.textContent = `The study switch failed: ${await response.text()}`;
    return;
  }
  render(await response.json());
});

listen();
