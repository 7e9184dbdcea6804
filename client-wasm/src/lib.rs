//! rollgym-client: the participant's side of rollgym, compiled to WebAssembly.
//!
//! - [`core`]: sans-IO logic (session state machine, DataChannel messages, round trips),
//!   native-testable.
//! - `web` (wasm32 only): the only code that touches the browser (web-sys): the relay
//!   WebSocket, the RTCPeerConnection, the Worker clock, keyboard, canvas, and the
//!   `window.rollgym` test hook.
//! - [`env`]: the `Env` trait and the built-in Overcooked environment.
//! - [`bench`]: benchmark workloads shared by the native and the wasm benchmark.

pub mod bench;
pub mod core;
pub mod env;
pub mod replay;

#[cfg(all(target_arch = "wasm32", not(feature = "bench")))]
pub mod web;
