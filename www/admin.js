// The admin page: polls the relay's lobby counts every two seconds. The token comes from this
// page's own address (`admin.html?token=...`, printed by `rollgym serve`).
const token = new URLSearchParams(location.search).get('token') ?? '';
const status = document.getElementById('admin-status');
const COLUMNS = ['index', 'id', 'kind', 'here', 'waiting', 'probing', 'games_validating', 'games_playing', 'timed_out'];

function render(snapshot) {
  document.getElementById('experiment').textContent = snapshot.experiment;
  document.getElementById('connected').textContent = snapshot.connected;
  document.getElementById('returning').textContent = snapshot.returning;
  document.getElementById('progress').textContent = snapshot.progress_recorded;
  document.getElementById('screening').textContent = snapshot.screening;
  document.getElementById('screened-in').textContent = snapshot.screened_in;
  document.getElementById('screened-out').textContent = snapshot.screened_out;
  document.getElementById('loading-failed').textContent = snapshot.loading_failed;
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
  status.textContent = `Updated ${new Date().toLocaleTimeString()}`;
}

async function poll() {
  try {
    const response = await fetch(`/admin/status?token=${encodeURIComponent(token)}`, { cache: 'no-store' });
    if (response.status === 401) {
      status.textContent = 'This address has a wrong or missing token: use the admin address rollgym printed.';
      return; // no point asking again with the same token
    }
    if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
    render(await response.json());
  } catch (err) {
    status.textContent = `Cannot reach the relay (${err.message}); retrying…`;
  }
  setTimeout(poll, 2000);
}

poll();
