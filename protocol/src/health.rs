//! What a page tells the relay about its running game every few seconds, for the admin
//! console's games table and problems: the peer-to-peer round trip, how the connection runs,
//! how hard the netcode works. Never used to decide anything about the game itself.

use serde::{Deserialize, Serialize};

use crate::GameId;

/// How often a page in a running game reports its [`GameHealth`].
pub const HEALTH_INTERVAL_MS: u32 = 2_000;

/// The connection types `getStats` names (the local candidate's type).
pub const CONNECTION_TYPES: [&str; 4] = ["host", "srflx", "prflx", "relay"];

/// One page's view of its game now. Counters are totals since the game started; the relay
/// turns successive reports into rates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GameHealth {
    pub game_id: GameId,
    /// Median DataChannel round trip to the partner, once measured.
    pub rtt_ms: Option<u32>,
    /// One of [`CONNECTION_TYPES`], once known.
    pub connection: Option<String>,
    pub rollbacks: u64,
    /// The next frame to simulate and the last frame every input of is known.
    pub frame: i32,
    pub confirmed_frame: i32,
    pub episode: u32,
    pub desyncs: u32,
    /// The simulation waits at the prediction limit for the partner's inputs.
    pub stalled: bool,
    /// Episodes this page has handed to the relay that are not acknowledged yet.
    pub pending_uploads: u32,
}

impl GameHealth {
    /// Whether every field is within what a real page can report.
    pub fn is_plausible(&self) -> bool {
        self.connection.as_deref().is_none_or(|c| CONNECTION_TYPES.contains(&c))
            && self.frame >= self.confirmed_frame
            && self.confirmed_frame >= -1
            && self.rtt_ms.is_none_or(|rtt| rtt <= 60_000)
    }

    /// Frames simulated ahead of what is confirmed.
    pub fn frames_behind(&self) -> u32 {
        u32::try_from(self.frame.saturating_sub(self.confirmed_frame)).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> GameHealth {
        GameHealth {
            game_id: GameId::parse("g1").expect("id"),
            rtt_ms: Some(40),
            connection: Some("host".into()),
            rollbacks: 3,
            frame: 120,
            confirmed_frame: 117,
            episode: 0,
            desyncs: 0,
            stalled: false,
            pending_uploads: 0,
        }
    }

    #[test]
    fn a_real_report_is_plausible() {
        assert!(report().is_plausible());
        assert_eq!(report().frames_behind(), 3);
    }

    #[test]
    fn impossible_reports_are_not() {
        let unknown_type = GameHealth { connection: Some("carrier-pigeon".into()), ..report() };
        let confirmed_ahead = GameHealth { confirmed_frame: 121, ..report() };
        let minute_rtt = GameHealth { rtt_ms: Some(70_000), ..report() };
        for bad in [unknown_type, confirmed_ahead, minute_rtt] {
            assert!(!bad.is_plausible(), "{bad:?}");
        }
    }
}
