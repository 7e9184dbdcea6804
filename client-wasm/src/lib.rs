//! rollgym-client: the participant's side of rollgym, compiled to WebAssembly.
//!
//! - [`core`]: sans-IO logic (session state machine, DataChannel messages, round trips),
//!   native-testable.
//! - `web` (wasm32 only): the only code that touches the browser (web-sys): the relay
//!   WebSocket, the RTCPeerConnection, the DOM and the `window.rollgym` test hook.

pub mod core;
pub mod env;

#[cfg(target_arch = "wasm32")]
mod web;
