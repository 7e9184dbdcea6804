//! Peer-to-peer probes: before two waiting participants are matched in a scene that sets
//! `max_p2p_rtt_ms`, they open a probe connection and measure its round trip.
//!
//! The lobby proposes a pair (the arriving participant and its best-ranked candidate), both
//! get [`ServerMsg::Probe`], signal through the relay, ping each other and report. The first
//! report decides: within the threshold the pair is matched; a failure, a median over the
//! threshold or no report within [`PROBE_TIMEOUT_MS`] rejects the pair for good. Either way
//! everyone left waiting in the scene is matched again, so the next candidate gets its probe.
//! A participant is in at most one probe, and stays in the waiting room while probing.
//!
//! For groups of three or four every pair of the group the matchmaker proposes is probed, one
//! pair at a time: a pair that passes is remembered while both wait (`Lobby::probed`), one that
//! fails is rejected like a pair; the group is matched once every pair of it has passed.

use rollgym_protocol::{
    AdmittingProbe, MatchLogRecord, ParticipantId, ProbeId, ProbeResult, ServerMsg, SignalPayload,
};

use super::{Action, ConnId, Lobby, Phase, Timer, ordered};
use crate::error::RequestError;

/// The relay's limit for a probe, from proposal to the first report. The client reports
/// whatever it has 9 s after the proposal reached it (`client-wasm/src/core/probe.rs`), so a
/// working client reports first and the timeout catches only pages that are gone or stuck.
pub const PROBE_TIMEOUT_MS: u64 = 10_000;

/// Ended probes remembered per connection, so that their late messages are ignored rather
/// than refused. A client only ever sends for the probe it has open and drops it on
/// `probe_end`, so a late message is one already in flight when its probe ended; however many
/// probes end while one such message crosses the network, this many is far beyond it, and it
/// keeps a connection's memory bounded however long it waits.
pub const ENDED_PROBES_REMEMBERED: usize = 32;

/// One probe between two waiting participants.
#[derive(Debug)]
pub(super) struct Probe {
    /// In player order, should the pair be matched: the candidate, then the arriving one.
    members: [ConnId; 2],
    participants: [ParticipantId; 2],
    scene: usize,
    max_rtt_ms: u32,
    deadline: u64,
    started_at: u64,
}

#[cfg(test)]
impl Probe {
    /// Its two members, in player order.
    pub(super) fn members(&self) -> &[ConnId; 2] {
        &self.members
    }

    pub(super) fn deadline(&self) -> u64 {
        self.deadline
    }
}

impl Lobby {
    /// The probe threshold of the scene a connection is in, if that scene probes.
    pub(super) fn probe_threshold(&self, conn: ConnId) -> Option<u32> {
        self.gym_of(conn)?.matchmaking.max_p2p_rtt_ms
    }

    /// A scene of groups above two that probes: the matchmaker's group is matched once every
    /// pair of it passed a probe; otherwise its first pair without a verdict is probed (when
    /// neither member is in a probe already).
    pub(super) fn try_probed_group(
        &mut self,
        conn: ConnId,
        max_rtt_ms: u32,
        now_ms: u64,
    ) -> Vec<Action> {
        let Some(group) = self.find_match(conn) else { return Vec::new() };
        let ids: Vec<ParticipantId> =
            group.iter().filter_map(|c| self.participant_of(*c).cloned()).collect();
        if ids.len() != group.len() {
            return Vec::new();
        }
        let mut slowest: Option<AdmittingProbe> = None;
        for i in 0..group.len() {
            for j in i + 1..group.len() {
                match self.probed.get(&ordered(&ids[i], &ids[j])) {
                    Some(passed) => {
                        if slowest.as_ref().is_none_or(|s| passed.p2p_rtt_ms > s.p2p_rtt_ms) {
                            slowest = Some(passed.clone());
                        }
                    }
                    None => {
                        let busy = |c: ConnId| self.conns.get(&c).is_none_or(|s| s.probe.is_some());
                        if busy(group[i]) || busy(group[j]) {
                            return Vec::new();
                        }
                        return self.start_probe([group[i], group[j]], max_rtt_ms, now_ms);
                    }
                }
            }
        }
        let scene = self.conns.get(&conn).map_or(0, |s| s.scene);
        self.leave_room(scene, &group);
        self.forget_probed(&ids);
        let mut actions = self.start_game(&group, now_ms, slowest);
        actions.extend(self.waiting_counts(scene));
        actions
    }

    /// Passed probes of these participants are no longer needed (they left the waiting room).
    pub(super) fn forget_probed(&mut self, participants: &[ParticipantId]) {
        self.probed.retain(|(a, b), _| !participants.contains(a) && !participants.contains(b));
    }

    /// Proposes `members` (player order) to each other: both open a probe connection.
    pub(super) fn start_probe(
        &mut self,
        members: [ConnId; 2],
        max_rtt_ms: u32,
        now_ms: u64,
    ) -> Vec<Action> {
        let participant = |c: ConnId| self.conns.get(&c).and_then(|s| s.participant.clone());
        let (Some(first), Some(second)) = (participant(members[0]), participant(members[1])) else {
            return Vec::new();
        };
        let scene = self.conns.get(&members[0]).map_or(0, |s| s.scene);
        let probe_id = self.ids.probe_id();
        for member in members {
            if let Some(state) = self.conns.get_mut(&member) {
                state.probe = Some(probe_id.clone());
            }
        }
        tracing::info!(probe = %probe_id, a = %first, b = %second, "probing");
        let participants = [first, second];
        let actions = (0..2)
            .map(|i| {
                Action::Send(
                    members[i],
                    ServerMsg::Probe {
                        probe_id: probe_id.clone(),
                        peer: participants[1 - i].clone(),
                        // As in a game, player 0 makes the offer.
                        initiator: i == 0,
                        ice_servers: self.experiment.webrtc.ice_servers.clone(),
                        force_relay: self.experiment.webrtc.force_relay,
                    },
                )
            })
            .collect();
        self.timers.arm(now_ms + PROBE_TIMEOUT_MS, Timer::Probe(probe_id.clone()));
        self.probes.insert(
            probe_id,
            Probe {
                members,
                participants,
                scene,
                max_rtt_ms,
                deadline: now_ms + PROBE_TIMEOUT_MS,
                started_at: now_ms,
            },
        );
        actions
    }

    /// The probe a connection may send messages for: its current one. `Err` carries the reply
    /// for anything else: nothing for a late message of a probe it was in that has ended (the
    /// other side reported first, or the probe timed out: the race is normal), a refusal for a
    /// probe it was never in.
    fn own_probe(&self, conn: ConnId, probe_id: &ProbeId) -> Result<&Probe, Vec<Action>> {
        let state = self.conns.get(&conn);
        if let Some(probe) = state
            .filter(|s| s.probe.as_ref() == Some(probe_id))
            .and_then(|_| self.probes.get(probe_id))
        {
            return Ok(probe);
        }
        if state.is_some_and(|s| s.ended_probes.contains(probe_id)) {
            return Err(Vec::new());
        }
        Err(vec![Action::Refuse(conn, RequestError::NotInProbe(probe_id.clone()))])
    }

    pub(super) fn probe_signal(
        &self,
        conn: ConnId,
        probe_id: ProbeId,
        payload: SignalPayload,
    ) -> Vec<Action> {
        match self.own_probe(conn, &probe_id) {
            Ok(probe) => {
                let other =
                    if probe.members[0] == conn { probe.members[1] } else { probe.members[0] };
                vec![Action::Send(other, ServerMsg::ProbeSignal { probe_id, payload })]
            }
            Err(reply) => reply,
        }
    }

    /// The first report decides the probe.
    pub(super) fn probe_result(
        &mut self,
        conn: ConnId,
        probe_id: &ProbeId,
        rtt_ms: Option<u32>,
        now_ms: u64,
    ) -> Vec<Action> {
        let max = match self.own_probe(conn, probe_id) {
            Ok(probe) => probe.max_rtt_ms,
            Err(reply) => return reply,
        };
        let verdict = match rtt_ms {
            Some(rtt) if rtt <= max => ProbeResult::Accepted,
            Some(_) => ProbeResult::TooSlow,
            None => ProbeResult::Failed,
        };
        self.end_probe(probe_id, verdict, rtt_ms, now_ms)
    }

    /// Probes nobody reported on in time are rejected.
    /// A probe whose members have not reported by its deadline ends as timed out.
    pub(super) fn expire_probe(&mut self, probe_id: &ProbeId, now_ms: u64) -> Vec<Action> {
        if self.probes.get(probe_id).is_none_or(|p| now_ms < p.deadline) {
            return Vec::new();
        }
        tracing::warn!(probe = %probe_id, "probe timed out");
        self.end_probe(probe_id, ProbeResult::TimedOut, None, now_ms)
    }

    /// Ends a probe exactly once: closes it on both sides, logs it, matches or rejects the
    /// pair, and gives everyone left waiting in the scene another chance.
    pub(super) fn end_probe(
        &mut self,
        probe_id: &ProbeId,
        verdict: ProbeResult,
        rtt_ms: Option<u32>,
        now_ms: u64,
    ) -> Vec<Action> {
        let Some(probe) = self.probes.remove(probe_id) else { return Vec::new() };
        let mut actions = Vec::new();
        for member in probe.members {
            if let Some(state) = self.conns.get_mut(&member) {
                state.end_probe(probe_id.clone());
                actions
                    .push(Action::Send(member, ServerMsg::ProbeEnd { probe_id: probe_id.clone() }));
            }
            // The probe held up its members' waiting-room timeout; it counts again.
            self.arm_wait(member);
        }
        let both_waiting = probe
            .members
            .iter()
            .all(|m| self.conns.get(m).is_some_and(|s| matches!(s.phase, Phase::Waiting)));
        let verdict = if verdict == ProbeResult::Accepted && !both_waiting {
            ProbeResult::Left
        } else {
            verdict
        };
        tracing::info!(probe = %probe_id, ?verdict, rtt_ms, "probe ended");
        actions.extend(self.probe_record(probe_id, &probe, (verdict, rtt_ms), now_ms));
        let group_size =
            self.scenes.get(probe.scene).and_then(|s| s.gym()).map(|g| g.matchmaking.group_size);
        match verdict {
            ProbeResult::Accepted if group_size.is_some_and(|n| n > 2) => {
                // One pair of a group: the group is tried again below.
                let [a, b] = &probe.participants;
                let passed = AdmittingProbe { probe_id: probe_id.clone(), p2p_rtt_ms: rtt_ms };
                self.probed.insert(ordered(a, b), passed);
            }
            ProbeResult::Accepted => {
                self.leave_room(probe.scene, &probe.members);
                let admitted = AdmittingProbe { probe_id: probe_id.clone(), p2p_rtt_ms: rtt_ms };
                actions.extend(self.start_game(&probe.members, now_ms, Some(admitted)));
            }
            ProbeResult::Left => {}
            ProbeResult::TooSlow | ProbeResult::Failed | ProbeResult::TimedOut => {
                let [a, b] = &probe.participants;
                self.rejected.insert(ordered(a, b));
            }
        }
        actions.extend(self.rematch(probe.scene, now_ms));
        actions.extend(self.waiting_counts(probe.scene));
        actions
    }

    /// The match-log line of an ended probe.
    fn probe_record(
        &self,
        probe_id: &ProbeId,
        probe: &Probe,
        (result, p2p_rtt_ms): (ProbeResult, Option<u32>),
        now_ms: u64,
    ) -> Option<Action> {
        let gym = self.scenes.get(probe.scene).and_then(|s| s.gym())?;
        Some(Action::LogMatch(MatchLogRecord::Probe {
            scene_id: gym.id.clone(),
            probe_id: probe_id.clone(),
            participants: self.logged_participants(&probe.members, now_ms),
            p2p_rtt_ms,
            max_p2p_rtt_ms: probe.max_rtt_ms,
            result,
            duration_ms: now_ms.saturating_sub(probe.started_at),
            time_ms: 0,
        }))
    }

    /// Everyone waiting in `scene` and not probing looks for a match again, longest-waiting
    /// first.
    fn rematch(&mut self, scene: usize, now_ms: u64) -> Vec<Action> {
        let mut actions = Vec::new();
        for conn in self.waiting_in(scene) {
            // Earlier ones in the line may have been matched with it meanwhile (Paired then).
            let free = self
                .conns
                .get(&conn)
                .is_some_and(|s| s.probe.is_none() && matches!(s.phase, Phase::Waiting));
            if free {
                actions.extend(self.try_match(conn, now_ms));
            }
        }
        actions
    }

    /// The probe a connection is in (for tests).
    pub fn probe_of(&self, conn: ConnId) -> Option<&ProbeId> {
        self.conns.get(&conn)?.probe.as_ref()
    }
}
