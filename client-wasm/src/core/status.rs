//! What the page shows and what `window.rollgym` exposes.

use serde::Serialize;

/// Where the participant is. Serialized in snake_case for the test hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Loading,
    /// The client runs and is connecting to the relay.
    Ready,
    /// The relay asked for the entry checks; they run (a prompt may ask for a larger window).
    Screening,
    /// A screening rule turned the participant away (`exit` says why and what next).
    ScreenedOut,
    Waiting,
    /// Paired; the peer-to-peer connection and the netcode handshake are under way.
    Matched,
    /// The synced "3, 2, 1" inside the simulation.
    Countdown,
    Playing,
    BetweenEpisodes,
    /// Every episode is over and confirmed on both sides.
    Done,
    /// A static scene (instructions, a thank-you page) is shown.
    Scene,
    /// Left the study: the waiting room timed out (outcome `timeout`), or monitoring excluded
    /// this participant during play (outcome `excluded`).
    Excluded,
    /// The game ended because of the partner: it left (`partner_disconnected`), was unheard
    /// too long (`partner_away`), or monitoring excluded it (`partner_excluded`).
    PartnerDisconnected,
    Error,
}

impl Phase {
    /// Phases nothing leaves.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Phase::Done
                | Phase::Excluded
                | Phase::ScreenedOut
                | Phase::PartnerDisconnected
                | Phase::Error
        )
    }

    /// A game is under way (the netcode runs).
    pub fn in_game(self) -> bool {
        matches!(self, Phase::Countdown | Phase::Playing | Phase::BetweenEpisodes)
    }
}

/// What monitoring warns about during play (`[monitoring]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Warning {
    /// This page has been in the background past `tab_warning_ms`.
    TabHidden,
    /// A recent round trip to the partner was over `max_p2p_rtt_ms`.
    SlowConnection,
    /// The partner's page has been in the background past `tab_warning_ms`.
    PartnerTabHidden,
}

/// How the game ended (also recorded in every sidecar).
pub use rollgym_protocol::Outcome;

/// What the page shows when the session ends outside a game (the waiting room gave up,
/// screening turned the participant away, loading failed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Exit {
    pub message: String,
    pub completion_code: Option<String>,
    pub redirect_url: Option<String>,
}

/// An episode whose last frame is confirmed: the same on both peers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EpisodeSummary {
    pub episode: u32,
    pub last_frame: i32,
    pub steps: u32,
    /// The confirmed state hash after the last step, as 16 hex digits (a u64 does not fit a
    /// JavaScript number).
    pub state_hash: String,
    /// Each player's summed rewards.
    pub rewards: Vec<f32>,
}

/// An episode's data handed to the relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportStatus {
    pub episode: u32,
    pub upload_id: String,
    pub rows: usize,
    /// Cut short by the partner leaving.
    pub partial: bool,
    /// The relay confirmed the files are on disk.
    pub acked: bool,
}

/// The scene the participant is in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SceneStatus {
    pub index: u32,
    pub id: String,
    /// `static` or `gym`.
    pub kind: &'static str,
    pub title: String,
    pub html: String,
    pub button: Option<String>,
    pub completion_code: Option<String>,
    /// No scene follows.
    pub last: bool,
}

/// The observable state of the client.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub phase: Phase,
    pub participant_id: Option<String>,
    pub game_id: Option<String>,
    pub player_index: Option<u8>,
    /// The other players of the current (or last) game.
    pub partner_ids: Vec<String>,
    /// Median DataChannel round trip; set once the partner has answered a ping.
    pub p2p_rtt_ms: Option<f64>,
    /// People waiting / needed while in the waiting room.
    pub waiting: Option<(u32, u32)>,
    pub last_error: Option<String>,
    /// The next frame to simulate.
    pub frame: i32,
    pub confirmed_frame: i32,
    pub episode: u32,
    pub rollbacks: u64,
    /// The simulation is stalled at the prediction limit, waiting for the partner.
    pub waiting_for_partner: bool,
    /// The peer connection lost its path mid-game and is being restarted.
    pub reconnecting: bool,
    /// Path losses in the current game so far (each is in a sidecar's `interruptions`).
    pub interruptions: u32,
    /// ICE restarts this page offered in the current game.
    pub ice_restarts: u32,
    pub focused: bool,
    /// Frames for which the local player sent an action (not "nothing").
    pub local_actions: u64,
    pub desyncs: u32,
    pub outcome: Option<Outcome>,
    pub episodes: Vec<EpisodeSummary>,
    pub exports: Vec<ExportStatus>,
    /// How the peer connection runs: `host`, `srflx`, `prflx` or `relay` (from getStats);
    /// in a group, each partner's in player order, joined by commas.
    pub connection_type: Option<String>,
    /// What this page sent each partner of the current game over the DataChannel, in player
    /// order: `[bytes, messages]` of payload (for the bandwidth benchmark).
    pub sent_to_partners: Vec<[u64; 2]>,
    /// What the page shows at the end: the message, completion code and redirect of the
    /// outcome (`[outcomes.<name>]`), set when the session or a game ends.
    pub exit: Option<Exit>,
    /// What monitoring warns about right now, during play.
    pub warning: Option<Warning>,
    /// Seconds left in the "Players found!" countdown.
    pub countdown: Option<u32>,
    /// A message for the waiting room (e.g. why a match did not start).
    pub notice: Option<String>,
    /// Whole seconds spent in the waiting room so far.
    pub waited_s: Option<u32>,
    pub scene: Option<SceneStatus>,
    /// Peer-to-peer probes the relay asked this participant into.
    pub probes: u32,
    /// The round trip this side measured in its last probe (`None`: not measured or failed).
    pub probe_rtt_ms: Option<u32>,
    /// The timing of the game this participant was matched into (from the experiment).
    pub game: Option<GameTiming>,
    /// This player's key presses in the episode under way: keydown to the frame that applied
    /// each, and to the screen (`core/latency.rs`).
    pub input_latency: Option<rollgym_protocol::episode::InputLatency>,
}

/// How long a game takes, as the experiment sets it: what a page (or a test) needs to know how
/// long to wait for its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GameTiming {
    pub fps: u32,
    pub max_steps: u32,
    pub num_episodes: u32,
    pub countdown_ms: u32,
    pub between_episodes_ms: u32,
    /// Frames the simulation runs ahead of the partner before it waits.
    pub max_prediction: u32,
    /// How long an unheard partner is waited for before the game ends.
    pub focus_loss_timeout_ms: u32,
}

impl From<&rollgym_protocol::GameConfig> for GameTiming {
    fn from(config: &rollgym_protocol::GameConfig) -> Self {
        Self {
            fps: config.fps,
            max_steps: config.max_steps,
            num_episodes: config.num_episodes,
            countdown_ms: config.countdown_ms,
            between_episodes_ms: config.between_episodes_ms,
            max_prediction: config.max_prediction,
            focus_loss_timeout_ms: config.focus_loss_timeout_ms,
        }
    }
}

/// What `session.finished` resolves with: how the participant's session ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionResult {
    pub outcome: Option<Outcome>,
    pub completion_code: Option<String>,
    pub episodes: Vec<EpisodeSummary>,
    pub game_id: Option<String>,
    pub partner_ids: Vec<String>,
    pub participant_id: Option<String>,
    /// Every episode's data is on the relay's disk (else it is still in this browser's storage
    /// and is sent when a page of this study is open again).
    pub data_stored: bool,
    pub error: Option<String>,
}

impl Status {
    /// Nothing more happens in this session: an end, or the last page of the experiment.
    pub fn is_over(&self) -> bool {
        let last_scene = self.scene.as_ref().is_none_or(|s| s.last);
        match self.phase {
            Phase::Error | Phase::Excluded | Phase::ScreenedOut | Phase::PartnerDisconnected => {
                true
            }
            Phase::Done | Phase::Scene => last_scene,
            _ => false,
        }
    }

    /// Every episode handed to the relay was acknowledged.
    pub fn data_stored(&self) -> bool {
        self.exports.iter().all(|e| e.acked)
    }

    /// The result of an ended session; `game_code` is the game's completion code.
    pub fn result(&self, game_code: Option<&str>) -> SessionResult {
        let code = self
            .exit
            .as_ref()
            .and_then(|e| e.completion_code.clone())
            .or_else(|| self.scene.as_ref().and_then(|s| s.completion_code.clone()))
            .or_else(|| game_code.map(str::to_owned));
        SessionResult {
            outcome: self.outcome,
            completion_code: code,
            episodes: self.episodes.clone(),
            game_id: self.game_id.clone(),
            partner_ids: self.partner_ids.clone(),
            participant_id: self.participant_id.clone(),
            data_stored: self.data_stored(),
            error: (self.phase == Phase::Error).then(|| self.last_error.clone()).flatten(),
        }
    }
}

impl Default for Status {
    fn default() -> Self {
        Self {
            phase: Phase::Ready,
            participant_id: None,
            game_id: None,
            player_index: None,
            partner_ids: Vec::new(),
            p2p_rtt_ms: None,
            waiting: None,
            last_error: None,
            frame: 0,
            confirmed_frame: -1,
            episode: 0,
            rollbacks: 0,
            waiting_for_partner: false,
            reconnecting: false,
            interruptions: 0,
            ice_restarts: 0,
            focused: true,
            local_actions: 0,
            desyncs: 0,
            input_latency: None,
            outcome: None,
            episodes: Vec::new(),
            exports: Vec::new(),
            connection_type: None,
            sent_to_partners: Vec::new(),
            exit: None,
            warning: None,
            countdown: None,
            notice: None,
            waited_s: None,
            scene: None,
            probes: 0,
            probe_rtt_ms: None,
            game: None,
        }
    }
}
