//! The research data of one episode, defined once: the CSV's columns (which both peers must
//! agree on, which are each peer's own) and the JSON sidecar beside it. The client writes
//! them, the relay validates, stores, compares and reads them back, `rollgym compare` and the
//! tests read them; docs/DATA.md describes them for researchers.

use serde::{Deserialize, Serialize};

use crate::{GameConfig, GameId, InputMode, ParticipantId, PeerInfo, SafeId, SceneId, UploadId};

/// The sidecar's `format` value: bumped when a field changes meaning.
pub const SIDECAR_FORMAT: &str = "rollgym-episode/1";

/// The first local column; every column before it is shared (compared for parity), every
/// column from it on may differ between the peers.
pub const FIRST_LOCAL_COLUMN: &str = "wasSpeculative.0";

/// The CSV header for `players` players and these info keys: shared columns (episode, step,
/// every player's action, reward and focus, the end flags, the state hash, the infos), then
/// local ones (whether this peer predicted an action, its rollbacks, its clock, whether the
/// row was confirmed when written).
pub fn csv_header(players: usize, info_keys: &[&str]) -> String {
    let mut cols: Vec<String> = vec!["episode".into(), "t".into()];
    cols.extend((0..players).map(|i| format!("actions.{i}")));
    cols.extend((0..players).map(|i| format!("rewards.{i}")));
    cols.extend(["terminated".into(), "truncated".into()]);
    cols.extend((0..players).map(|i| format!("isFocused.{i}")));
    cols.push("state_hash".into());
    cols.extend(info_keys.iter().map(|k| format!("infos.{k}")));
    cols.extend((0..players).map(|i| format!("wasSpeculative.{i}")));
    cols.extend(["rollbacks".into(), "timestamp".into(), "confirmed".into()]);
    cols.join(",")
}

/// How many of these header columns are shared (those before [`FIRST_LOCAL_COLUMN`]; all of
/// them if it is absent).
pub fn shared_columns(header: &[&str]) -> usize {
    header.iter().position(|c| *c == FIRST_LOCAL_COLUMN).unwrap_or(header.len())
}

/// How the game ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    #[default]
    Complete,
    /// The partner's page closed or its connection dropped.
    PartnerDisconnected,
    /// The partner was unheard past the focus-loss timeout (a frozen page).
    PartnerAway,
    /// Nobody was found in the waiting room in time.
    Timeout,
    /// The participant had already been through the whole experiment (a reload at the end).
    AlreadyFinished,
    /// The game stopped on an error (the environment threw, or the page could not go on).
    Error,
    /// A screening rule turned the participant away before it entered the experiment.
    ScreenedOut,
    /// Screening did not finish within `[loading] timeout_ms`.
    LoadingFailed,
    /// Monitoring excluded this participant during play (`exclusion` in the sidecar says why
    /// and at which frame).
    Excluded,
    /// Monitoring excluded the partner: the game ended for everyone at the same frame.
    PartnerExcluded,
    /// The study was closed to new arrivals when this participant came.
    StudyClosed,
    /// The researcher ended the game from the admin console (both players' data is partial).
    EndedByResearcher,
    /// The peer connection lost its path mid-game and did not come back within
    /// `reconnection_timeout_ms` (`interruptions` in the sidecar has the last one).
    ReconnectionTimeout,
}

/// The sidecar of one episode file, as the client writes it. Every field is a fact this peer
/// measured or decided; the relay adds what it knows for certain ([`StoredSidecar`]).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Sidecar {
    /// [`SIDECAR_FORMAT`].
    pub format: String,
    /// The reset seed of this episode.
    pub seed: u64,
    /// The game's seed, from which every episode's is derived.
    pub game_seed: u64,
    pub player_index: Option<u8>,
    /// The game's players, in player order.
    pub participants: Vec<PeerInfo>,
    pub outcome: Outcome,
    /// Whether the episode ended before its last step (its rows stop there).
    pub partial: bool,
    pub rows: usize,
    /// Rows written before the partner's input for them was confirmed (only in a partial file).
    pub unconfirmed_rows: usize,
    pub first_frame: i32,
    pub last_frame: i32,
    /// `host`, `srflx`, `prflx` or `relay`: how the peer connection was made.
    pub connection_type: Option<String>,
    pub p2p_rtt_ms: Option<RttStats>,
    pub netcode_bytes: Traffic,
    pub netcode_packets: Packets,
    pub rollbacks: Rollbacks,
    pub desyncs: Vec<Desync>,
    pub settings: Settings,
    /// Set when monitoring ended the game (outcome `excluded` or `partner_excluded`): the
    /// same on every player's sidecar.
    #[serde(default)]
    pub exclusion: Option<crate::Exclusion>,
    /// This player's key presses in the episode and how long each took to reach the game and
    /// the screen (absent in files written before it was measured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_latency: Option<InputLatency>,
    /// The times the peer connection lost its path (ICE `disconnected` or `failed`) since the
    /// game's previous file; empty in files written before they were recorded.
    #[serde(default)]
    pub interruptions: Vec<Interruption>,
    /// Set when a member of a group left mid-game and the others ended the game at a frame
    /// they agreed on; the same on every remaining member's sidecar of that episode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub departure: Option<Departure>,
}

/// A member of a group left mid-game. Every remaining page stopped and told the others how far
/// it had confirmed; the game ends after the lowest of those frames, so every remaining
/// member's file has the same rows.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Departure {
    /// The player index of the member who left.
    pub player: u8,
    /// The last frame played: every remaining member's rows stop after it.
    pub last_frame: i32,
    /// The players whose confirmed frames were compared (this one's included), in player
    /// order; a member that did not answer within 3 s is missing.
    pub agreed_by: Vec<u8>,
    /// The others played on from `last_frame`, the leaver doing its default action
    /// (`on_player_leave = "continue"`); otherwise the game ended there.
    #[serde(default)]
    pub continued: bool,
}

/// The peer connection lost its path during play and was restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Interruption {
    /// The frame the simulation was at when the path was lost.
    pub start_frame: i32,
    /// From the loss until the connection was back, or until the game gave up.
    pub duration_ms: u32,
    /// Whether the connection came back (else the game ended: `reconnection_timeout`).
    pub recovered: bool,
}

/// Key-press latency of one player in one episode: from the `keydown` event to the
/// simulation of the frame that applied the key (`applied`), and to the first animation frame
/// that drew that frame or a later one (`drawn`). Milliseconds; `None` without a sample.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct InputLatency {
    pub presses: u32,
    pub applied: Option<Spread>,
    pub drawn: Option<Spread>,
}

/// Median, 95th percentile and maximum of a set of durations, in ms.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Spread {
    pub p50: f64,
    pub p95: f64,
    pub max: f64,
}

impl Spread {
    /// Of `samples` (nearest rank), or `None` when there are none.
    pub fn of(samples: &mut [f64]) -> Option<Self> {
        samples.sort_by(f64::total_cmp);
        let at = |q: f64| {
            samples[((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len()) - 1]
        };
        let max = *samples.last()?;
        Some(Self { p50: at(0.5), p95: at(0.95), max })
    }
}

/// Peer-to-peer round trips over the DataChannel, in ms.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct RttStats {
    pub min: f64,
    pub median: f64,
    pub max: f64,
    pub samples: usize,
}

/// Netcode bytes over the DataChannel, this session so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Traffic {
    pub sent: u64,
    pub received: u64,
}

/// Netcode packets over the DataChannel, this session so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Packets {
    pub sent: u64,
    pub received: u64,
    /// Packets that did not decode (dropped, never fatal).
    pub dropped_undecodable: u64,
}

/// Rollbacks in this episode, and in the session so far.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Rollbacks {
    pub in_episode: usize,
    pub events: Vec<RollbackEvent>,
    pub session_total: u64,
    pub session_resimulated_frames: u64,
    pub session_max_depth: u32,
}

/// One rollback: to `frame`, resimulating `depth` frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RollbackEvent {
    pub frame: i32,
    pub depth: u32,
}

/// A desync detected in this episode, with this side's state for diagnosis.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Desync {
    pub frame: i32,
    /// 16 hex digits.
    pub local_checksum: String,
    pub remote_checksum: String,
    pub local_state_hex: String,
}

/// The game settings the episode ran under.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Settings {
    pub env: String,
    /// The environment's own version (the peers checked they run the same one).
    #[serde(default)]
    pub env_version: String,
    /// What each action number in the `actions.<i>` columns means.
    #[serde(default)]
    pub action_names: Vec<String>,
    pub layout: String,
    /// Overcooked's cook time and Slime Volleyball's points to win, as configured (what a
    /// replay needs to build the same game; absent in files written before they were kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cook_time: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points_to_win: Option<u16>,
    pub fps: u32,
    pub max_steps: u32,
    pub num_episodes: u32,
    /// As played: with `input_delay = "auto"`, what the relay chose for this game.
    pub input_delay: u32,
    /// Set when the delay was chosen automatically: the frames and the round trip (ms) they
    /// were chosen from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_delay_auto: Option<crate::AgreedDelay>,
    pub max_prediction: u32,
    pub input_mode: InputMode,
    /// Absent in files written before it was configurable (it was not restarted then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconnection_timeout_ms: Option<u32>,
}

impl From<&GameConfig> for Settings {
    fn from(config: &GameConfig) -> Self {
        Self {
            env: config.env.clone(),
            env_version: String::new(),
            action_names: Vec::new(),
            layout: config.layout.clone(),
            cook_time: Some(config.cook_time),
            points_to_win: Some(config.points_to_win),
            fps: config.fps,
            max_steps: config.max_steps,
            num_episodes: config.num_episodes,
            input_delay: config.first_input_delay(),
            input_delay_auto: None,
            max_prediction: config.max_prediction,
            input_mode: config.input_mode.unwrap_or_default(),
            reconnection_timeout_ms: Some(config.reconnection_timeout_ms),
        }
    }
}

/// A sidecar as stored: the client's, then what the relay knows for certain (which overrides
/// anything the client might claim).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredSidecar {
    #[serde(flatten)]
    pub sidecar: Sidecar,
    pub experiment: SafeId,
    pub scene_id: SceneId,
    pub game_id: GameId,
    pub participant_id: ParticipantId,
    pub episode: u32,
    pub upload_id: UploadId,
    /// When the relay stored the file (Unix ms).
    pub stored_at_ms: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_puts_every_shared_column_before_the_local_ones() {
        let header = csv_header(2, &["soups"]);
        let columns: Vec<&str> = header.split(',').collect();
        let shared = shared_columns(&columns);
        assert_eq!(columns[shared], FIRST_LOCAL_COLUMN);
        assert_eq!(columns[shared - 1], "infos.soups");
        assert_eq!(shared_columns(&["episode", "t"]), 2, "no local columns: all shared");
    }

    #[test]
    fn a_stored_sidecar_reads_back_what_was_written() {
        let id = |s: &str| SafeId::parse(s).expect("id");
        let stored = StoredSidecar {
            sidecar: Sidecar { format: SIDECAR_FORMAT.into(), rows: 3, ..Sidecar::default() },
            experiment: id("exp"),
            scene_id: id("s").into(),
            game_id: id("g").into(),
            participant_id: id("a").into(),
            episode: 1,
            upload_id: id("g-ep1").into(),
            stored_at_ms: 5,
        };
        let text = serde_json::to_string(&stored).expect("json");
        assert_eq!(serde_json::from_str::<StoredSidecar>(&text).expect("read"), stored);
    }
}
