//! The sans-IO heart of the client: no web-sys, no clock, no sockets. Everything here is
//! driven by the `web` adapter in the browser and by `cargo test` natively.

pub mod candidates;
pub mod peer_msg;
pub mod rtt;
pub mod session;
pub mod status;
