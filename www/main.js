// The participant page: one user of the embedding API (pkg/rollgym.js), like any researcher's
// page. Until the session runs, `window.rollgym` says it is loading; if it cannot start, the
// page says why.
import { start } from './pkg/rollgym.js';

window.rollgym = Object.freeze({ phase: 'loading' });
const app = document.getElementById('app');

start({ container: app }).catch((err) => {
  const message = `The experiment could not start in this browser: ${err?.message ?? err}`;
  window.rollgym = Object.freeze({ phase: 'error', lastError: message });
  const notice = document.createElement('div');
  notice.className = 'rollgym-notice';
  notice.setAttribute('role', 'alertdialog');
  const box = notice.appendChild(document.createElement('div'));
  box.appendChild(document.createElement('h2')).textContent = 'Something went wrong';
  box.appendChild(document.createElement('p')).textContent = message;
  app.replaceChildren(notice);
});
