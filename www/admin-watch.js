// Watching a running game live: the relay streams the rows one player's page forwards
// (`admin/watch`), this page's console build of the module re-simulates them with the same
// environment, checks the players' state hash at the end of every batch, and draws the game
// about one batch (200 ms) behind the players.
//
// The panel's dataset says what a test (or a curious researcher) needs: `frame` and `episode`
// shown, `checked` batches, `mismatch`, `bytes` of rows received and `since` (when watching
// began, performance.now()), `ended` with the reason.

const watching = { spectator: null, events: null, animation: 0 };

function panel() {
  return document.getElementById('watch');
}

function say(message) {
  document.getElementById('watch-status').textContent = message;
}

/// Stops watching (closing the stream tells the relay, which stops the page's feed).
export function stopWatching() {
  watching.events?.close();
  watching.events = null;
  cancelAnimationFrame(watching.animation);
  watching.spectator?.free();
  watching.spectator = null;
}

function ended(reason) {
  const why = {
    over: 'The game is over.',
    lagged: 'This console fell too far behind; press Watch again.',
    shutdown: 'The relay is stopping.',
  }[reason] ?? `The stream ended (${reason}).`;
  panel().dataset.ended = reason;
  say(why);
  watching.events?.close();
  watching.events = null;
}

function show() {
  const spectator = watching.spectator;
  if (!spectator) return;
  spectator.advance(performance.now());
  spectator.draw(document.getElementById('watch-canvas'));
  const data = panel().dataset;
  const frame = spectator.frame();
  if (frame !== undefined) {
    data.frame = String(frame);
    data.episode = String(spectator.episode());
  }
  data.checked = String(spectator.checked());
  const mismatch = spectator.mismatch();
  if (mismatch) {
    data.mismatch = mismatch;
    say(`Not the game being played: ${mismatch}`);
  }
  watching.animation = requestAnimationFrame(show);
}

/// Starts watching `gameId` (stops any other game watched first).
export async function watchGame(gameId, query) {
  stopWatching();
  const element = panel();
  element.hidden = false;
  for (const key of Object.keys(element.dataset)) delete element.dataset[key];
  document.getElementById('watch-game').textContent = gameId;
  say('Connecting…');
  let module;
  try {
    module = await import('./console-pkg/rollgym_client.js');
    await module.default();
  } catch (err) {
    say(`Cannot load the console's module: ${err.message}`);
    return;
  }
  const events = new EventSource(`admin/watch?${query}&game=${encodeURIComponent(gameId)}`);
  watching.events = events;
  element.dataset.since = String(performance.now());
  element.dataset.bytes = '0';
  events.addEventListener('start', (event) => {
    try {
      watching.spectator = new module.GameSpectator(event.data);
    } catch (err) {
      say(`This game cannot be watched: ${err.message}`);
      events.close();
      return;
    }
    say('Live: each batch of rows is checked against the players\u2019 state hash.');
    watching.animation = requestAnimationFrame(show);
  });
  events.addEventListener('frames', (event) => {
    element.dataset.bytes = String(Number(element.dataset.bytes) + event.data.length);
    try {
      watching.spectator?.push(event.data);
    } catch (err) {
      say(`Rows were lost (${err.message}); press Watch again.`);
      events.close();
    }
  });
  events.addEventListener('end', (event) => ended(JSON.parse(event.data).reason));
  events.onerror = () => {
    // A refused watch (the game just ended) or a dropped connection: not retried, the
    // researcher presses Watch again.
    if (!element.dataset.ended) ended('closed');
  };
}
