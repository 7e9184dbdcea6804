//! Research records the relay writes and reads back, defined once: the writer (the lobby),
//! the readers (the relay at start, the tests, researchers' scripts through `docs/DATA.md`)
//! share these types, so no reader re-implements the format.

use serde::{Deserialize, Serialize};

use crate::{GameId, ParticipantId, ProbeId, SceneId};

/// One line of `match_logs/<scene>_matches.jsonl`: a decision of the lobby.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum MatchLogRecord {
    /// A group was formed: a game with these participants, in player order.
    Match {
        scene_id: SceneId,
        game_id: GameId,
        matchmaker: String,
        participants: Vec<LoggedParticipant>,
        /// The probe that admitted the pair, where the scene probes.
        #[serde(default)]
        probe: Option<AdmittingProbe>,
        /// Unix time of the decision, ms (stamped by the relay when it logs it).
        #[serde(default)]
        time_ms: u64,
    },
    /// A peer-to-peer probe between two waiting participants ended.
    Probe {
        scene_id: SceneId,
        probe_id: ProbeId,
        participants: Vec<LoggedParticipant>,
        p2p_rtt_ms: Option<u32>,
        max_p2p_rtt_ms: u32,
        result: ProbeResult,
        duration_ms: u64,
        #[serde(default)]
        time_ms: u64,
    },
    /// A game that never started (the partner left, or the connection was never validated).
    Unstarted {
        scene_id: SceneId,
        game_id: GameId,
        participants: Vec<LoggedParticipant>,
        reason: UnstartedReason,
        #[serde(default)]
        time_ms: u64,
    },
}

impl MatchLogRecord {
    /// Reads one line. Lines written before there were other events than matches carry no
    /// `event`; they are matches.
    pub fn parse(line: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(line).or_else(|err| {
            let mut value: serde_json::Value = serde_json::from_str(line)?;
            match value.as_object_mut() {
                Some(map) if !map.contains_key("event") => {
                    map.insert("event".into(), "match".into());
                    serde_json::from_value(value)
                }
                _ => Err(err),
            }
        })
    }

    pub fn participants(&self) -> &[LoggedParticipant] {
        match self {
            MatchLogRecord::Match { participants, .. }
            | MatchLogRecord::Probe { participants, .. }
            | MatchLogRecord::Unstarted { participants, .. } => participants,
        }
    }

    pub fn scene_id(&self) -> &SceneId {
        match self {
            MatchLogRecord::Match { scene_id, .. }
            | MatchLogRecord::Probe { scene_id, .. }
            | MatchLogRecord::Unstarted { scene_id, .. } => scene_id,
        }
    }

    pub fn time_ms(&self) -> u64 {
        match self {
            MatchLogRecord::Match { time_ms, .. }
            | MatchLogRecord::Probe { time_ms, .. }
            | MatchLogRecord::Unstarted { time_ms, .. } => *time_ms,
        }
    }

    /// Stamps the time of the decision.
    pub fn set_time_ms(&mut self, now: u64) {
        match self {
            MatchLogRecord::Match { time_ms, .. }
            | MatchLogRecord::Probe { time_ms, .. }
            | MatchLogRecord::Unstarted { time_ms, .. } => *time_ms = now,
        }
    }
}

/// A participant as a match-log line records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggedParticipant {
    pub participant_id: ParticipantId,
    /// Median server round trip when the decision was made.
    #[serde(default)]
    pub server_rtt_ms: Option<u32>,
    /// How long it had waited in the waiting room.
    #[serde(default)]
    pub waited_ms: Option<u64>,
}

/// The probe that admitted a matched pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdmittingProbe {
    pub probe_id: ProbeId,
    pub p2p_rtt_ms: Option<u32>,
}

/// How a probe ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeResult {
    /// Measured within the threshold: the pair is matched.
    Accepted,
    /// Measured over the threshold.
    TooSlow,
    /// The probe connection or every ping failed.
    Failed,
    /// Nobody reported in time.
    TimedOut,
    /// A member disconnected.
    Left,
}

impl ProbeResult {
    /// Whether the pair is kept apart for good.
    pub fn rejects(self) -> bool {
        matches!(self, ProbeResult::TooSlow | ProbeResult::Failed | ProbeResult::TimedOut)
    }
}

/// Why a game never started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnstartedReason {
    /// The connection between the players was not validated in time: the pair is kept apart.
    NotValidated,
    /// A player left before the start.
    PartnerLeft,
    /// The players' pages run different environments (name or version).
    EnvMismatch,
}

impl UnstartedReason {
    /// Whether the players are kept apart for good (as when the game was formed, so also
    /// after a restart of the relay).
    pub fn rejects(self) -> bool {
        matches!(self, UnstartedReason::NotValidated | UnstartedReason::EnvMismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_without_an_event_is_a_match() {
        let line = r#"{"scene_id":"s","game_id":"g","matchmaker":"fifo","participants":[{"participant_id":"a"}],"time_ms":5}"#;
        let record = MatchLogRecord::parse(line).expect("a legacy match");
        assert!(matches!(record, MatchLogRecord::Match { time_ms: 5, .. }));
    }

    #[test]
    fn records_read_back_as_written() {
        let record = MatchLogRecord::Probe {
            scene_id: SceneId::parse("s").expect("id"),
            probe_id: ProbeId::parse("q").expect("id"),
            participants: vec![LoggedParticipant {
                participant_id: ParticipantId::parse("a").expect("id"),
                server_rtt_ms: Some(3),
                waited_ms: None,
            }],
            p2p_rtt_ms: None,
            max_p2p_rtt_ms: 100,
            result: ProbeResult::TimedOut,
            duration_ms: 10_000,
            time_ms: 7,
        };
        let line = serde_json::to_string(&record).expect("json");
        assert!(line.contains(r#""event":"probe""#) && line.contains(r#""result":"timed_out""#));
        assert_eq!(MatchLogRecord::parse(&line).expect("parse"), record);
    }
}

/// An action taken from the admin console: one line of `admin_actions.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminRecord {
    pub action: AdminAction,
    /// Why, in the researcher's words.
    pub reason: String,
    /// Unix time, ms (stamped by the relay when it logs it).
    #[serde(default)]
    pub time_ms: u64,
    /// The game an `end_game` ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub game_id: Option<GameId>,
    /// The participant an `exclude_participant` excluded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant_id: Option<ParticipantId>,
    /// What the excluded participant is shown (again, if it comes back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl AdminRecord {
    /// A record of `action` with nothing else set.
    pub fn new(action: AdminAction, reason: String) -> Self {
        Self { action, reason, time_ms: 0, game_id: None, participant_id: None, message: None }
    }
}

/// What the admin console did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminAction {
    /// No new arrivals from now on; those already in continue.
    CloseStudy,
    ReopenStudy,
    /// A running game ended for all its players (message and code of
    /// `[outcomes.ended_by_researcher]`, data partial).
    EndGame,
    /// A participant excluded with the researcher's message; never let back in. Its partner,
    /// if in a game with it, gets `partner_excluded`.
    ExcludeParticipant,
}

/// The longest message a client error report keeps (longer ones are cut).
pub const MAX_CLIENT_ERROR_CHARS: usize = 1000;

/// One line of `client_errors.jsonl`: an uncaught error, an unhandled rejection or a
/// `console.error` line a participant's page reported (also the body the page sends).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientErrorRecord {
    pub participant_id: ParticipantId,
    pub kind: ClientErrorKind,
    /// The error's stack or message, at most [`MAX_CLIENT_ERROR_CHARS`].
    pub message: String,
    /// Where it was thrown (`file:line`), when the browser said.
    #[serde(default)]
    pub source: Option<String>,
    /// Unix time, ms, stamped by the relay (whatever the page sent is replaced).
    #[serde(default)]
    pub time_ms: u64,
}

/// What a page reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientErrorKind {
    Error,
    UnhandledRejection,
    ConsoleError,
}

impl ClientErrorRecord {
    /// Cuts what the page sent to the sizes the record keeps.
    pub fn bounded(mut self) -> Self {
        let cut = |text: &mut String, max: usize| {
            if let Some((at, _)) = text.char_indices().nth(max) {
                text.truncate(at);
            }
        };
        cut(&mut self.message, MAX_CLIENT_ERROR_CHARS);
        if let Some(source) = self.source.as_mut() {
            cut(source, 300);
        }
        self
    }
}
