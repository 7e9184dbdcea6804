//! The `[matchmaking]` and `[waiting_room]` tables of an experiment.

use serde::{Deserialize, Serialize};

/// Players per game unless `[matchmaking] group_size` says otherwise.
pub const DEFAULT_GROUP_SIZE: usize = 2;

/// The largest group: every player keeps a peer connection to every other one (a full
/// mesh), so each page's upload grows with the group.
pub const MAX_GROUP_SIZE: usize = 4;

/// Which matchmaker forms the groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchmakerKind {
    /// Arrival order.
    #[default]
    Fifo,
    /// Arrival order among participants whose summed server round trips are within
    /// `max_server_rtt_ms`.
    LatencyFifo,
    /// Previous partners first, then arrival order if `fallback_to_fifo`.
    GroupReunion,
}

/// Which round trip stands for a participant's distance to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RttSource {
    /// The relay's pings over the page's WebSocket (TCP), median of the recent ones.
    #[default]
    Websocket,
    /// The median entry screening measured over the relay's own WebRTC peer (UDP, the path a
    /// game takes); the WebSocket's where screening measured none.
    Webrtc,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MatchmakingConfig {
    pub kind: MatchmakerKind,
    /// LatencyFifo: the largest sum of the participants' server round trips, in ms.
    pub max_server_rtt_ms: u32,
    /// GroupReunion: pair with anyone when no previous partner is waiting.
    pub fallback_to_fifo: bool,
    /// Any matchmaker: before a match, the two participants measure their peer-to-peer round
    /// trip (median of 5 pings on a probe DataChannel); a pair over this many ms, or whose
    /// probe fails, is not matched. Unset: no probe.
    pub max_p2p_rtt_ms: Option<u32>,
    /// The server round trip LatencyFifo compares and the match log records.
    pub rtt_source: RttSource,
    /// Players per game, 2 to [`MAX_GROUP_SIZE`]; the environment must be for as many.
    pub group_size: usize,
}

impl Default for MatchmakingConfig {
    fn default() -> Self {
        Self {
            kind: MatchmakerKind::Fifo,
            max_server_rtt_ms: 200,
            fallback_to_fifo: true,
            max_p2p_rtt_ms: None,
            rtt_source: RttSource::Websocket,
            group_size: DEFAULT_GROUP_SIZE,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WaitingRoomConfig {
    /// How long a participant waits for a partner before the waiting room gives up.
    pub timeout_ms: u32,
    /// Shown when the wait times out.
    pub timeout_message: String,
    /// Where the page goes when the wait times out (e.g. back to Prolific), if set.
    pub timeout_redirect_url: Option<String>,
    /// Shown with the timeout message, if set (so the participant can still be paid).
    pub timeout_completion_code: Option<String>,
    /// Do not tell participants how many others are waiting.
    pub hide_count: bool,
}

impl Default for WaitingRoomConfig {
    fn default() -> Self {
        Self {
            timeout_ms: 120_000,
            timeout_message:
                "Sorry, we could not find a partner for you in time. Thank you for your patience."
                    .into(),
            timeout_redirect_url: None,
            timeout_completion_code: None,
            hide_count: false,
        }
    }
}
