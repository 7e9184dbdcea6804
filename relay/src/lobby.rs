//! The lobby core: who is connected, who waits, who is paired with whom.
//!
//! A sans-IO state machine: [`Lobby`] takes events (a connection opened, a message arrived,
//! a round trip was measured, time passed, a connection closed) with the current time and
//! returns the [`Action`]s to carry out. It never awaits, never reads a clock and never touches
//! a socket, so it is tested directly, and the async driver in `hub.rs` stays a thin loop.
//!
//! Participants go through the experiment's scenes; in a gym scene they wait until the scene's
//! matchmaker groups them, then the game is validating (countdown, connection check) and
//! playing. Games that never start are dissolved back into the waiting room. Where a scene sets
//! `max_p2p_rtt_ms`, a proposed pair first measures its peer-to-peer round trip (`probe.rs`).

use std::collections::{HashMap, HashSet, VecDeque};

use rollgym_protocol::{
    AdminRecord, AdmittingProbe, ClientErrorRecord, ClientMsg, ExperimentConfig, GameId, GymScene,
    MatchLogRecord, PROTOCOL_VERSION, ParticipantId, ProbeId, ProbeResult, Scene, ScreenRule,
    ScreeningRecord, ServerMsg, SpectateFrames, Upload, UploadId,
};

use crate::{
    error::{RequestError, UploadError},
    matchmaking::{self, Matchmaker},
};

mod admin;
mod admission;
mod conn;
mod games;
mod health;
mod ids;
#[cfg(test)]
mod invariants;
mod probe;
mod problems;
mod progress;
mod roster;
mod screening;
mod snapshot;
mod spectate;
mod study;
mod timers;
mod waiting;

pub use admin::AdminError;
use admission::Assignment;
pub use admission::{MAX_ROW_BYTES, MAX_SIDECAR_BYTES, max_upload_bytes};
use conn::{Conn, Phase};
use games::Game;
pub use games::{GameState, VALIDATION_TIMEOUT_MS};
use health::GameBook;
pub use health::{
    DEGRADED_FRAMES_BEHIND, DEGRADED_ROLLBACKS_PER_S, DEGRADED_RTT_MS, FinishedGame, Flag, GameRow,
    PlayerHealth, SILENT_AFTER_MS,
};
use ids::IdSource;
use probe::Probe;
pub use probe::{ENDED_PROBES_REMEMBERED, PROBE_TIMEOUT_MS};
use problems::Problems;
pub use problems::{
    Problem, ProblemsSnapshot, REPORTS_PER_MINUTE, ReportRefused, UNHEALTHY_PROBLEM_MS,
};
pub use progress::Progress;
use roster::Roster;
pub use roster::{ParticipantDetail, ParticipantRow, Place, Step};
pub use snapshot::{SceneSnapshot, Snapshot};
pub use spectate::WatchStart;
use study::Study;
pub use study::{AdminCommand, Funnel};
use timers::{Timer, Timers};

/// Identifies one WebSocket connection for the lifetime of the relay process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// What the driver must do after an event.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Send(ConnId, ServerMsg),
    /// Refuse the message that caused this event; the driver turns it into an error reply.
    Refuse(ConnId, RequestError),
    /// Close the connection (after any message queued before this action).
    Close(ConnId),
    /// Write an upload to disk, then acknowledge it to the connection. `players` are its
    /// game's, in player order, as the lobby formed it (their files are compared with it).
    Store {
        conn: ConnId,
        upload: Box<Upload>,
        players: Vec<ParticipantId>,
    },
    /// Answer an upload that can never be stored.
    RefuseUpload(ConnId, UploadId, UploadError),
    /// Append one line to the match log.
    LogMatch(MatchLogRecord),
    /// Journal a participant's new progress (read back when the relay restarts).
    RecordProgress {
        participant: ParticipantId,
        progress: Progress,
    },
    /// Append one line to `screening.jsonl`.
    LogScreening(Box<ScreeningRecord>),
    /// Append one line to `admin_actions.jsonl`.
    LogAdmin(AdminRecord),
    /// Append one line to `client_errors.jsonl`.
    LogClientError(Box<ClientErrorRecord>),
    /// Have the relay's own peer answer this page's offer and measure it.
    ScreenPeerOffer {
        conn: ConnId,
        sdp: String,
    },
    /// A candidate the page trickled for that peer (the candidate attribute, its m-line id
    /// and index).
    ScreenPeerCandidate {
        conn: ConnId,
        candidate: String,
        mid: Option<String>,
        index: Option<u16>,
    },
    /// The page's screening is over: close its peer connection.
    EndScreenPeer(ConnId),
    /// Rows of a watched game for the consoles watching it.
    Spectate(Box<SpectateFrames>),
    /// A watched game is over: its watchers' streams end.
    SpectateEnd(GameId),
}

/// All participants of one relay.
#[derive(Debug)]
pub struct Lobby {
    experiment: ExperimentConfig,
    scenes: Vec<Scene>,
    /// One per scene; `None` for static scenes.
    matchmakers: Vec<Option<Box<dyn Matchmaker>>>,
    /// Everyone each participant has been grouped with, most recent first.
    history: HashMap<ParticipantId, Vec<ParticipantId>>,
    /// How far each participant seen got (see `progress.rs`).
    progress: HashMap<ParticipantId, Progress>,
    /// Scene and start of the wait of participants who disconnected while waiting, so the
    /// waiting-room timeout counts from their first arrival if they come back.
    interrupted_waits: HashMap<ParticipantId, (usize, u64)>,
    games: HashMap<GameId, Game>,
    /// Every game ever formed, by id (also those read back from the match logs): which
    /// uploads are admitted (`admission.rs`).
    assignments: HashMap<GameId, Assignment>,
    /// Pairs whose connection could not be validated, or whose probe failed or was too slow:
    /// never matched again.
    rejected: HashSet<(ParticipantId, ParticipantId)>,
    probes: HashMap<ProbeId, Probe>,
    /// Pairs whose probe passed while both wait for a group of more than two (the probe and
    /// its round trip), until one of them leaves the waiting room.
    probed: HashMap<(ParticipantId, ParticipantId), AdmittingProbe>,
    conns: HashMap<ConnId, Conn>,
    /// Screening decisions by participant: `None` passed, else the rule that turned it away
    /// and the message it was shown (see `screening.rs`).
    screened: HashMap<ParticipantId, Option<(ScreenRule, String)>>,
    /// The round trip entry screening measured over the relay's own WebRTC peer, per
    /// participant (`[matchmaking] rtt_source = "webrtc"`).
    webrtc_rtt: HashMap<ParticipantId, u32>,
    /// Loading timeouts (`[loading] timeout_ms`), counted for the admin page.
    loading_failed: usize,
    /// The study switch and the funnel (`study.rs`).
    study: Study,
    /// What the console lists as problems (`problems.rs`).
    problems: Problems,
    /// Everyone seen, where each is and was (`roster.rs`).
    roster: Roster,
    /// Ended games and parity results (`health.rs`).
    book: GameBook,
    /// Live owner of each participant id: a second tab with the same id is refused.
    owners: HashMap<ParticipantId, ConnId>,
    /// One waiting line per scene (empty for static scenes), longest-waiting first.
    rooms: Vec<VecDeque<ConnId>>,
    timers: Timers,
    ids: IdSource,
    /// Games admin consoles watch (`spectate.rs`).
    watched: spectate::Watches,
}

impl Lobby {
    /// `id_seed` feeds the generator of participant and game ids; the driver passes real
    /// entropy, tests a constant.
    pub fn new(experiment: ExperimentConfig, id_seed: u64) -> Self {
        let scenes = experiment.scenes();
        let matchmakers = scenes
            .iter()
            .map(|s| s.gym().map(|g| matchmaking::from_config(&g.matchmaking)))
            .collect();
        Self {
            rooms: vec![VecDeque::new(); scenes.len()],
            scenes,
            matchmakers,
            history: HashMap::new(),
            progress: HashMap::new(),
            interrupted_waits: HashMap::new(),
            games: HashMap::new(),
            assignments: HashMap::new(),
            rejected: HashSet::new(),
            probes: HashMap::new(),
            probed: HashMap::new(),
            experiment,
            conns: HashMap::new(),
            screened: HashMap::new(),
            webrtc_rtt: HashMap::new(),
            loading_failed: 0,
            study: Study::default(),
            problems: Problems::default(),
            roster: Roster::default(),
            book: GameBook::default(),
            owners: HashMap::new(),
            timers: Timers::default(),
            ids: IdSource(id_seed),
            watched: Default::default(),
        }
    }

    pub fn connected(&mut self, conn: ConnId) {
        self.conns.insert(conn, Conn::new());
    }

    /// A server round trip measured on `conn` (WebSocket ping to pong).
    pub fn rtt_sample(&mut self, conn: ConnId, rtt_ms: u32) {
        if let Some(state) = self.conns.get_mut(&conn) {
            state.rtt_sample(rtt_ms);
        }
    }

    /// The median server round trip of a connection.
    pub fn rtt_of(&self, conn: ConnId) -> Option<u32> {
        self.conns.get(&conn)?.rtt_ms()
    }

    /// Time passes: games whose countdown is over start, games not validated in time are
    /// dissolved, participants who waited past the waiting room's timeout leave it.
    /// Whether this participant has taken part in the experiment: connected now, or recorded
    /// in the progress journal.
    pub fn knows(&self, participant: &ParticipantId) -> bool {
        self.progress.contains_key(participant) || self.owners.contains_key(participant)
    }

    pub fn tick(&mut self, now_ms: u64) -> Vec<Action> {
        let actions = self.on_tick(now_ms);
        self.settle(None, actions, now_ms)
    }

    /// After every event: watches follow their games (`spectate.rs`), and the roster
    /// observes the connections the event touched (`roster.rs`).
    fn settle(
        &mut self,
        origin: Option<ConnId>,
        mut actions: Vec<Action>,
        now_ms: u64,
    ) -> Vec<Action> {
        actions.extend(self.refresh_watches());
        self.observe(origin, &actions, now_ms);
        actions
    }

    fn on_tick(&mut self, now_ms: u64) -> Vec<Action> {
        let mut actions = Vec::new();
        let mut waits = Vec::new();
        while let Some(timer) = self.timers.pop_due(now_ms) {
            match timer {
                Timer::Countdown(game_id) => actions.extend(self.maybe_start(&game_id, now_ms)),
                Timer::Validation(game_id) => {
                    actions.extend(self.expire_validation(&game_id, now_ms));
                }
                Timer::Probe(probe_id) => actions.extend(self.expire_probe(&probe_id, now_ms)),
                Timer::Waiting(conn) => waits.push(conn),
                Timer::Screening(conn) => actions.extend(self.expire_screening(conn, now_ms)),
            }
        }
        actions.extend(self.expire_waiting(waits, now_ms));
        actions
    }

    /// When [`tick`](Self::tick) next has something to do, in lobby time; `None` while
    /// nothing is pending. The driver sleeps until then (or the next event, which may bring
    /// the deadline forward).
    pub fn poll_timeout(&self) -> Option<u64> {
        self.timers.next()
    }

    /// The gym scene a connection is in, if it is in one.
    fn gym_of(&self, conn: ConnId) -> Option<&GymScene> {
        self.scenes.get(self.conns.get(&conn)?.scene)?.gym()
    }

    pub fn message(&mut self, conn: ConnId, msg: ClientMsg, now_ms: u64) -> Vec<Action> {
        let actions = self.on_message(conn, msg, now_ms);
        self.settle(Some(conn), actions, now_ms)
    }

    fn on_message(&mut self, conn: ConnId, msg: ClientMsg, now_ms: u64) -> Vec<Action> {
        let Some(state) = self.conns.get(&conn) else {
            // The connection already closed; its last messages raced the close.
            return Vec::new();
        };
        match (msg, &state.phase) {
            (ClientMsg::Hello { protocol_version, participant_id, rejoin }, Phase::Greeting) => {
                self.hello(conn, protocol_version, participant_id, rejoin, now_ms)
            }
            (ClientMsg::Hello { .. }, _) => {
                vec![Action::Refuse(conn, RequestError::AlreadyGreeted)]
            }
            (_, Phase::Greeting) => vec![Action::Refuse(conn, RequestError::HelloRequired)],
            (ClientMsg::Signal { to, payload }, _) => self.signal(conn, to, payload),
            (ClientMsg::Upload(upload), _) => self.upload(conn, *upload, now_ms),
            (ClientMsg::Validated { game_id, env, rtt_ms }, _) => {
                self.validated(conn, game_id, (env, rtt_ms), now_ms)
            }
            (ClientMsg::Advance { from }, _) => self.advance(conn, from, now_ms),
            (ClientMsg::ProbeSignal { probe_id, payload }, _) => {
                self.probe_signal(conn, probe_id, payload)
            }
            (ClientMsg::ProbeResult { probe_id, rtt_ms }, _) => {
                self.probe_result(conn, &probe_id, rtt_ms, now_ms)
            }
            (ClientMsg::ScreenFacts(facts), _) => self.screen_facts(conn, *facts, now_ms),
            (ClientMsg::ScreenSignal { payload }, _) => self.screen_signal(conn, payload),
            (ClientMsg::Health(report), _) => self.health(conn, *report, now_ms),
            (ClientMsg::Frames(batch), _) => self.frames(conn, *batch),
        }
    }

    /// The connection is gone. Cleans up everything it was part of, exactly once.
    pub fn disconnected(&mut self, conn: ConnId, now_ms: u64) -> Vec<Action> {
        let actions = self.on_disconnected(conn, now_ms);
        self.settle(Some(conn), actions, now_ms)
    }

    fn on_disconnected(&mut self, conn: ConnId, now_ms: u64) -> Vec<Action> {
        let Some(state) = self.conns.remove(&conn) else {
            return Vec::new();
        };
        if let Some(id) = &state.participant
            && self.owners.get(id) == Some(&conn)
        {
            self.owners.remove(id);
        }
        let mut actions = Vec::new();
        match state.phase {
            Phase::Waiting => {
                self.leave_room(state.scene, &[conn]);
                self.forget_probed(state.participant.as_slice());
                if let (Some(id), Some(since)) = (&state.participant, state.waiting_since) {
                    self.interrupted_waits.insert(id.clone(), (state.scene, since));
                }
                if let Some(probe_id) = &state.probe {
                    actions.extend(self.end_probe(probe_id, ProbeResult::Left, None, now_ms));
                }
                actions.extend(self.waiting_counts(state.scene));
            }
            Phase::Paired { game_id } => {
                actions.extend(self.member_left(conn, &game_id, state.participant, now_ms));
            }
            Phase::Screening { .. } => actions.push(Action::EndScreenPeer(conn)),
            Phase::Greeting
            | Phase::PartnerGone
            | Phase::Returning
            | Phase::TimedOut
            | Phase::Exited
            | Phase::Page => {}
        }
        actions
    }

    fn hello(
        &mut self,
        conn: ConnId,
        version: u32,
        requested: Option<ParticipantId>,
        rejoin: bool,
        now_ms: u64,
    ) -> Vec<Action> {
        if version != PROTOCOL_VERSION {
            let err = RequestError::ProtocolVersion { client: version, relay: PROTOCOL_VERSION };
            return vec![Action::Refuse(conn, err), Action::Close(conn)];
        }
        let participant = match requested {
            Some(id) => id,
            None => self.ids.participant_id(),
        };
        if self.owners.contains_key(&participant) {
            let err = RequestError::DuplicateParticipant(participant);
            return vec![Action::Refuse(conn, err), Action::Close(conn)];
        }
        self.owners.insert(participant.clone(), conn);
        if let Some(state) = self.conns.get_mut(&conn) {
            state.participant = Some(participant.clone());
            state.phase = Phase::Returning;
        }
        let mut actions = vec![Action::Send(
            conn,
            ServerMsg::Welcome {
                protocol_version: PROTOCOL_VERSION,
                participant_id: participant,
                experiment: self.experiment.experiment.id.clone(),
            },
        )];
        actions.extend(self.resume(conn, rejoin, now_ms));
        actions
    }

    /// The participant id of a greeted connection.
    pub fn participant_of(&self, conn: ConnId) -> Option<&ParticipantId> {
        self.conns.get(&conn)?.participant.as_ref()
    }
}

/// A pair of participants in a canonical order.
fn ordered(a: &ParticipantId, b: &ParticipantId) -> (ParticipantId, ParticipantId) {
    if a <= b { (a.clone(), b.clone()) } else { (b.clone(), a.clone()) }
}

#[cfg(test)]
mod tests;
