//! The session's events for the embedding page: `emit(kind, payload)` on the function the
//! JavaScript wrapper passed, which turns them into `session.on(...)` callbacks and the
//! `session.finished` promise.
//!
//! - `phase`: `{ phase, status }` whenever the phase changes.
//! - `episode`: an [`EpisodeSummary`] once an episode is confirmed (the same on every peer).
//! - `finished`: the [`SessionResult`], once, when the session is over, its partner has said
//!   it finished too (or had five seconds to) and its data is stored (or has waited
//!   [`DATA_WAIT_MS`] for the relay, so an embedding page never hangs).

use std::cell::Cell;

use js_sys::{Function, JSON, Object, Reflect};
use serde::Serialize;
use wasm_bindgen::JsValue;

use crate::core::status::Status;

/// How long an ended session waits for the relay to acknowledge its data before it reports
/// `finished` anyway (with `dataStored: false`; the browser keeps the data and re-sends it).
const DATA_WAIT_MS: f64 = 10_000.0;

pub(super) struct Emitter {
    emit: Option<Function>,
    /// When the session was first seen over.
    over_since: Cell<Option<f64>>,
    finished: Cell<bool>,
}

impl Emitter {
    pub(super) fn new(emit: Option<Function>) -> Self {
        Self { emit, over_since: Cell::new(None), finished: Cell::new(false) }
    }

    /// A new status was published; `before` is the one published last.
    pub(super) fn changed(&self, before: Option<&Status>, status: &Status) {
        if self.emit.is_none() {
            return;
        }
        if before.map(|b| b.phase) != Some(status.phase) {
            let payload = Object::new();
            let _ = Reflect::set(&payload, &"phase".into(), &to_js(&status.phase));
            let _ = Reflect::set(&payload, &"status".into(), &to_js(status));
            self.send("phase", &payload.into());
        }
        // A new game starts its list afresh.
        let seen =
            before.map_or(0, |b| if b.game_id == status.game_id { b.episodes.len() } else { 0 });
        for episode in status.episodes.iter().skip(seen) {
            self.send("episode", &to_js(episode));
        }
    }

    /// After every job: reports `finished` once the session is over, its data stored (or
    /// waited for) and the partner released (a page that closes on `finished` must not cut
    /// off a partner still waiting for our last inputs); `code` is the game's completion code.
    pub(super) fn poll(&self, status: &Status, code: Option<&str>, released: bool, now_ms: f64) {
        if self.finished.get() || self.emit.is_none() {
            return;
        }
        if !status.is_over() || !released {
            self.over_since.set(None);
            return;
        }
        let since = self.over_since.get().unwrap_or(now_ms);
        self.over_since.set(Some(since));
        if status.data_stored() || now_ms - since >= DATA_WAIT_MS {
            self.finished.set(true);
            self.send("finished", &to_js(&status.result(code)));
        }
    }

    fn send(&self, kind: &str, payload: &JsValue) {
        let Some(emit) = &self.emit else { return };
        // The page's callbacks are its own business: an exception there is reported, never
        // allowed to break the session.
        if let Err(err) = emit.call2(&JsValue::NULL, &kind.into(), payload) {
            web_sys::console::error_2(&format!("rollgym: a '{kind}' listener threw").into(), &err);
        }
    }
}

fn to_js(value: &impl Serialize) -> JsValue {
    serde_json::to_string(value)
        .ok()
        .and_then(|json| JSON::parse(&json).ok())
        .unwrap_or(JsValue::NULL)
}
