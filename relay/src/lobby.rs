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

use serde_json::json;

use rollgym_protocol::{
    ClientMsg, ExperimentConfig, GymScene, IdError, PROTOCOL_VERSION, ParticipantId, PeerInfo,
    SafeId, Scene, ServerMsg, SignalPayload, Upload,
};

use crate::{
    error::{RequestError, UploadError},
    matchmaking::{self, Candidate, Matchmaker},
};

mod admission;
mod probe;
mod progress;
mod snapshot;

use admission::Assignment;
pub use admission::{MAX_ROW_BYTES, MAX_SIDECAR_BYTES, max_upload_bytes};
use probe::Probe;
pub use probe::{ENDED_PROBES_REMEMBERED, PROBE_TIMEOUT_MS};
pub use progress::{LoggedDecision, Progress};
pub use snapshot::{SceneSnapshot, Snapshot};

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
    RefuseUpload(ConnId, SafeId, UploadError),
    /// Append one line to the match log.
    LogMatch(serde_json::Value),
    /// Journal a participant's new progress (read back when the relay restarts).
    RecordProgress {
        participant: ParticipantId,
        progress: Progress,
    },
}

/// Server round-trip samples kept per participant (the median is over these).
const RTT_WINDOW: usize = 20;

/// A matched pair must have a validated peer-to-peer connection within this time, or both go
/// back to the waiting room (and are not matched with each other again).
pub const VALIDATION_TIMEOUT_MS: u64 = 15_000;

/// Where a game is. It exists only once all of its players are assigned (matched); it is
/// validating while the countdown runs and the players connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GameState {
    Validating,
    Playing,
}

#[derive(Debug)]
struct Game {
    members: Vec<ConnId>,
    /// The members' participant ids, in player order (kept for the log once they are gone).
    participants: Vec<ParticipantId>,
    scene: usize,
    state: GameState,
    /// Lobby time at which the "Players found!" countdown is over.
    countdown_ends_at: u64,
    /// Lobby time by which every member must have validated its connection.
    validate_by: u64,
    validated: HashSet<ConnId>,
}

const GROUP_SIZE: usize = 2;

#[derive(Debug)]
enum Phase {
    /// Connected, no `hello` yet.
    Greeting,
    Waiting,
    Paired {
        game_id: String,
        partner: ConnId,
    },
    /// The partner left; nothing more happens until this participant leaves too.
    PartnerGone,
    /// Came back to finish a game or deliver data (`hello` with `rejoin`), or after finishing
    /// the experiment; never matched. May leave its scene if its progress says its game there
    /// started.
    Returning,
    /// On a static scene (instructions, a thank-you page).
    Page,
    /// Waited longer than the waiting room's timeout; never matched.
    TimedOut,
}

#[derive(Debug)]
struct Conn {
    participant: Option<ParticipantId>,
    phase: Phase,
    /// Recent server round trips, ms, oldest first.
    rtt_samples: VecDeque<u32>,
    /// When this participant entered the waiting room (ms, lobby time).
    waiting_since: Option<u64>,
    /// The index of the scene the participant is in.
    scene: usize,
    /// The probe this participant is in (it is still waiting); at most one at a time.
    probe: Option<SafeId>,
    /// The probes it was in that have ended, most recent last: their late messages are
    /// expected, not errors. Bounded ([`ENDED_PROBES_REMEMBERED`]).
    ended_probes: VecDeque<SafeId>,
}

impl Conn {
    /// Median of the recent server round trips.
    fn rtt_ms(&self) -> Option<u32> {
        let mut sorted: Vec<u32> = self.rtt_samples.iter().copied().collect();
        sorted.sort_unstable();
        let n = sorted.len();
        match n {
            0 => None,
            _ if n % 2 == 1 => Some(sorted[n / 2]),
            _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2),
        }
    }
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
    games: HashMap<String, Game>,
    /// Every game ever formed, by id (also those read back from the match logs): which
    /// uploads are admitted (`admission.rs`).
    assignments: HashMap<String, Assignment>,
    /// Pairs whose connection could not be validated, or whose probe failed or was too slow:
    /// never matched again.
    rejected: HashSet<(ParticipantId, ParticipantId)>,
    probes: HashMap<SafeId, Probe>,
    conns: HashMap<ConnId, Conn>,
    /// Live owner of each participant id: a second tab with the same id is refused.
    owners: HashMap<ParticipantId, ConnId>,
    waiting: VecDeque<ConnId>,
    ids: IdSource,
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
            scenes,
            matchmakers,
            history: HashMap::new(),
            progress: HashMap::new(),
            interrupted_waits: HashMap::new(),
            games: HashMap::new(),
            assignments: HashMap::new(),
            rejected: HashSet::new(),
            probes: HashMap::new(),
            experiment,
            conns: HashMap::new(),
            owners: HashMap::new(),
            waiting: VecDeque::new(),
            ids: IdSource(id_seed),
        }
    }

    pub fn connected(&mut self, conn: ConnId) {
        let state = Conn {
            participant: None,
            phase: Phase::Greeting,
            rtt_samples: VecDeque::with_capacity(RTT_WINDOW),
            waiting_since: None,
            scene: 0,
            probe: None,
            ended_probes: VecDeque::new(),
        };
        self.conns.insert(conn, state);
    }

    /// A server round trip measured on `conn` (WebSocket ping to pong).
    pub fn rtt_sample(&mut self, conn: ConnId, rtt_ms: u32) {
        if let Some(state) = self.conns.get_mut(&conn) {
            if state.rtt_samples.len() == RTT_WINDOW {
                state.rtt_samples.pop_front();
            }
            state.rtt_samples.push_back(rtt_ms);
        }
    }

    /// The median server round trip of a connection.
    pub fn rtt_of(&self, conn: ConnId) -> Option<u32> {
        self.conns.get(&conn)?.rtt_ms()
    }

    /// Time passes: games whose countdown is over start, games not validated in time are
    /// dissolved, participants who waited past the waiting room's timeout leave it.
    pub fn tick(&mut self, now_ms: u64) -> Vec<Action> {
        let mut actions = Vec::new();
        let ids: Vec<String> = self.games.keys().cloned().collect();
        for game_id in ids {
            actions.extend(self.maybe_start(&game_id, now_ms));
            let expired = self
                .games
                .get(&game_id)
                .is_some_and(|g| g.state == GameState::Validating && now_ms >= g.validate_by);
            if expired {
                tracing::warn!(game = %game_id, "connection not validated in time; back to the waiting room");
                actions.extend(self.dissolve(&game_id, None, now_ms));
            }
        }
        actions.extend(self.expire_probes(now_ms));
        actions.extend(self.expire_waiting(now_ms));
        actions
    }

    /// Participants in a probe time out once it is over.
    fn expire_waiting(&mut self, now_ms: u64) -> Vec<Action> {
        let expired: Vec<ConnId> = self
            .waiting
            .iter()
            .copied()
            .filter(|c| self.conns.get(c).is_some_and(|s| s.probe.is_none()))
            .filter(|c| {
                let timeout =
                    self.gym_of(*c).map_or(u64::MAX, |g| u64::from(g.waiting_room.timeout_ms));
                self.conns
                    .get(c)
                    .and_then(|s| s.waiting_since)
                    .is_some_and(|t| now_ms.saturating_sub(t) >= timeout)
            })
            .collect();
        if expired.is_empty() {
            return Vec::new();
        }
        self.waiting.retain(|c| !expired.contains(c));
        let mut actions = Vec::new();
        let mut scenes = HashSet::new();
        for conn in expired {
            let Some(room) = self.gym_of(conn).map(|g| g.waiting_room.clone()) else { continue };
            if let Some(state) = self.conns.get_mut(&conn) {
                state.phase = Phase::TimedOut;
                state.waiting_since = None;
                scenes.insert(state.scene);
            }
            tracing::info!(conn = conn.0, "waiting room timed out");
            actions.push(Action::Send(
                conn,
                ServerMsg::WaitTimedOut {
                    message: room.timeout_message,
                    redirect_url: room.timeout_redirect_url,
                    completion_code: room.timeout_completion_code,
                },
            ));
        }
        for scene in scenes {
            actions.extend(self.waiting_counts(scene));
        }
        actions
    }

    /// The gym scene a connection is in, if it is in one.
    fn gym_of(&self, conn: ConnId) -> Option<&GymScene> {
        self.scenes.get(self.conns.get(&conn)?.scene)?.gym()
    }

    /// Moves a participant into scene `index`: shows it, and for a gym scene enters its
    /// waiting room.
    fn enter_scene(&mut self, conn: ConnId, index: usize, now_ms: u64) -> Vec<Action> {
        let Some(scene) = self.scenes.get(index) else { return Vec::new() };
        let view = scene.view();
        let is_gym = scene.gym().is_some();
        let Some(state) = self.conns.get_mut(&conn) else { return Vec::new() };
        state.scene = index;
        let last = index + 1 == self.scenes.len();
        let mut actions =
            vec![Action::Send(conn, ServerMsg::Scene { index: index as u32, view, last })];
        actions.extend(self.record_progress(conn, Progress { scene: index, played: false }));
        // Back in the waiting room it dropped out of (a lost connection): the wait goes on.
        let resumed_wait = self
            .conns
            .get(&conn)
            .and_then(|s| s.participant.as_ref())
            .and_then(|p| self.interrupted_waits.remove(p))
            .filter(|(scene, _)| *scene == index)
            .map(|(_, since)| since);
        let Some(state) = self.conns.get_mut(&conn) else { return actions };
        if !is_gym {
            state.phase = Phase::Page;
            return actions;
        }
        state.phase = Phase::Waiting;
        state.waiting_since = Some(resumed_wait.unwrap_or(now_ms));
        actions.extend(self.join_waiting(conn, now_ms));
        if self.conns.get(&conn).is_some_and(|s| matches!(s.phase, Phase::Waiting)) {
            actions.extend(self.waiting_counts(index));
        }
        actions
    }

    /// Puts a participant at the end of its scene's waiting line and looks for its match.
    fn join_waiting(&mut self, conn: ConnId, now_ms: u64) -> Vec<Action> {
        self.waiting.push_back(conn);
        self.try_match(conn, now_ms)
    }

    /// Matches a waiting participant if its matchmaker finds a group; where the scene
    /// probes, starts a probe with the best-ranked candidate instead.
    fn try_match(&mut self, conn: ConnId, now_ms: u64) -> Vec<Action> {
        match self.probe_threshold(conn) {
            None => {
                let Some(members) = self.find_match(conn) else { return Vec::new() };
                self.waiting.retain(|c| !members.contains(c));
                self.start_game(&members, now_ms, None)
            }
            Some(max_rtt_ms) => {
                let Some(candidate) = self.ranked_candidates(conn).into_iter().next() else {
                    return Vec::new();
                };
                self.start_probe([candidate, conn], max_rtt_ms, now_ms)
            }
        }
    }

    /// The participant is finished with its current scene `from`.
    fn advance(&mut self, conn: ConnId, from: u32, now_ms: u64) -> Vec<Action> {
        let Some(state) = self.conns.get(&conn) else { return Vec::new() };
        let finished = match &state.phase {
            Phase::Page | Phase::PartnerGone => true,
            Phase::Returning => state.participant.as_ref().is_some_and(|p| {
                self.progress_of(p) == Progress { scene: state.scene, played: true }
            }),
            Phase::Paired { game_id, .. } => {
                self.games.get(game_id).is_some_and(|g| g.state == GameState::Playing)
            }
            _ => false,
        };
        if state.scene as u32 != from || !finished {
            return vec![Action::Refuse(conn, RequestError::NotInScene(from))];
        }
        if let Phase::Paired { game_id, .. } = &state.phase {
            let game_id = game_id.clone();
            if let Some(game) = self.games.get_mut(&game_id) {
                game.members.retain(|m| *m != conn);
                if game.members.is_empty() {
                    self.games.remove(&game_id);
                }
            }
        }
        let next = from as usize + 1;
        if next >= self.scenes.len() {
            return Vec::new();
        }
        self.enter_scene(conn, next, now_ms)
    }

    pub fn message(&mut self, conn: ConnId, msg: ClientMsg, now_ms: u64) -> Vec<Action> {
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
            (ClientMsg::Upload(upload), _) => self.upload(conn, *upload),
            (ClientMsg::Validated { game_id }, Phase::Paired { game_id: mine, .. })
                if game_id.as_str() == mine =>
            {
                let game_id = mine.clone();
                if let Some(game) = self.games.get_mut(&game_id) {
                    game.validated.insert(conn);
                }
                self.maybe_start(&game_id, now_ms)
            }
            (ClientMsg::Validated { game_id }, _) => {
                vec![Action::Refuse(conn, RequestError::NotInGame(game_id))]
            }
            (ClientMsg::Advance { from }, _) => self.advance(conn, from, now_ms),
            (ClientMsg::ProbeSignal { probe_id, payload }, _) => {
                self.probe_signal(conn, probe_id, payload)
            }
            (ClientMsg::ProbeResult { probe_id, rtt_ms }, _) => {
                self.probe_result(conn, &probe_id, rtt_ms, now_ms)
            }
        }
    }

    /// Starts a validating game once every member validated and the countdown is over.
    fn maybe_start(&mut self, game_id: &str, now_ms: u64) -> Vec<Action> {
        let Some(game) = self.games.get_mut(game_id) else { return Vec::new() };
        let ready = game.state == GameState::Validating
            && now_ms >= game.countdown_ends_at
            && game.members.iter().all(|m| game.validated.contains(m));
        if !ready {
            return Vec::new();
        }
        game.state = GameState::Playing;
        tracing::info!(game = %game_id, "game started");
        let Ok(id) = SafeId::parse(game_id) else { return Vec::new() };
        let members = game.members.clone();
        let mut actions = Vec::new();
        for member in members {
            actions.push(Action::Send(member, ServerMsg::Start { game_id: id.clone() }));
            let scene = self.conns.get(&member).map_or(0, |s| s.scene);
            actions.extend(self.record_progress(member, Progress { scene, played: true }));
        }
        actions
    }

    /// Ends a game that never started: the remaining members go back to the waiting room.
    /// `left` is the member who disconnected, if that is why; otherwise the connection failed
    /// and the pair is never matched again.
    fn dissolve(&mut self, game_id: &str, left: Option<ConnId>, now_ms: u64) -> Vec<Action> {
        let Some(game) = self.games.remove(game_id) else { return Vec::new() };
        let remaining: Vec<ConnId> =
            game.members.iter().copied().filter(|m| Some(*m) != left).collect();
        if left.is_none() {
            let ids = &game.participants;
            for (i, a) in ids.iter().enumerate() {
                for b in &ids[i + 1..] {
                    self.rejected.insert(ordered(a, b));
                }
            }
        }
        let (message, reason) = if left.is_some() {
            ("Your partner left before the game started. Finding a new partner…", UNSTARTED_LEFT)
        } else {
            (
                "The connection to your partner could not be established. Finding a new partner…",
                UNSTARTED_NOT_VALIDATED,
            )
        };
        let mut actions = Vec::new();
        if let Some(gym) = self.scenes.get(game.scene).and_then(Scene::gym) {
            // Researchers see every match, including the ones that never became a game.
            actions.push(Action::LogMatch(json!({
                "event": "unstarted",
                "scene_id": gym.id,
                "game_id": game_id,
                "participants": game.participants.iter().map(|p| json!({ "participant_id": p })).collect::<Vec<_>>(),
                "reason": reason,
            })));
        }
        let scene = Some(game.scene);
        for member in remaining {
            let Some(state) = self.conns.get_mut(&member) else { continue };
            state.phase = Phase::Waiting;
            state.waiting_since = Some(now_ms);
            actions.push(Action::Send(member, ServerMsg::Repool { message: message.into() }));
            actions.extend(self.join_waiting(member, now_ms));
        }
        if let Some(scene) = scene {
            actions.extend(self.waiting_counts(scene));
        }
        actions
    }

    /// The connection is gone. Cleans up everything it was part of, exactly once.
    pub fn disconnected(&mut self, conn: ConnId, now_ms: u64) -> Vec<Action> {
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
                self.waiting.retain(|c| *c != conn);
                if let (Some(id), Some(since)) = (&state.participant, state.waiting_since) {
                    self.interrupted_waits.insert(id.clone(), (state.scene, since));
                }
                if let Some(probe_id) = &state.probe {
                    actions.extend(self.end_probe(probe_id, probe::Verdict::Left, None, now_ms));
                }
                actions.extend(self.waiting_counts(state.scene));
            }
            Phase::Paired { partner, game_id } => {
                let started =
                    self.games.get(&game_id).is_some_and(|g| g.state == GameState::Playing);
                if !started {
                    // Before the start the partner has lost nothing: back to the waiting room.
                    actions.extend(self.dissolve(&game_id, Some(conn), now_ms));
                } else {
                    self.games.remove(&game_id);
                    // The partner may have moved on to the next scene already.
                    let still_playing = self.conns.get(&partner).is_some_and(
                        |p| matches!(&p.phase, Phase::Paired { game_id: g, .. } if *g == game_id),
                    );
                    if let (true, Some(partner_state), Some(id)) =
                        (still_playing, self.conns.get_mut(&partner), state.participant)
                    {
                        partner_state.phase = Phase::PartnerGone;
                        actions.push(Action::Send(
                            partner,
                            ServerMsg::PartnerLeft { participant_id: id },
                        ));
                    }
                }
            }
            Phase::Greeting
            | Phase::PartnerGone
            | Phase::Returning
            | Phase::TimedOut
            | Phase::Page => {}
        }
        actions
    }

    /// How many participants wait for a partner right now.
    pub fn waiting_count(&self) -> usize {
        self.waiting.len()
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

    /// Asks the matchmaker for a group with the arriving connection; returns it in the
    /// matchmaker's order (which becomes the player order).
    fn find_match(&self, arriving: ConnId) -> Option<Vec<ConnId>> {
        let (matchmaker, me, waiting) = self.candidates(arriving)?;
        let group = matchmaker.find_match(&me, &waiting, GROUP_SIZE)?;
        group.iter().map(|c| self.owners.get(&c.participant).copied()).collect()
    }

    /// The partners worth probing for a waiting connection, best first.
    fn ranked_candidates(&self, arriving: ConnId) -> Vec<ConnId> {
        let Some((matchmaker, me, waiting)) = self.candidates(arriving) else { return Vec::new() };
        matchmaker
            .rank_candidates(&me, &waiting, GROUP_SIZE)
            .iter()
            .filter_map(|c| self.owners.get(&c.participant).copied())
            .collect()
    }

    /// The scene's matchmaker, the arriving connection as a candidate, and everyone it may be
    /// grouped with (same scene, not in a probe, not a rejected pair), in arrival order.
    fn candidates(&self, arriving: ConnId) -> Option<(&dyn Matchmaker, Candidate, Vec<Candidate>)> {
        let candidate = |conn: &ConnId| {
            let state = self.conns.get(conn)?;
            let participant = state.participant.clone()?;
            Some(Candidate {
                previous_partners: self.history.get(&participant).cloned().unwrap_or_default(),
                participant,
                rtt_ms: state.rtt_ms(),
            })
        };
        let me = candidate(&arriving)?;
        let scene = self.conns.get(&arriving)?.scene;
        let matchmaker = self.matchmakers.get(scene)?.as_ref()?;
        let waiting: Vec<Candidate> = self
            .waiting
            .iter()
            .filter(|c| {
                **c != arriving
                    && self.conns.get(c).is_some_and(|s| s.scene == scene && s.probe.is_none())
            })
            .filter_map(candidate)
            .filter(|c| !self.rejected.contains(&ordered(&me.participant, &c.participant)))
            .collect();
        Some((matchmaker.as_ref(), me, waiting))
    }

    /// Tells everyone waiting in `scene` how many are waiting there (or nothing, if hidden).
    fn waiting_counts(&self, scene: usize) -> Vec<Action> {
        let here: Vec<ConnId> = self
            .waiting
            .iter()
            .copied()
            .filter(|c| self.conns.get(c).is_some_and(|s| s.scene == scene))
            .collect();
        let hide =
            self.scenes.get(scene).and_then(Scene::gym).is_none_or(|g| g.waiting_room.hide_count);
        let shown = if hide { 0 } else { here.len() as u32 };
        here.into_iter()
            .map(|c| {
                Action::Send(c, ServerMsg::Waiting { waiting: shown, needed: GROUP_SIZE as u32 })
            })
            .collect()
    }

    /// Starts a game for `members` (in player order) and logs the match, with the probe that
    /// admitted the pair if there was one.
    fn start_game(
        &mut self,
        members: &[ConnId],
        now_ms: u64,
        probe: Option<serde_json::Value>,
    ) -> Vec<Action> {
        let game_id = self.ids.game_id();
        let Some(gym) = members.first().and_then(|m| self.gym_of(*m)).cloned() else {
            return Vec::new();
        };
        let scene = self.conns.get(&members[0]).map_or(0, |s| s.scene);
        let matchmaker = self.matchmakers.get(scene).and_then(|m| m.as_ref());
        let matchmaker_name = matchmaker.map_or("none", |m| m.name());
        let countdown_ms = gym.game.countdown_ms;
        let participants: Vec<ParticipantId> =
            members.iter().filter_map(|c| self.conns.get(c)?.participant.clone()).collect();
        self.games.insert(
            game_id.clone(),
            Game {
                members: members.to_vec(),
                participants: participants.clone(),
                scene,
                state: GameState::Validating,
                countdown_ends_at: now_ms + u64::from(countdown_ms),
                validate_by: now_ms + VALIDATION_TIMEOUT_MS,
                validated: HashSet::new(),
            },
        );
        let seed = gym.game.seed.unwrap_or_else(|| self.ids.next());
        let peers: Vec<PeerInfo> = members
            .iter()
            .enumerate()
            .filter_map(|(index, c)| {
                let participant_id = self.conns.get(c)?.participant.clone()?;
                Some(PeerInfo { participant_id, player_index: index as u8 })
            })
            .collect();
        let mut actions = Vec::new();
        for (index, &conn) in members.iter().enumerate() {
            let partner = members[1 - index.min(1)];
            if let Some(state) = self.conns.get_mut(&conn) {
                state.phase = Phase::Paired { game_id: game_id.clone(), partner };
            }
            actions.push(Action::Send(
                conn,
                ServerMsg::Paired {
                    game_id: game_id.clone(),
                    player_index: index as u8,
                    peers: peers
                        .iter()
                        .filter(|p| p.player_index as usize != index)
                        .cloned()
                        .collect(),
                    ice_servers: self.experiment.webrtc.ice_servers.clone(),
                    force_relay: self.experiment.webrtc.force_relay,
                    game: Box::new(gym.game.clone()),
                    seed,
                    countdown_ms,
                },
            ));
        }
        self.remember_group(&participants);
        self.assign(&game_id, scene, participants.clone());
        tracing::info!(game = %game_id, players = ?participants.iter().map(|p| p.as_str()).collect::<Vec<_>>(), matchmaker = matchmaker_name, "matched");
        let participants = self.logged_participants(members, now_ms);
        actions.push(Action::LogMatch(json!({
            "event": "match",
            "scene_id": gym.id,
            "game_id": game_id,
            "matchmaker": matchmaker_name,
            "participants": participants,
            "probe": probe,
        })));
        actions
    }

    /// Makes the members of a group each other's most recent partners.
    fn remember_group(&mut self, group: &[ParticipantId]) {
        for member in group {
            let history = self.history.entry(member.clone()).or_default();
            for other in group.iter().filter(|p| *p != member) {
                history.retain(|p| p != other);
                history.insert(0, other.clone());
            }
        }
    }

    /// Participants as the match log records them.
    fn logged_participants(&self, members: &[ConnId], now_ms: u64) -> Vec<serde_json::Value> {
        members
            .iter()
            .filter_map(|c| {
                let state = self.conns.get(c)?;
                Some(json!({
                    "participant_id": state.participant,
                    "server_rtt_ms": state.rtt_ms(),
                    "waited_ms": state.waiting_since.map(|t| now_ms.saturating_sub(t)),
                }))
            })
            .collect()
    }

    fn signal(&mut self, conn: ConnId, to: ParticipantId, payload: SignalPayload) -> Vec<Action> {
        let Some(Conn { participant: Some(from), phase: Phase::Paired { partner, .. }, .. }) =
            self.conns.get(&conn)
        else {
            return vec![Action::Refuse(conn, RequestError::NotYourPartner(to))];
        };
        let partner_id = self.conns.get(partner).and_then(|p| p.participant.as_ref());
        if partner_id != Some(&to) {
            return vec![Action::Refuse(conn, RequestError::NotYourPartner(to))];
        }
        vec![Action::Send(*partner, ServerMsg::Signal { from: from.clone(), payload })]
    }

    /// The state of a game (for logs and tests).
    pub fn game_state(&self, game_id: &str) -> Option<GameState> {
        self.games.get(game_id).map(|g| g.state)
    }

    /// The game id of a paired connection (for logs and tests).
    pub fn game_of(&self, conn: ConnId) -> Option<&str> {
        match &self.conns.get(&conn)?.phase {
            Phase::Paired { game_id, .. } => Some(game_id),
            _ => None,
        }
    }
}

/// `unstarted` match-log reasons. A pair whose connection was not validated is never matched
/// again (also after a restart, which reads these lines back).
pub const UNSTARTED_NOT_VALIDATED: &str = "not_validated";
pub const UNSTARTED_LEFT: &str = "partner_left";

/// A pair of participants in a canonical order.
fn ordered(a: &ParticipantId, b: &ParticipantId) -> (ParticipantId, ParticipantId) {
    if a <= b { (a.clone(), b.clone()) } else { (b.clone(), a.clone()) }
}

/// Generates ids that are unique in practice across relay restarts (random 64-bit seed)
/// without making the lobby depend on an entropy source.
#[derive(Debug)]
struct IdSource(u64);

impl IdSource {
    /// splitmix64: a tiny, well-distributed generator; these ids need uniqueness, not secrecy.
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn participant_id(&mut self) -> ParticipantId {
        let raw = format!("p-{:016x}", self.next());
        // The format above only produces [a-z0-9-], 18 characters.
        ParticipantId::parse(&raw).unwrap_or_else(|_: IdError| unreachable!("generated id {raw}"))
    }

    fn game_id(&mut self) -> String {
        format!("g-{:016x}", self.next())
    }

    fn probe_id(&mut self) -> SafeId {
        let raw = format!("q-{:016x}", self.next());
        SafeId::parse(&raw).unwrap_or_else(|_: IdError| unreachable!("generated id {raw}"))
    }
}

#[cfg(test)]
mod tests;
