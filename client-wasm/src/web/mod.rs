//! The browser adapter: the only code that touches web-sys. It turns browser events into
//! [`crate::core::session::Input`]s and carries out the resulting commands.
//!
//! What JavaScript sees (the package's `rollgym.js` wraps it into the embedding API):
//! `launch(options)` starts a session and returns its handle, `stateHash(bytes)` is the hash
//! rollgym computes over state bytes, `validateEnv(env)` checks a JavaScript environment's
//! shape as `launch` does. The console's build (feature `console`) adds `EpisodeReplay`, which
//! plays a stored episode back, and `GameSpectator`, which shows a running game live.

mod app;
mod clock;
mod events;
mod hook;
mod js_env;
mod keyboard;
mod options;
mod peer;
mod relay_socket;
mod render;
#[cfg(feature = "console")]
mod replay_view;
mod screen;
mod screening;
#[cfg(feature = "console")]
mod spectator_view;
mod storage;

use wasm_bindgen::prelude::*;

/// A running session. `destroy()` ends it and releases everything it holds (connections,
/// the game clock's worker, listeners, the elements it added to the page).
#[wasm_bindgen]
pub struct SessionHandle(Option<app::Dispatch>);

impl std::fmt::Debug for SessionHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionHandle").field("running", &self.0.is_some()).finish()
    }
}

#[wasm_bindgen]
impl SessionHandle {
    pub fn destroy(&mut self) {
        self.0 = None;
    }
}

/// Starts a session (see `rollgym.d.ts` for the options).
#[wasm_bindgen]
pub fn launch(options: JsValue) -> Result<SessionHandle, JsValue> {
    app::launch(&options).map(|dispatch| SessionHandle(Some(dispatch)))
}

/// rollgym's state hash (64-bit FNV-1a) of `bytes`, as 16 hex digits.
#[wasm_bindgen(js_name = stateHash)]
pub fn state_hash(bytes: &[u8]) -> String {
    format!("{:016x}", crate::env::hash::fnv1a64(bytes))
}

/// Throws a `TypeError` naming the first problem with a JavaScript environment's shape.
#[wasm_bindgen(js_name = validateEnv)]
pub fn validate_env(env: JsValue) -> Result<(), JsValue> {
    js_env::JsEnvSource::read(&env).map(|_| ()).map_err(|e| js_sys::TypeError::new(&e).into())
}
