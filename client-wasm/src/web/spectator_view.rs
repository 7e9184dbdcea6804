//! A running game watched live, for the admin console: `new GameSpectator(startJson)` with the
//! `start` event of `GET /admin/watch`, `push(framesJson)` with each `frames` event,
//! `advance(performance.now())` and `draw(canvas)` on every animation frame. The JSON texts
//! are decoded here, so the 64-bit seeds and hashes never pass through JavaScript numbers.

use rollgym_protocol::{SpectateFrames, SpectateStart};
use wasm_bindgen::prelude::*;
use web_sys::HtmlCanvasElement;

use crate::{replay::Spectator, web::render::GameCanvas};

#[wasm_bindgen]
pub struct GameSpectator {
    spectator: Spectator,
    /// `performance.now()` of the last `advance`.
    last_ms: Option<f64>,
}

impl std::fmt::Debug for GameSpectator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GameSpectator").field("shown", &self.spectator.shown()).finish()
    }
}

fn error(message: impl std::fmt::Display) -> JsValue {
    js_sys::Error::new(&message.to_string()).into()
}

#[wasm_bindgen]
impl GameSpectator {
    /// Builds the game the `start` event describes; throws an Error saying why it cannot be
    /// watched (an environment that is not built in).
    #[wasm_bindgen(constructor)]
    pub fn new(start_json: &str) -> Result<GameSpectator, JsValue> {
        let start: SpectateStart = serde_json::from_str(start_json)
            .map_err(|e| error(format!("not a watch start: {e}")))?;
        let spectator = Spectator::new(&start.settings).map_err(error)?;
        Ok(GameSpectator { spectator, last_ms: None })
    }

    /// Queues a `frames` event's rows; throws when they do not continue the last ones (the
    /// console should watch again).
    pub fn push(&mut self, frames_json: &str) -> Result<(), JsValue> {
        let batch: SpectateFrames = serde_json::from_str(frames_json)
            .map_err(|e| error(format!("not a frames batch: {e}")))?;
        self.spectator.push(&batch).map_err(error)
    }

    /// Shows the rows due at `now_ms` (`performance.now()`); returns how many.
    pub fn advance(&mut self, now_ms: f64) -> usize {
        let elapsed = self.last_ms.map_or(0.0, |last| now_ms - last);
        self.last_ms = Some(now_ms);
        self.spectator.advance(elapsed)
    }

    /// The game frame of the row shown last (`undefined` before the first).
    pub fn frame(&self) -> Option<i32> {
        self.spectator.shown().map(|(_, _, frame)| frame)
    }

    pub fn episode(&self) -> Option<u32> {
        self.spectator.shown().map(|(episode, _, _)| episode)
    }

    /// Rows received but not shown yet.
    pub fn behind(&self) -> usize {
        self.spectator.behind()
    }

    /// Batches whose final state hash the simulation reproduced or not (every shown one).
    pub fn checked(&self) -> f64 {
        self.spectator.checked() as f64
    }

    /// The first batch whose state hash the simulation did not reproduce, described.
    pub fn mismatch(&self) -> Option<String> {
        self.spectator.mismatch().map(|m| {
            format!(
                "episode {} step {}: the players' state hash is {:016x}, this simulation's {:016x}",
                m.episode, m.t, m.expected, m.simulated
            )
        })
    }

    /// Draws the game as shown, with where it is above it.
    pub fn draw(&self, canvas: HtmlCanvasElement) -> Result<(), JsValue> {
        let caption = match self.spectator.shown() {
            Some((episode, t, frame)) => format!("Episode {episode} · t = {t} · frame {frame}"),
            None => "Waiting for the first rows…".to_owned(),
        };
        GameCanvas::new(canvas)?.draw_scene(self.spectator.env(), &caption);
        Ok(())
    }
}
