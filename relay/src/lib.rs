//! rollgym-relay: the server half of rollgym.
//!
//! One port serves the participant page, the wasm package, the relay WebSocket (`/ws`) and the
//! admin page's data (`/admin/status`).
//!
//! # Layout
//! - `server`: binds the port, wires the parts together, graceful shutdown.
//! - `http`: static files, the admin status and the WebSocket upgrade.
//! - `connection`: one WebSocket; frames <-> protocol messages. The only code that touches frames.
//! - `hub`: the single task that owns the lobby and routes its actions to connections.
//! - `lobby`: the sans-IO core (participants and their progress, waiting rooms, probes, games,
//!   signaling rules, the admin snapshot).
//! - `error`: request errors (turned into replies in one place) and start-up errors.
//! - `config`: loading the experiment TOML.
//! - `storage`: atomic writes of research data, the parity summary; `parity`: the comparison.

mod assets;
mod client_errors;
pub mod config;
mod connection;
mod console;
mod download;
pub mod error;
mod http;
mod hub;
pub mod lobby;
pub mod matchmaking;
pub mod median;
mod pages;
pub mod parity;
pub mod replay;
pub mod screen_peer;
pub mod screening;
mod server;
pub mod storage;
pub mod turn;
mod watch;

pub use http::HARD_MESSAGE_LIMIT;
pub use server::{Relay, RelayOptions};

pub use assets::has_package;
