// Loads the rollgym client. The wasm module takes over `window.rollgym` and the page once it
// runs; until then the page says it is loading, and if loading fails it says so.
import init from './pkg/rollgym_client.js';

window.rollgym = Object.freeze({ phase: 'loading' });

init().catch((err) => {
  const message = `The experiment could not start in this browser: ${err}`;
  window.rollgym = Object.freeze({ phase: 'error', lastError: message });
  document.getElementById('status').textContent = message;
  document.getElementById('notice-title').textContent = 'Something went wrong';
  document.getElementById('notice-text').textContent = message;
  document.getElementById('notice').hidden = false;
});
