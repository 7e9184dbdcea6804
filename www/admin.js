// The admin console: the relay pushes the lobby's snapshot whenever it changes (server-sent
// events, `admin/events`); the study switch posts to `admin/study`. The token comes from this
// page's own address (`admin.html?token=...`, printed by `rollgym serve`). Every URL is
// relative to this page, so the console works behind a reverse proxy's path prefix.
const token = new URLSearchParams(location.search).get('token') ?? '';
const query = `token=${encodeURIComponent(token)}`;
const status = document.getElementById('admin-status');
const COLUMNS = ['index', 'id', 'kind', 'here', 'waiting', 'probing', 'games_validating', 'games_playing', 'timed_out'];
let open = null;

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

function renderProblems(problems) {
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

function render(snapshot) {
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
      td.textContent = String(scene[column]);
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
