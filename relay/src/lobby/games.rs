//! Games from the match to the end: the countdown and the connection check (validating), the
//! start, signaling between the players, leaving the scene, and dissolving a game that never
//! started.

use std::collections::HashMap;

use rollgym_protocol::{
    AdmittingProbe, AgreedDelay, EnvStamp, ErrorCode, GameEnds, GameId, GymScene, InputDelay,
    LoggedParticipant, MatchLogRecord, ParticipantId, PeerInfo, Scene, ServerMsg, SignalPayload,
    UnstartedReason,
};

use super::{Action, Conn, ConnId, Lobby, Phase, Progress, Timer, health::Reported, ordered};
use crate::error::RequestError;

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
pub(super) struct Game {
    pub(super) members: Vec<ConnId>,
    /// The members' participant ids, in player order (kept for the log once they are gone).
    pub(super) participants: Vec<ParticipantId>,
    pub(super) scene: usize,
    pub(super) state: GameState,
    /// Lobby time at which the "Players found!" countdown is over.
    pub(super) countdown_ends_at: u64,
    /// Lobby time by which every member must have validated its connection.
    pub(super) validate_by: u64,
    /// Members whose connection works, with the environment their page runs.
    pub(super) validated: HashMap<ConnId, Option<EnvStamp>>,
    /// The DataChannel round trips members measured when they validated (ms).
    pub(super) rtts: HashMap<ConnId, u32>,
    /// Lobby time of the match and of the start.
    pub(super) matched_at: u64,
    pub(super) started_at: Option<u64>,
    /// Each member's last health report (`health.rs`).
    pub(super) health: HashMap<ConnId, Reported>,
    /// Since when the game has not been healthy, by its reports.
    pub(super) unhealthy_since: Option<u64>,
}

impl Lobby {
    /// A player's connection to its partners works: the game starts once everyone's does and
    /// the countdown is over.
    pub(super) fn validated(
        &mut self,
        conn: ConnId,
        game_id: GameId,
        (env, rtt_ms): (Option<EnvStamp>, Option<u32>),
        now_ms: u64,
    ) -> Vec<Action> {
        let mine = match self.conns.get(&conn).map(|s| &s.phase) {
            Some(Phase::Paired { game_id: mine, .. }) if game_id == *mine => mine.clone(),
            _ => return vec![Action::Refuse(conn, RequestError::NotInGame(game_id))],
        };
        let Some(game) = self.games.get_mut(&mine) else { return Vec::new() };
        game.validated.insert(conn, env);
        if let Some(rtt) = rtt_ms {
            game.rtts.insert(conn, rtt);
        }
        let all_in = game.members.iter().all(|m| game.validated.contains_key(m));
        if all_in && let Some(envs) = mismatched_envs(game) {
            return self.stop_mismatched(&mine, &envs);
        }
        self.maybe_start(&mine, now_ms)
    }

    /// The players' pages run different environments: playing would desync (or worse, record
    /// data that looks fine). Nobody plays; each page gets a fatal error that names both
    /// environments, and the pair is never matched again.
    fn stop_mismatched(&mut self, game_id: &GameId, envs: &[String]) -> Vec<Action> {
        let Some(game) = self.games.remove(game_id) else { return Vec::new() };
        tracing::warn!(game = %game_id, envs = ?envs, "players run different environments; game stopped");
        let ids = &game.participants;
        for (i, a) in ids.iter().enumerate() {
            for b in &ids[i + 1..] {
                self.rejected.insert(ordered(a, b));
            }
        }
        let mut actions: Vec<Action> = self
            .unstarted_record(game_id, &game, UnstartedReason::EnvMismatch)
            .into_iter()
            .collect();
        for (i, member) in game.members.iter().enumerate() {
            let Some(state) = self.conns.get_mut(member) else { continue };
            state.phase = Phase::PartnerGone;
            let mine = envs.get(i).map_or("unknown", String::as_str);
            let theirs: Vec<&str> =
                envs.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, e)| e.as_str()).collect();
            let message = format!(
                "The game cannot start: this page runs the environment {mine}, but your partner's runs {}. Please tell the researcher.",
                theirs.join(" and ")
            );
            actions.push(Action::Send(
                *member,
                ServerMsg::Error { code: ErrorCode::EnvMismatch, message, fatal: true },
            ));
        }
        actions
    }

    /// Starts a validating game once every member validated and the countdown is over.
    pub(super) fn maybe_start(&mut self, game_id: &GameId, now_ms: u64) -> Vec<Action> {
        let Some(game) = self.games.get_mut(game_id) else { return Vec::new() };
        let ready = game.state == GameState::Validating
            && now_ms >= game.countdown_ends_at
            && game.members.iter().all(|m| game.validated.contains_key(m));
        if !ready {
            return Vec::new();
        }
        game.state = GameState::Playing;
        game.started_at = Some(now_ms);
        let slowest = game.rtts.values().copied().max();
        let members = game.members.clone();
        let input_delay = members.first().and_then(|m| self.gym_of(*m)).and_then(|gym| {
            let g = &gym.game;
            (g.input_delay == InputDelay::Auto)
                .then(|| AgreedDelay::choose(slowest, g.fps, g.input_delay_min, g.input_delay_max))
        });
        tracing::info!(game = %game_id, input_delay = ?input_delay, "game started");
        self.tally_started(members.len());
        let mut actions = Vec::new();
        for member in members {
            let game_id = game_id.clone();
            actions.push(Action::Send(member, ServerMsg::Start { game_id, input_delay }));
            let scene = self.conns.get(&member).map_or(0, |s| s.scene);
            actions.extend(self.record_progress(member, Progress { scene, played: true }));
        }
        actions
    }

    /// A game not validated in time is dissolved; the pair is never matched again.
    pub(super) fn expire_validation(&mut self, game_id: &GameId, now_ms: u64) -> Vec<Action> {
        let expired = self
            .games
            .get(game_id)
            .is_some_and(|g| g.state == GameState::Validating && now_ms >= g.validate_by);
        if !expired {
            return Vec::new();
        }
        tracing::warn!(game = %game_id, "connection not validated in time; back to the waiting room");
        self.dissolve(game_id, None, now_ms)
    }

    /// Ends a game that never started: the remaining members go back to the waiting room.
    /// `left` is the member who disconnected, if that is why; otherwise the connection failed
    /// and the pair is never matched again.
    pub(super) fn dissolve(
        &mut self,
        game_id: &GameId,
        left: Option<ConnId>,
        now_ms: u64,
    ) -> Vec<Action> {
        let Some(game) = self.games.remove(game_id) else { return Vec::new() };
        let remaining: Vec<ConnId> =
            game.members.iter().copied().filter(|m| Some(*m) != left).collect();
        if left.is_none() {
            self.reject_all(&game.participants);
        }
        let (message, reason) = if left.is_some() {
            (
                "Your partner left before the game started. Finding a new partner…",
                UnstartedReason::PartnerLeft,
            )
        } else {
            (
                "The connection to your partner could not be established. Finding a new partner…",
                UnstartedReason::NotValidated,
            )
        };
        let mut actions: Vec<Action> =
            self.unstarted_record(game_id, &game, reason).into_iter().collect();
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

    /// A member's connection closed. Before the start the others have lost nothing: back to
    /// the waiting room. During play every member still in the game hears who left; the
    /// game is over for the lobby (each page ends it through its netcode), unless the scene
    /// says a group plays on (`on_player_leave = "continue"`) and two or more remain.
    pub(super) fn member_left(
        &mut self,
        conn: ConnId,
        game_id: &GameId,
        participant: Option<ParticipantId>,
        now_ms: u64,
    ) -> Vec<Action> {
        let Some(game) = self.games.get(game_id) else { return Vec::new() };
        if game.state != GameState::Playing {
            return self.dissolve(game_id, Some(conn), now_ms);
        }
        let others: Vec<ConnId> = game.members.iter().copied().filter(|m| *m != conn).collect();
        let plays_on = others.len() >= 2
            && self.scenes.get(game.scene).and_then(Scene::gym).is_some_and(|g| {
                g.game.on_player_leave == rollgym_protocol::OnPlayerLeave::Continue
            });
        if plays_on {
            if let Some(game) = self.games.get_mut(game_id) {
                game.members.retain(|m| *m != conn);
            }
            let Some(id) = participant else { return Vec::new() };
            let left = || ServerMsg::PartnerLeft { participant_id: id.clone() };
            return others.into_iter().map(|c| Action::Send(c, left())).collect();
        }
        self.book_finished(game_id, now_ms);
        self.games.remove(game_id);
        let Some(id) = participant else { return Vec::new() };
        let mut actions = Vec::new();
        for other in others {
            // A member may have moved on to the next scene already.
            let Some(state) = self.conns.get_mut(&other) else { continue };
            if matches!(&state.phase, Phase::Paired { game_id: g } if g == game_id) {
                state.phase = Phase::PartnerGone;
                let participant_id = id.clone();
                actions.push(Action::Send(other, ServerMsg::PartnerLeft { participant_id }));
            }
        }
        actions
    }

    /// No two of `participants` are matched again.
    pub(super) fn reject_all(&mut self, participants: &[ParticipantId]) {
        for (i, a) in participants.iter().enumerate() {
            for b in &participants[i + 1..] {
                self.rejected.insert(ordered(a, b));
            }
        }
    }

    /// Researchers see every match, including the ones that never became a game.
    fn unstarted_record(
        &self,
        game_id: &GameId,
        game: &Game,
        reason: UnstartedReason,
    ) -> Option<Action> {
        let gym = self.scenes.get(game.scene).and_then(Scene::gym)?;
        let participants = game
            .participants
            .iter()
            .map(|p| LoggedParticipant {
                participant_id: p.clone(),
                server_rtt_ms: None,
                waited_ms: None,
            })
            .collect();
        Some(Action::LogMatch(MatchLogRecord::Unstarted {
            scene_id: gym.id.clone(),
            game_id: game_id.clone(),
            participants,
            reason,
            time_ms: 0,
        }))
    }

    /// Starts a game for `members` (in player order) and logs the match, with the probe that
    /// admitted the pair if there was one.
    pub(super) fn start_game(
        &mut self,
        members: &[ConnId],
        now_ms: u64,
        probe: Option<AdmittingProbe>,
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
        self.timers.arm(now_ms + u64::from(countdown_ms), Timer::Countdown(game_id.clone()));
        self.timers.arm(now_ms + VALIDATION_TIMEOUT_MS, Timer::Validation(game_id.clone()));
        self.games.insert(
            game_id.clone(),
            Game {
                members: members.to_vec(),
                participants: participants.clone(),
                scene,
                state: GameState::Validating,
                countdown_ends_at: now_ms + u64::from(countdown_ms),
                validate_by: now_ms + VALIDATION_TIMEOUT_MS,
                validated: HashMap::new(),
                rtts: HashMap::new(),
                matched_at: now_ms,
                started_at: None,
                health: HashMap::new(),
                unhealthy_since: None,
            },
        );
        let seed = gym.game.seed.unwrap_or_else(|| self.ids.next());
        let mut actions = self.pair_members(members, &game_id, &gym, seed);
        self.remember_group(&participants);
        self.assign(&game_id, scene, participants.clone());
        tracing::info!(game = %game_id, players = ?participants.iter().map(|p| p.as_str()).collect::<Vec<_>>(), matchmaker = matchmaker_name, "matched");
        let participants = self.logged_participants(members, now_ms);
        let record = MatchLogRecord::Match {
            scene_id: gym.id.clone(),
            game_id,
            matchmaker: matchmaker_name.to_owned(),
            participants,
            probe,
            time_ms: 0,
        };
        self.tally_match(&record);
        actions.push(Action::LogMatch(record));
        actions
    }

    /// Puts `members` (in player order) into game `game_id` and tells each its place and
    /// its partners.
    fn pair_members(
        &mut self,
        members: &[ConnId],
        game_id: &GameId,
        gym: &GymScene,
        seed: u64,
    ) -> Vec<Action> {
        let game = &gym.game;
        let ends = GameEnds::resolve(&self.experiment.outcomes, game);
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
            if let Some(state) = self.conns.get_mut(&conn) {
                state.phase = Phase::Paired { game_id: game_id.clone() };
            }
            let others = peers.iter().filter(|p| p.player_index as usize != index);
            actions.push(Action::Send(
                conn,
                ServerMsg::Paired {
                    game_id: game_id.clone(),
                    player_index: index as u8,
                    peers: others.cloned().collect(),
                    ice_servers: self.experiment.webrtc.ice_servers.clone(),
                    force_relay: self.experiment.webrtc.force_relay,
                    game: Box::new(game.clone()),
                    seed,
                    countdown_ms: game.countdown_ms,
                    monitoring: gym.monitoring.clone(),
                    ends: Box::new(ends.clone()),
                },
            ));
        }
        actions
    }

    /// Makes the members of a group each other's most recent partners.
    pub(super) fn remember_group(&mut self, group: &[ParticipantId]) {
        for member in group {
            let history = self.history.entry(member.clone()).or_default();
            for other in group.iter().filter(|p| *p != member) {
                history.retain(|p| p != other);
                history.insert(0, other.clone());
            }
        }
    }

    /// Participants as the match log records them.
    pub(super) fn logged_participants(
        &self,
        members: &[ConnId],
        now_ms: u64,
    ) -> Vec<LoggedParticipant> {
        members
            .iter()
            .filter_map(|c| {
                let state = self.conns.get(c)?;
                Some(LoggedParticipant {
                    participant_id: state.participant.clone()?,
                    server_rtt_ms: self.server_rtt_ms(*c),
                    waited_ms: state.waiting_since.map(|t| now_ms.saturating_sub(t)),
                })
            })
            .collect()
    }

    /// Signaling goes between two members of one game (each pair of a group has its own
    /// connection), never to anyone else.
    pub(super) fn signal(
        &mut self,
        conn: ConnId,
        to: ParticipantId,
        payload: SignalPayload,
    ) -> Vec<Action> {
        let Some(Conn { participant: Some(from), phase: Phase::Paired { .. }, .. }) =
            self.conns.get(&conn)
        else {
            return vec![Action::Refuse(conn, RequestError::NotYourPartner(to))];
        };
        let partner =
            self.partners(conn).into_iter().find(|p| self.participant_of(*p) == Some(&to));
        let Some(partner) = partner else {
            return vec![Action::Refuse(conn, RequestError::NotYourPartner(to))];
        };
        vec![Action::Send(partner, ServerMsg::Signal { from: from.clone(), payload })]
    }

    /// The other members of the game a connection plays in, in player order.
    pub(super) fn partners(&self, conn: ConnId) -> Vec<ConnId> {
        self.game_of(conn)
            .and_then(|id| self.games.get(id))
            .map(|g| g.members.iter().copied().filter(|m| *m != conn).collect())
            .unwrap_or_default()
    }

    /// The participant is finished with its current scene `from`.
    pub(super) fn advance(&mut self, conn: ConnId, from: u32, now_ms: u64) -> Vec<Action> {
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
                    self.book_finished(&game_id, now_ms);
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

    /// The state of a game (for logs and tests).
    pub fn game_state(&self, game_id: &GameId) -> Option<GameState> {
        self.games.get(game_id).map(|g| g.state)
    }

    /// The game id of a paired connection (for logs and tests).
    pub fn game_of(&self, conn: ConnId) -> Option<&GameId> {
        match &self.conns.get(&conn)?.phase {
            Phase::Paired { game_id, .. } => Some(game_id),
            _ => None,
        }
    }

    /// The participant ids of a paired connection's partners, in player order.
    pub fn partners_of(&self, conn: ConnId) -> Vec<ParticipantId> {
        self.partners(conn).into_iter().filter_map(|p| self.participant_of(p).cloned()).collect()
    }
}

/// The members' environments, in player order, when they are not all the same. A page that
/// reports none (an older client) counts as agreeing.
fn mismatched_envs(game: &Game) -> Option<Vec<String>> {
    let stamps: Vec<Option<&EnvStamp>> =
        game.members.iter().map(|m| game.validated.get(m).and_then(Option::as_ref)).collect();
    let known: Vec<&EnvStamp> = stamps.iter().flatten().copied().collect();
    if known.windows(2).all(|w| w[0] == w[1]) {
        return None;
    }
    Some(stamps.iter().map(|s| s.map_or_else(|| "unknown".to_owned(), describe)).collect())
}

/// An environment for a message: its name and version, cut short (they come from a page).
fn describe(stamp: &EnvStamp) -> String {
    let short = |s: &str| s.chars().take(64).collect::<String>();
    format!("\"{}\" version \"{}\"", short(&stamp.name), short(&stamp.version))
}
