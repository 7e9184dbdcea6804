//! What the page shows and what `window.rollgym` exposes.

use serde::Serialize;

/// Where the participant is. Serialized in snake_case for the test hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Loading,
    /// The client runs and is connecting to the relay.
    Ready,
    Waiting,
    /// Paired; the peer-to-peer connection is being set up or is up.
    Matched,
    PartnerDisconnected,
    Error,
}

impl Phase {
    /// Phases nothing leaves.
    pub fn is_terminal(self) -> bool {
        matches!(self, Phase::PartnerDisconnected | Phase::Error)
    }
}

/// The observable state of the client.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub phase: Phase,
    pub participant_id: Option<String>,
    pub game_id: Option<String>,
    pub player_index: Option<u8>,
    /// Median DataChannel round trip; set once the partner has answered a ping.
    pub p2p_rtt_ms: Option<f64>,
    /// People waiting / needed while in the waiting room.
    pub waiting: Option<(u32, u32)>,
    pub last_error: Option<String>,
}

impl Default for Status {
    fn default() -> Self {
        Self {
            phase: Phase::Ready,
            participant_id: None,
            game_id: None,
            player_index: None,
            p2p_rtt_ms: None,
            waiting: None,
            last_error: None,
        }
    }
}
