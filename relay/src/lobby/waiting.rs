//! The waiting room of each gym scene: entering a scene, the line, matchmaking (or a probe
//! where the scene asks for one), the waiting-room timeout and the counts shown to those who
//! wait.

use std::collections::{HashSet, VecDeque};

use rollgym_protocol::{OutcomeName, Scene, ServerMsg, WaitingRoomConfig};

use super::{Action, ConnId, Lobby, Phase, Progress, Timer, ordered};
use crate::matchmaking::{Candidate, Matchmaker};

impl Lobby {
    /// Arms a waiting participant's timeout (from the start of its wait, which may lie
    /// before a lost connection).
    pub(super) fn arm_wait(&mut self, conn: ConnId) {
        let Some(since) = self.conns.get(&conn).and_then(|s| s.waiting_since) else { return };
        let Some(timeout) = self.gym_of(conn).map(|g| u64::from(g.waiting_room.timeout_ms)) else {
            return;
        };
        self.timers.arm(since.saturating_add(timeout), Timer::Waiting(conn));
    }

    /// Of the participants whose wait may be over, those still waiting past their scene's
    /// timeout leave the waiting room. Participants in a probe time out once it is over
    /// (`end_probe` arms their timeout again).
    pub(super) fn expire_waiting(&mut self, mut due: Vec<ConnId>, now_ms: u64) -> Vec<Action> {
        due.sort_unstable();
        due.dedup();
        let expired: Vec<ConnId> = due
            .into_iter()
            .filter(|c| {
                self.conns
                    .get(c)
                    .is_some_and(|s| s.probe.is_none() && matches!(s.phase, Phase::Waiting))
            })
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
        for conn in &expired {
            let (scene, id) =
                self.conns.get(conn).map_or((0, None), |s| (s.scene, s.participant.clone()));
            self.leave_room(scene, &[*conn]);
            self.forget_probed(id.as_slice());
        }
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
            self.tally_timed_out();
            actions.push(Action::Send(conn, self.wait_timeout_exit(room)));
        }
        for scene in scenes {
            actions.extend(self.waiting_counts(scene));
        }
        actions
    }

    /// The exit of a participant whose wait timed out: `[outcomes.wait_timeout]` wins over
    /// the waiting room's own settings.
    fn wait_timeout_exit(&self, room: WaitingRoomConfig) -> ServerMsg {
        let outcome =
            self.experiment.outcomes.get(&OutcomeName::WaitTimeout).cloned().unwrap_or_default();
        ServerMsg::exit(
            OutcomeName::WaitTimeout,
            outcome.message.unwrap_or(room.timeout_message),
            outcome.completion_code.or(room.timeout_completion_code),
            outcome.redirect_url.or(room.timeout_redirect_url),
        )
    }

    /// Moves a participant into scene `index`: shows it, and for a gym scene enters its
    /// waiting room.
    pub(super) fn enter_scene(&mut self, conn: ConnId, index: usize, now_ms: u64) -> Vec<Action> {
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
    pub(super) fn join_waiting(&mut self, conn: ConnId, now_ms: u64) -> Vec<Action> {
        let scene = self.conns.get(&conn).map(|s| s.scene);
        let Some(room) = scene.and_then(|scene| self.rooms.get_mut(scene)) else {
            return Vec::new();
        };
        room.push_back(conn);
        self.arm_wait(conn);
        self.try_match(conn, now_ms)
    }

    /// Matches a waiting participant if its matchmaker finds a group; where the scene
    /// probes, starts a probe with the best-ranked candidate instead.
    pub(super) fn try_match(&mut self, conn: ConnId, now_ms: u64) -> Vec<Action> {
        match self.probe_threshold(conn) {
            None => {
                let Some(members) = self.find_match(conn) else { return Vec::new() };
                let scene = self.conns.get(&conn).map_or(0, |s| s.scene);
                self.leave_room(scene, &members);
                let mut actions = self.start_game(&members, now_ms, None);
                // Those still waiting see the count drop.
                actions.extend(self.waiting_counts(scene));
                actions
            }
            Some(max_rtt_ms) if self.group_size_of(conn) > 2 => {
                self.try_probed_group(conn, max_rtt_ms, now_ms)
            }
            Some(max_rtt_ms) => {
                let Some(candidate) = self.ranked_candidates(conn).into_iter().next() else {
                    return Vec::new();
                };
                self.start_probe([candidate, conn], max_rtt_ms, now_ms)
            }
        }
    }

    /// Asks the matchmaker for a group with the arriving connection; returns it in the
    /// matchmaker's order (which becomes the player order).
    pub(super) fn find_match(&self, arriving: ConnId) -> Option<Vec<ConnId>> {
        let (matchmaker, me, waiting) = self.candidates(arriving)?;
        let group = matchmaker.find_match(&me, &waiting, self.group_size_of(arriving))?;
        group.iter().map(|c| self.owners.get(&c.participant).copied()).collect()
    }

    /// The partners worth probing for a waiting connection, best first.
    pub(super) fn ranked_candidates(&self, arriving: ConnId) -> Vec<ConnId> {
        let Some((matchmaker, me, waiting)) = self.candidates(arriving) else { return Vec::new() };
        matchmaker
            .rank_candidates(&me, &waiting, self.group_size_of(arriving))
            .iter()
            .filter_map(|c| self.owners.get(&c.participant).copied())
            .collect()
    }

    /// Players per game in the scene of `conn`.
    pub(super) fn group_size_of(&self, conn: ConnId) -> usize {
        self.gym_of(conn).map_or(rollgym_protocol::DEFAULT_GROUP_SIZE, |g| g.matchmaking.group_size)
    }

    /// The scene's matchmaker, the arriving connection as a candidate, and everyone it may be
    /// grouped with (same scene, not in a probe, not a rejected pair), in arrival order. For
    /// groups above two, someone rejected with an earlier candidate is left out too, so any
    /// group the matchmaker forms has no pair that failed before.
    pub(super) fn candidates(
        &self,
        arriving: ConnId,
    ) -> Option<(&dyn Matchmaker, Candidate, Vec<Candidate>)> {
        let candidate = |conn: &ConnId| {
            let state = self.conns.get(conn)?;
            let participant = state.participant.clone()?;
            Some(Candidate {
                previous_partners: self.history.get(&participant).cloned().unwrap_or_default(),
                participant,
                rtt_ms: self.server_rtt_ms(*conn),
            })
        };
        let me = candidate(&arriving)?;
        let scene = self.conns.get(&arriving)?.scene;
        let matchmaker = self.matchmakers.get(scene)?.as_ref()?;
        let waiting: Vec<Candidate> = self
            .rooms
            .get(scene)?
            .iter()
            .filter(|c| **c != arriving && self.conns.get(c).is_some_and(|s| s.probe.is_none()))
            .filter_map(candidate)
            .filter(|c| !self.rejected.contains(&ordered(&me.participant, &c.participant)))
            .collect();
        let waiting =
            if self.group_size_of(arriving) > 2 { self.compatible(waiting) } else { waiting };
        Some((matchmaker.as_ref(), me, waiting))
    }

    /// `candidates` in order, without anyone rejected with an earlier one kept.
    fn compatible(&self, candidates: Vec<Candidate>) -> Vec<Candidate> {
        let mut kept: Vec<Candidate> = Vec::with_capacity(candidates.len());
        for c in candidates {
            let clash = kept
                .iter()
                .any(|k| self.rejected.contains(&ordered(&k.participant, &c.participant)));
            if !clash {
                kept.push(c);
            }
        }
        kept
    }

    /// Everyone waiting in `scene`, longest-waiting first.
    pub(super) fn waiting_in(&self, scene: usize) -> Vec<ConnId> {
        self.rooms.get(scene).map_or_else(Vec::new, |room| room.iter().copied().collect())
    }

    /// Takes `conns` out of the waiting line of `scene`.
    pub(super) fn leave_room(&mut self, scene: usize, conns: &[ConnId]) {
        if let Some(room) = self.rooms.get_mut(scene) {
            room.retain(|c| !conns.contains(c));
        }
    }

    /// Tells everyone waiting in `scene` how many are waiting there (or nothing, if hidden).
    pub(super) fn waiting_counts(&self, scene: usize) -> Vec<Action> {
        let here = self.waiting_in(scene);
        let hide =
            self.scenes.get(scene).and_then(Scene::gym).is_none_or(|g| g.waiting_room.hide_count);
        let shown = if hide { 0 } else { here.len() as u32 };
        let needed = self
            .scenes
            .get(scene)
            .and_then(Scene::gym)
            .map_or(rollgym_protocol::DEFAULT_GROUP_SIZE, |g| g.matchmaking.group_size)
            as u32;
        here.into_iter()
            .map(|c| Action::Send(c, ServerMsg::Waiting { waiting: shown, needed }))
            .collect()
    }

    /// How many participants wait for a partner right now.
    pub fn waiting_count(&self) -> usize {
        self.rooms.iter().map(VecDeque::len).sum()
    }
}
