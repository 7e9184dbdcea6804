//! A stored episode played back on a canvas, for the admin console: `new EpisodeReplay(csv,
//! sidecarJson)` re-simulates it with the same built-in environment, checks every row as it
//! goes (`verify()`: the first row the recording is not reproduced at, or `undefined`), and
//! `seek(row)` / `step()` / `draw(canvas)` play it back frame by frame.

use serde::Serialize;
use wasm_bindgen::prelude::*;
use web_sys::HtmlCanvasElement;

use crate::{
    replay::{Mismatch, Replayer, sidecar_facts},
    web::render::GameCanvas,
};

#[wasm_bindgen]
pub struct EpisodeReplay {
    replayer: Replayer,
}

impl std::fmt::Debug for EpisodeReplay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EpisodeReplay").field("rows", &self.replayer.rows()).finish()
    }
}

/// A mismatch as JavaScript sees it.
#[derive(Serialize)]
struct MismatchView<'a> {
    row: usize,
    t: &'a str,
    column: &'a str,
    recorded: &'a str,
    replayed: &'a str,
}

fn view(mismatch: &Mismatch) -> JsValue {
    let shown = MismatchView {
        row: mismatch.row,
        t: &mismatch.t,
        column: &mismatch.column,
        recorded: &mismatch.recorded,
        replayed: &mismatch.replayed,
    };
    to_js(&shown)
}

/// A value for JavaScript: JSON text parsed by `JSON.parse` (no second serializer in the module).
fn to_js(value: &impl Serialize) -> JsValue {
    serde_json::to_string(value)
        .ok()
        .and_then(|text| js_sys::JSON::parse(&text).ok())
        .unwrap_or(JsValue::UNDEFINED)
}

#[wasm_bindgen]
impl EpisodeReplay {
    /// Reads an episode's CSV and its sidecar (as stored); throws an Error saying why it cannot
    /// be replayed.
    #[wasm_bindgen(constructor)]
    pub fn new(csv: &str, sidecar_json: &str) -> Result<EpisodeReplay, JsValue> {
        let (settings, seed) = sidecar_facts(sidecar_json).map_err(|e| js_sys::Error::new(&e))?;
        let replayer =
            Replayer::new(csv, &settings, seed).map_err(|e| js_sys::Error::new(&e.to_string()))?;
        Ok(EpisodeReplay { replayer })
    }

    pub fn rows(&self) -> usize {
        self.replayer.rows()
    }

    pub fn position(&self) -> usize {
        self.replayer.position()
    }

    /// Replays the whole file from the start (the player's position is kept): the first row
    /// whose recording is not reproduced, or `undefined` when every row is.
    pub fn verify(&self) -> JsValue {
        let mut check = self.replayer.clone();
        check.seek(0);
        while let Some(checked) = check.step() {
            if let Err(mismatch) = checked {
                return view(&mismatch);
            }
        }
        JsValue::UNDEFINED
    }

    /// Goes to the state after `row` rows.
    pub fn seek(&mut self, row: usize) {
        self.replayer.seek(row);
    }

    /// Applies the next row; `false` at the end.
    pub fn step(&mut self) -> bool {
        self.replayer.step().is_some()
    }

    /// Draws the state now on `canvas`, with the row and step above it.
    pub fn draw(&self, canvas: HtmlCanvasElement) -> Result<(), JsValue> {
        let caption = format!(
            "Row {} of {} · t = {}",
            self.replayer.position(),
            self.replayer.rows(),
            self.replayer.t().unwrap_or("–")
        );
        GameCanvas::new(canvas)?.draw_scene(self.replayer.env(), &caption);
        Ok(())
    }
}
