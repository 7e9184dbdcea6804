//! `[monitoring]`: watching a game while it runs (a hidden tab, a slow peer-to-peer link), and
//! what each way a game can end gives the participant ([`GameEnds`]).
//!
//! Both are sent to the players with their pairing. The exclusion itself is decided inside the
//! simulation (the client's `Game`), from flags every input carries, so both peers end the game
//! at the same frame with the same data.

use serde::{Deserialize, Serialize};

use crate::{GameConfig, OutcomeConfig, OutcomeName, OutcomesConfig};

/// `[monitoring]`, per gym scene like `[game]`. Every rule is off unless set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MonitoringConfig {
    /// A peer-to-peer round trip (ms, one DataChannel ping) over this is a violation.
    pub max_p2p_rtt_ms: Option<u32>,
    /// `[M, N]`: a violation warns; M of the last N measurements over the limit exclude.
    pub rtt_violations: [u32; 2],
    /// A tab hidden this long is warned (counted in frames of the game).
    pub tab_warning_ms: Option<u32>,
    /// A tab hidden this long is excluded, and the game ends for everyone.
    pub tab_exclude_ms: Option<u32>,
}

impl Default for MonitoringConfig {
    fn default() -> Self {
        Self {
            max_p2p_rtt_ms: None,
            rtt_violations: [3, 5],
            tab_warning_ms: None,
            tab_exclude_ms: None,
        }
    }
}

/// Why monitoring excluded a player (also the sidecar's `exclusion.reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExclusionReason {
    /// The tab was hidden for `tab_exclude_ms`.
    TabHidden,
    /// The peer-to-peer round trip was over `max_p2p_rtt_ms` in M of the last N pings.
    SlowConnection,
}

/// How monitoring ended a game, recorded in every sidecar of that game's last episode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exclusion {
    /// The first frame not played: every player's data stops before it.
    pub frame: i32,
    /// The players excluded at that frame (usually one), in player order.
    pub players: Vec<u8>,
    pub reason: ExclusionReason,
}

/// A `[monitoring]` value that makes no sense.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MonitoringError {
    #[error(
        "monitoring.max_p2p_rtt_ms must be at least 1 (leave it out to not watch the round trip)"
    )]
    ZeroRtt,
    #[error("monitoring.rtt_violations = [{0}, {1}] must be [M, N] with 1 <= M <= N <= 100")]
    BadViolations(u32, u32),
    #[error("monitoring.tab_exclude_ms must be at least 1000")]
    ExcludeTooSoon,
    #[error("monitoring.tab_warning_ms must be shorter than monitoring.tab_exclude_ms")]
    WarningAfterExclusion,
}

impl MonitoringConfig {
    pub fn validate(&self) -> Result<(), MonitoringError> {
        if self.max_p2p_rtt_ms == Some(0) {
            return Err(MonitoringError::ZeroRtt);
        }
        let [m, n] = self.rtt_violations;
        if m == 0 || m > n || n > 100 {
            return Err(MonitoringError::BadViolations(m, n));
        }
        if let Some(exclude) = self.tab_exclude_ms {
            if exclude < 1000 {
                return Err(MonitoringError::ExcludeTooSoon);
            }
            if self.tab_warning_ms.is_some_and(|warn| warn >= exclude) {
                return Err(MonitoringError::WarningAfterExclusion);
            }
        }
        Ok(())
    }
}

/// What a player gets for each way a game can end, resolved by the relay from
/// `[outcomes.<name>]` (falling back on the game's own `completion_code` and
/// `partner_left_message`). A message left out is the page's default.
///
/// On the wire it is a flat list of twelve optional strings (code, message, redirect of each
/// ending in field order): a struct of structs would cost the page's module 2.5 kB of decoder.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(from = "Vec<Option<String>>", into = "Vec<Option<String>>")]
pub struct GameEnds {
    pub completed: OutcomeConfig,
    pub excluded: OutcomeConfig,
    pub partner_left: OutcomeConfig,
    pub partner_excluded: OutcomeConfig,
}

impl From<GameEnds> for Vec<Option<String>> {
    fn from(ends: GameEnds) -> Self {
        [ends.completed, ends.excluded, ends.partner_left, ends.partner_excluded]
            .into_iter()
            .flat_map(|end| [end.completion_code, end.message, end.redirect_url])
            .collect()
    }
}

impl From<Vec<Option<String>>> for GameEnds {
    /// Missing entries are `None`; extra ones are ignored.
    fn from(flat: Vec<Option<String>>) -> Self {
        let mut flat = flat.into_iter();
        let mut next = || OutcomeConfig {
            completion_code: flat.next().flatten(),
            message: flat.next().flatten(),
            redirect_url: flat.next().flatten(),
        };
        Self { completed: next(), excluded: next(), partner_left: next(), partner_excluded: next() }
    }
}

impl GameEnds {
    pub fn resolve(outcomes: &OutcomesConfig, game: &GameConfig) -> Self {
        let with_game_code = |name| {
            let mut end = outcomes.get(&name).cloned().unwrap_or_default();
            end.completion_code = end.completion_code.or_else(|| game.completion_code.clone());
            end
        };
        let mut partner_left = with_game_code(OutcomeName::PartnerLeft);
        partner_left.message.get_or_insert_with(|| game.partner_left_message.clone());
        Self {
            completed: with_game_code(OutcomeName::Completed),
            excluded: with_game_code(OutcomeName::Excluded),
            partner_left,
            partner_excluded: with_game_code(OutcomeName::PartnerExcluded),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_watch_nothing_and_are_valid() {
        let config = MonitoringConfig::default();
        assert_eq!(config.validate(), Ok(()));
        assert!(config.max_p2p_rtt_ms.is_none() && config.tab_exclude_ms.is_none());
    }

    #[test]
    fn contradictions_name_the_key() {
        let cases = [
            (MonitoringConfig { max_p2p_rtt_ms: Some(0), ..Default::default() }, "max_p2p_rtt_ms"),
            (MonitoringConfig { rtt_violations: [4, 3], ..Default::default() }, "rtt_violations"),
            (MonitoringConfig { rtt_violations: [0, 3], ..Default::default() }, "rtt_violations"),
            (MonitoringConfig { tab_exclude_ms: Some(10), ..Default::default() }, "tab_exclude_ms"),
            (
                MonitoringConfig {
                    tab_warning_ms: Some(5000),
                    tab_exclude_ms: Some(5000),
                    ..Default::default()
                },
                "tab_warning_ms",
            ),
        ];
        for (config, key) in cases {
            let err = config.validate().expect_err(key).to_string();
            assert!(err.contains(key), "{err}");
        }
    }

    #[test]
    fn game_ends_fall_back_on_the_game_settings() {
        let game = GameConfig { completion_code: Some("GAME".into()), ..GameConfig::default() };
        let mut outcomes = OutcomesConfig::new();
        outcomes.insert(
            OutcomeName::Excluded,
            OutcomeConfig { completion_code: Some("EX".into()), ..Default::default() },
        );
        let ends = GameEnds::resolve(&outcomes, &game);
        assert_eq!(ends.excluded.completion_code.as_deref(), Some("EX"));
        assert_eq!(ends.completed.completion_code.as_deref(), Some("GAME"));
        assert_eq!(ends.partner_left.message.as_deref(), Some(game.partner_left_message.as_str()));
        assert_eq!(ends.partner_excluded.message, None, "the page's default");
        let wire = serde_json::to_string(&ends).expect("json");
        assert_eq!(serde_json::from_str::<GameEnds>(&wire).expect("read"), ends);
        assert_eq!(serde_json::from_str::<GameEnds>("[]").expect("empty"), GameEnds::default());
    }
}
