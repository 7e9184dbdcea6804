//! The rollback netcode driver: a ggrs 0.13 `P2PSession` around the deterministic [`Game`].
//!
//! Sans-IO: [`Netcode::tick`] is called once per clock tick with the local input; packets come
//! in through [`Netcode::receive`] and go out through [`Netcode::take_outgoing`]. The driver
//! carries out ggrs's Save/Load/Advance requests, counts rollbacks and re-simulated frames,
//! follows ggrs's time-sync advice (skip a tick when ahead, run extra frames when behind),
//! records desyncs, and reports an episode as final once its last frame is confirmed.
//! (ggrs itself reads a monotonic clock for its timeouts and quality reports.)

mod build;
mod departure;
mod socket;

use std::{cell::RefCell, collections::BTreeMap, marker::PhantomData, rc::Rc};

use build::Built;
use ggrs::{GgrsError, GgrsEvent, GgrsRequest, InputStatus, P2PSession, PlayerType, SessionState};
use rollgym_protocol::Exclusion;
use serde::{Deserialize, Serialize};
pub use socket::{PeerAddr, Wire, WireSocket};

use crate::{
    core::{
        game::{EpisodeEnd, EpisodePlan, Game, Stage},
        latency::LatencyMeter,
        monitor::{Monitor, MonitorPlan, Presence},
        recorder::{FrameRow, Recorder},
    },
    env::{Action, Env},
};

/// Rollback events kept for the metrics; a pathological session must not grow without bound.
const MAX_ROLLBACK_EVENTS: usize = 100_000;

/// A rollback: the frame loaded and how many frames were simulated again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RollbackEvent {
    pub frame: i32,
    pub depth: u32,
}

/// `NetInput::action` value meaning "the environment's default action".
pub const NO_ACTION: u8 = u8::MAX;

/// One player's input for one frame. The focus bit travels with the input, so both peers
/// record the same focus data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetInput {
    pub action: u8,
    pub focused: bool,
    /// The action comes from a key held down (held-key mode): while nothing newer has arrived,
    /// the partner predicts it continues.
    pub held: bool,
    /// This player's page found the link to the partner too slow (`[monitoring]`): the
    /// simulation excludes the player at the first frame that carries it.
    pub slow: bool,
}

impl Default for NetInput {
    /// No action, still focused: what a partner is predicted to do after a tap.
    fn default() -> Self {
        Self { action: NO_ACTION, focused: true, held: false, slow: false }
    }
}

/// Prediction of a partner's next input: a held key is still held, anything else (a tap) is
/// not repeated: the partner is predicted to do nothing. Its focus and link flags are
/// predicted unchanged (they change rarely, so a prediction is rarely rolled back).
#[derive(Debug)]
pub struct PredictHeld;

impl ggrs::InputPredictor<NetInput> for PredictHeld {
    fn predict(previous: NetInput) -> NetInput {
        if previous.held {
            previous
        } else {
            NetInput { focused: previous.focused, slow: previous.slow, ..NetInput::default() }
        }
    }
}

/// Netcode parameters from the scene config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetSettings {
    pub fps: u32,
    pub input_delay: u32,
    pub max_prediction: u32,
    /// Compare checksums every this many frames; 0 turns desync detection off.
    pub desync_interval: u32,
    /// How long the partner may be silent before the game ends (ggrs disconnect timeout).
    pub disconnect_timeout_ms: u32,
    /// `[monitoring]` in frames.
    pub monitor: MonitorPlan,
    /// Frames whose states are kept so a group can go back to the frame it agreed on when a
    /// member left and play on from there (`on_player_leave = "continue"`); 0 otherwise.
    pub keep_states: usize,
}

/// Most extra frames simulated in one tick when catching up.
const MAX_CATCH_UP: u32 = 4;

/// Why the driver could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetcodeError {
    #[error("ggrs refused the session settings: {0}")]
    Settings(String),
}

impl From<GgrsError> for NetcodeError {
    fn from(err: GgrsError) -> Self {
        NetcodeError::Settings(err.to_string())
    }
}

/// A desync ggrs detected: the frame, both checksums, and our state at detection time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesyncEvent {
    pub frame: i32,
    pub local_checksum: u64,
    pub remote_checksum: u64,
    pub local_state: Vec<u8>,
}

/// What happened with a partner during a tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerEvent {
    Synchronized(PeerAddr),
    /// Nothing heard for a while; the game will end after the disconnect timeout.
    Interrupted(PeerAddr),
    Resumed(PeerAddr),
    /// The partner was silent past the disconnect timeout.
    Disconnected(PeerAddr),
}

/// Counters for the status line, the test hook and the research metrics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NetStats {
    /// LoadGameState requests.
    pub rollbacks: u64,
    /// Frames simulated again after a load.
    pub resimulated_frames: u64,
    pub max_rollback_depth: u32,
    /// Ticks on which no frame advanced because the prediction window was full.
    pub stalled_ticks: u64,
    /// Consecutive stalled ticks right now.
    pub stall_streak: u32,
    pub skipped_ticks: u64,
    pub catch_up_frames: u64,
    pub rollback_events: Vec<RollbackEvent>,
}

struct Cfg<E>(PhantomData<E>);

impl<E: Env + 'static> ggrs::Config for Cfg<E> {
    type Input = NetInput;
    type InputPredictor = PredictHeld;
    type State = Game<E>;
    type Address = PeerAddr;
}

/// The netcode driver of one player.
pub struct Netcode<E: Env + 'static> {
    session: P2PSession<Cfg<E>>,
    wire: Rc<RefCell<Wire>>,
    game: Game<E>,
    local: usize,
    default_action: Action,
    stats: NetStats,
    desyncs: Vec<DesyncEvent>,
    /// Simulated episode ends not yet confirmed, by frame.
    pending_ends: BTreeMap<i32, EpisodeEnd>,
    /// Episode ends whose frame is confirmed, in order. Never changes once here.
    confirmed_ends: Vec<EpisodeEnd>,
    /// Monitoring's end of the game as simulated, not confirmed yet.
    pending_exclusion: Option<Exclusion>,
    /// Monitoring's end of the game, confirmed: final on every peer.
    exclusion: Option<Exclusion>,
    skip_ticks: u32,
    /// Focus flags of the frames as simulated, for the hook (last frame simulated).
    last_inputs: Vec<NetInput>,
    recorder: Recorder,
    /// Finished, confirmed episodes with their rows, waiting to be exported.
    finished: Vec<(EpisodeEnd, Vec<FrameRow>)>,
    /// Wall-clock time of the current tick, for row timestamps.
    now_epoch_ms: f64,
    input_delay: i32,
    /// Local key presses timed to the game and the screen (`latency.rs`).
    latency: LatencyMeter,
    /// Copies of the recent frames' states, so a group can go back to the frame it agreed on
    /// when a member left (`departure.rs`).
    recent: departure::Recent<E>,
    /// A group member who left, and the last frame it played: after it, its default action.
    departed: Option<(usize, i32)>,
    /// What every ggrs session of this game is built with (a group going on without a member
    /// starts a new one).
    built: Built,
    /// The game frame of the session's frame 0 (0, or the first frame after a departure).
    base: i32,
    /// The ggrs session's number: 0, then 1 after a group went on without a member.
    epoch: u8,
    /// The player this page plays for a member who left (its default action), if any.
    stand_in: Option<usize>,
    /// Packets of the next session that came before this page went on (`receive_in`).
    early: Vec<(PeerAddr, Vec<u8>)>,
}

impl<E: Env + 'static> std::fmt::Debug for Netcode<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Netcode")
            .field("local", &self.local)
            .field("frame", &self.game.frame)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl<E: Env + 'static> Netcode<E> {
    /// A session of the environment's players; `local` is our player index, every other
    /// player is a partner at [`PeerAddr`] of its index.
    pub fn new(
        env: E,
        plan: EpisodePlan,
        settings: NetSettings,
        local: usize,
    ) -> Result<Self, NetcodeError> {
        let players = env.num_players();
        let wire = Rc::new(RefCell::new(Wire::default()));
        let built = Built {
            players,
            fps: settings.fps,
            input_delay: settings.input_delay,
            max_prediction: settings.max_prediction,
            desync_interval: settings.desync_interval,
            disconnect_timeout_ms: settings.disconnect_timeout_ms,
        };
        let kinds =
            (0..players)
                .map(|p| {
                    if p == local {
                        PlayerType::Local
                    } else {
                        PlayerType::Remote(PeerAddr(p as u8))
                    }
                })
                .collect();
        let session = built.session(&wire, kinds)?;
        let default_action = env.default_action();
        Ok(Self {
            session,
            wire,
            game: Game::new(env, plan).with_monitor(Monitor::new(settings.monitor, players)),
            local,
            default_action,
            stats: NetStats::default(),
            desyncs: Vec::new(),
            pending_ends: BTreeMap::new(),
            confirmed_ends: Vec::new(),
            pending_exclusion: None,
            exclusion: None,
            skip_ticks: 0,
            last_inputs: vec![NetInput::default(); players],
            recorder: Recorder::new(),
            finished: Vec::new(),
            now_epoch_ms: 0.0,
            input_delay: i32::try_from(settings.input_delay).unwrap_or(i32::MAX),
            latency: LatencyMeter::default(),
            recent: departure::Recent::new(settings.keep_states),
            departed: None,
            built,
            base: 0,
            epoch: 0,
            stand_in: None,
            early: Vec::new(),
        })
    }

    /// Plays with `frames` of input delay from now on (the relay's choice for a game with
    /// `input_delay = "auto"`, set before the first frame). The delay is local to each player's
    /// inputs, so it cannot desync the game; the relay sends every player the same value.
    pub fn set_input_delay(&mut self, frames: u32) -> Result<(), NetcodeError> {
        self.session.set_input_delay(self.local, frames as usize)?;
        self.built.input_delay = frames;
        self.input_delay = i32::try_from(frames).unwrap_or(i32::MAX);
        Ok(())
    }

    /// A packet from the partner at `from`.
    pub fn receive(&mut self, from: PeerAddr, packet: Vec<u8>) {
        self.wire.borrow_mut().inbox.push((from, packet));
    }

    /// Packets to send, each with the partner it goes to.
    pub fn take_outgoing(&mut self) -> Vec<(PeerAddr, Vec<u8>)> {
        std::mem::take(&mut self.wire.borrow_mut().outbox)
    }

    /// Exchanges packets without simulating: the handshake before play starts.
    pub fn poll(&mut self) -> Vec<PeerEvent> {
        self.session.poll_remote_clients();
        self.handle_events()
    }

    /// One clock tick: exchange packets, then simulate zero, one or a few frames.
    /// `epoch_ms` (wall-clock time) only timestamps recorded rows.
    pub fn tick(&mut self, input: NetInput, epoch_ms: f64) -> Vec<PeerEvent> {
        self.now_epoch_ms = epoch_ms;
        self.session.poll_remote_clients();
        let events = self.handle_events();
        if self.session.current_state() != SessionState::Running {
            return events;
        }
        if self.skip_ticks > 0 {
            self.skip_ticks -= 1;
            self.stats.skipped_ticks += 1;
            return events;
        }
        let behind = u32::try_from(-self.session.frames_ahead()).unwrap_or(0);
        let frames = 1 + behind.saturating_sub(1).min(MAX_CATCH_UP);
        let first = self.game.frame;
        let mut advanced = 0u32;
        for _ in 0..frames {
            match self.advance_one(input) {
                Ok(true) => advanced += 1,
                Ok(false) | Err(_) => break,
            }
        }
        if advanced == 0 {
            self.stats.stalled_ticks += 1;
            self.stats.stall_streak += 1;
        } else {
            // ggrs applies a local input `input_delay` frames after the frame it was added at.
            self.latency.carried(first.saturating_add(self.input_delay));
            self.stats.stall_streak = 0;
            self.stats.catch_up_frames += u64::from(advanced - 1);
        }
        self.promote_confirmed();
        events
    }

    /// Returns whether a frame was simulated (false at the prediction limit).
    fn advance_one(&mut self, input: NetInput) -> Result<bool, GgrsError> {
        self.session.add_local_input(self.local, input)?;
        if let Some(player) = self.stand_in {
            self.session.add_local_input(player, NetInput::default())?;
        }
        let requests = match self.session.advance_frame() {
            Ok(requests) => requests,
            Err(GgrsError::PredictionThreshold) => return Ok(false),
            Err(err) => return Err(err),
        };
        let mut advances = 0u32;
        let mut loaded_at = None;
        for request in requests {
            match request {
                GgrsRequest::SaveGameState { cell, frame } => {
                    // ggrs checks the cell holds its own frame number when it loads it.
                    debug_assert_eq!(frame + self.base, self.game.frame);
                    let checksum = u128::from(self.game.state_hash());
                    cell.save(frame, Some(self.game.clone()), Some(checksum));
                    self.recent.saved(&self.game);
                }
                GgrsRequest::LoadGameState { cell, frame } => {
                    let frame = frame + self.base;
                    if let Some(game) = cell.load() {
                        self.game = game;
                    }
                    loaded_at = Some(frame);
                    self.stats.rollbacks += 1;
                    // Episode ends and rows at or after the loaded frame are simulated again.
                    self.pending_ends.retain(|&end_frame, _| end_frame < frame);
                    self.pending_exclusion =
                        self.pending_exclusion.take().filter(|e| e.frame < frame);
                    self.recorder.rolled_back(frame);
                }
                GgrsRequest::AdvanceFrame { inputs } => {
                    self.simulate(&inputs);
                    advances += 1;
                }
            }
        }
        self.recorder.end_batch();
        if let (Some(frame), true) = (loaded_at, advances > 0) {
            // All but the newest frame of a batch after a load are re-simulations.
            let depth = advances - 1;
            self.stats.resimulated_frames += u64::from(depth);
            self.stats.max_rollback_depth = self.stats.max_rollback_depth.max(depth);
            if self.stats.rollback_events.len() < MAX_ROLLBACK_EVENTS {
                self.stats.rollback_events.push(RollbackEvent { frame, depth });
            }
        }
        Ok(advances > 0)
    }

    fn simulate(&mut self, inputs: &[(NetInput, InputStatus)]) {
        let inputs = self.as_played(inputs);
        let inputs = inputs.as_slice();
        let actions: Vec<Action> = inputs
            .iter()
            .map(|(input, status)| match (status, input.action) {
                (InputStatus::Disconnected, _) | (_, NO_ACTION) => self.default_action,
                (_, action) => action,
            })
            .collect();
        self.last_inputs = inputs.iter().map(|(input, _)| *input).collect();
        // A disconnected player's last input is not its presence any more.
        let presence: Vec<Presence> = inputs
            .iter()
            .map(|(input, status)| match status {
                InputStatus::Disconnected => Presence::default(),
                _ => Presence { focused: input.focused, slow: input.slow },
            })
            .collect();
        let frame = self.game.frame;
        self.latency.simulated(frame, self.now_epoch_ms);
        let outcome = self.game.advance_with(&actions, &presence);
        if outcome.exclusion.is_some() {
            self.pending_exclusion = outcome.exclusion;
        }
        if let Some(step) = outcome.step {
            self.recorder.record(
                frame,
                FrameRow {
                    frame,
                    episode: step.episode,
                    t: step.t,
                    actions,
                    rewards: step.result.rewards,
                    terminated: step.result.terminated,
                    truncated: step.truncated,
                    focused: inputs.iter().map(|(input, _)| input.focused).collect(),
                    state_hash: step.state_hash,
                    info: step.result.info,
                    was_speculative: inputs
                        .iter()
                        .map(|(_, status)| *status == InputStatus::Predicted)
                        .collect(),
                    rollbacks: 0,
                    timestamp_ms: self.now_epoch_ms,
                    confirmed: true,
                },
            );
        }
        if let Some(end) = outcome.episode_end {
            self.pending_ends.insert(end.frame, end);
        }
    }

    fn handle_events(&mut self) -> Vec<PeerEvent> {
        let mut out = Vec::new();
        let events: Vec<_> = self.session.events().collect();
        for event in events {
            match event {
                GgrsEvent::Synchronized { addr } => out.push(PeerEvent::Synchronized(addr)),
                GgrsEvent::NetworkInterrupted { addr, .. } => {
                    out.push(PeerEvent::Interrupted(addr));
                }
                GgrsEvent::NetworkResumed { addr } => out.push(PeerEvent::Resumed(addr)),
                GgrsEvent::Disconnected { addr } => out.push(PeerEvent::Disconnected(addr)),
                GgrsEvent::WaitRecommendation { skip_frames } => self.skip_ticks += skip_frames,
                GgrsEvent::DesyncDetected { frame, local_checksum, remote_checksum, .. } => {
                    let mut local_state = Vec::new();
                    self.game.env.write_state(&mut local_state);
                    self.desyncs.push(DesyncEvent {
                        frame: frame + self.base,
                        local_checksum: local_checksum as u64,
                        remote_checksum: remote_checksum as u64,
                        local_state,
                    });
                }
                GgrsEvent::Synchronizing { .. } => {}
            }
        }
        out
    }

    fn promote_confirmed(&mut self) {
        // With input delay, ggrs can hold confirmed inputs for frames not simulated yet; only
        // simulated frames can be promoted.
        let confirmed = self.confirmed_frame().min(self.game.frame - 1);
        self.recorder.confirm(confirmed);
        while let Some(entry) = self.pending_ends.first_entry() {
            if *entry.key() > confirmed {
                break;
            }
            let end = entry.remove();
            let rows = self.recorder.take_episode(end.episode);
            self.finished.push((end.clone(), rows));
            self.confirmed_ends.push(end);
        }
        if self.pending_exclusion.as_ref().is_some_and(|e| e.frame <= confirmed) {
            self.exclusion = self.pending_exclusion.take();
        }
    }

    /// Monitoring ended the game at a confirmed frame: every peer ends it there.
    pub fn exclusion(&self) -> Option<&Exclusion> {
        self.exclusion.as_ref()
    }

    /// Episodes that became final since the last call, with their canonical rows.
    pub fn take_finished_episodes(&mut self) -> Vec<(EpisodeEnd, Vec<FrameRow>)> {
        std::mem::take(&mut self.finished)
    }

    /// The episode under way, cut short (the partner left): its rows so far, those past the
    /// last confirmed frame marked. `None` between episodes or when all are over.
    pub fn take_partial_episode(&mut self) -> Option<(u32, Vec<FrameRow>)> {
        if self.game.stage != Stage::Playing {
            return None;
        }
        let episode = self.game.episode;
        let rows = self.recorder.take_partial(episode);
        (!rows.is_empty()).then_some((episode, rows))
    }

    /// The episode under way cut after `last_frame` (a group's agreed end when a member left):
    /// its rows up to that frame, every one confirmed when `last_frame` is. `None` when no row
    /// of the episode is that early, between episodes or when all are over.
    pub fn take_episode_until(&mut self, last_frame: i32) -> Option<(u32, Vec<FrameRow>)> {
        let (episode, mut rows) = self.take_partial_episode()?;
        rows.retain(|r| r.frame <= last_frame);
        (!rows.is_empty()).then_some((episode, rows))
    }

    /// Local key presses on their way to the screen and the episode's latency so far.
    pub fn latency(&self) -> &LatencyMeter {
        &self.latency
    }

    pub fn latency_mut(&mut self) -> &mut LatencyMeter {
        &mut self.latency
    }

    /// The confirmed rows of `episode` so far (empty once the episode is taken as finished).
    pub fn confirmed_rows(&self, episode: u32) -> &[FrameRow] {
        self.recorder.confirmed_rows(episode)
    }

    pub fn game(&self) -> &Game<E> {
        &self.game
    }

    pub fn is_running(&self) -> bool {
        self.session.current_state() == SessionState::Running
    }

    /// The last frame every player's input is in for (game frames).
    pub fn confirmed_frame(&self) -> i32 {
        match self.session.confirmed_frame() {
            // A new session (after a departure) has confirmed nothing of its own yet.
            ggrs::NULL_FRAME => self.base - 1,
            frame => frame + self.base,
        }
    }

    /// The last frame whose row is final (simulated with every player's confirmed input).
    pub fn recorded_frame(&self) -> i32 {
        self.recorder.confirmed_frame()
    }

    pub fn stats(&self) -> &NetStats {
        &self.stats
    }

    pub fn wire(&self) -> std::cell::Ref<'_, Wire> {
        self.wire.borrow()
    }

    pub fn desyncs(&self) -> &[DesyncEvent] {
        &self.desyncs
    }

    /// Episodes whose last frame is confirmed: final on both peers.
    pub fn confirmed_episodes(&self) -> &[EpisodeEnd] {
        &self.confirmed_ends
    }

    /// Every episode is over and confirmed.
    pub fn is_finished(&self) -> bool {
        self.confirmed_ends.len() as u32 >= self.game.plan().num_episodes
    }

    /// The inputs of the most recently simulated frame (focus flags for the status line).
    pub fn last_inputs(&self) -> &[NetInput] {
        &self.last_inputs
    }

    /// Round trip to the partner `peer` as ggrs measures it, if known yet.
    pub fn ping_ms(&self, peer: PeerAddr) -> Option<u128> {
        self.session.network_stats(usize::from(peer.0)).ok().map(|s| s.ping)
    }
}

#[cfg(test)]
mod tests;
