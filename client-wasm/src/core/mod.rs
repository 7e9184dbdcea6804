//! The sans-IO heart of the client: no web-sys, no sockets. Everything here is driven by the
//! `web` adapter in the browser and by `cargo test` natively. (ggrs, inside `netcode`, reads a
//! monotonic clock for its own timeouts; nothing else here does.)

pub mod candidates;
pub mod export;
pub mod game;
pub mod latency;
pub mod link_watch;
pub mod monitor;
pub mod netcode;
pub mod peer_msg;
pub mod pending;
pub mod probe;
pub mod recorder;
pub mod rtt;
pub mod session;
pub mod status;
