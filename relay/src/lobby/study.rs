//! The study as a whole, for the admin console: whether it takes new arrivals (the study
//! switch: those already in continue, newcomers get the `study_closed` exit), and the funnel
//! of what became of everyone who arrived.
//!
//! The switch is journaled (`admin_actions.jsonl`) and read back at start, so a restarted relay
//! stays closed. The funnel counts since the relay started, except arrivals (read back from the
//! progress and screening journals) and matches and waits (read back from the match logs).

use std::collections::{BTreeMap, HashMap, HashSet};

use rollgym_protocol::{
    AdminAction, AdminRecord, GameId, MatchLogRecord, Outcome, OutcomeName, ParticipantId,
    ServerMsg,
};
use serde::Serialize;

use super::{Action, AdminError, ConnId, Lobby, Phase};

/// Wait times kept for the median and p90 (a study far larger than any lab runs).
const MAX_WAITS: usize = 100_000;

/// Shown to a newcomer while the study is closed, unless `[outcomes.study_closed]` says
/// otherwise.
const CLOSED_MESSAGE: &str =
    "This study is not taking new participants right now. Thank you for your interest.";

/// What the lobby keeps about the study as a whole.
#[derive(Debug, Default)]
pub(super) struct Study {
    closed: bool,
    /// Everyone who ever arrived (greeted while the study was open, or read back).
    pub(super) arrived: HashSet<ParticipantId>,
    timed_out: usize,
    matched: usize,
    played: usize,
    /// Each participant's latest stored outcome per game.
    outcomes: HashMap<(ParticipantId, GameId), Outcome>,
    /// How long matched participants waited, ms.
    waits: Vec<u64>,
    /// Participants the researcher excluded, with the message they are shown.
    pub(super) excluded: HashMap<ParticipantId, String>,
}

/// An action from the admin console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminCommand {
    /// Close (`open: false`) or reopen the study to new arrivals.
    SetOpen { open: bool, reason: String },
    /// End a running game for every player.
    EndGame { game_id: GameId, reason: String },
    /// Exclude a participant, showing it `message` (a default when empty).
    Exclude { participant: ParticipantId, message: String, reason: String },
}

/// The funnel of the study, as the admin console shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Funnel {
    /// Whether new arrivals are let in.
    pub open: bool,
    pub arrived: usize,
    pub waiting: usize,
    pub timed_out: usize,
    pub matched: usize,
    pub played: usize,
    /// Participant-games by the outcome of their last stored episode (`complete`, ...).
    pub outcomes: BTreeMap<String, usize>,
    /// Participants with a game stored as `complete`.
    pub completed: usize,
    /// `completed` over arrivals.
    pub completion_rate: Option<f64>,
    pub wait_median_ms: Option<u64>,
    pub wait_p90_ms: Option<u64>,
}

impl Lobby {
    /// Carries out an admin console action; returns what to journal and send.
    pub fn admin(&mut self, command: AdminCommand, now_ms: u64) -> Result<Vec<Action>, AdminError> {
        let actions = match command {
            AdminCommand::SetOpen { open, reason } => {
                self.study.closed = !open;
                tracing::info!(open, %reason, "study switch");
                let action = if open { AdminAction::ReopenStudy } else { AdminAction::CloseStudy };
                vec![Action::LogAdmin(AdminRecord::new(action, reason))]
            }
            AdminCommand::EndGame { game_id, reason } => self.end_game(&game_id, reason, now_ms)?,
            AdminCommand::Exclude { participant, message, reason } => {
                self.exclude_participant(&participant, message, reason, now_ms)?
            }
        };
        Ok(self.settle(None, actions, now_ms))
    }

    /// Takes `admin_actions.jsonl`, oldest first: the last switch counts.
    pub fn restore_admin(&mut self, records: impl IntoIterator<Item = AdminRecord>) {
        for record in records {
            match (record.action, record.participant_id) {
                (AdminAction::CloseStudy, _) => self.study.closed = true,
                (AdminAction::ReopenStudy, _) => self.study.closed = false,
                (AdminAction::ExcludeParticipant, Some(participant)) => {
                    let message = record.message.unwrap_or_default();
                    self.study.excluded.insert(participant, message);
                }
                (AdminAction::ExcludeParticipant | AdminAction::EndGame, _) => {}
            }
        }
    }

    /// A greeted participant arrives: a newcomer to a closed study gets the `study_closed`
    /// exit (returned); anyone else is counted as arrived and goes on.
    pub(super) fn arrive(
        &mut self,
        conn: ConnId,
        participant: &ParticipantId,
    ) -> Option<Vec<Action>> {
        let known = self.study.arrived.contains(participant)
            || self.progress.contains_key(participant)
            || self.screened.contains_key(participant);
        if known || !self.study.closed {
            self.study.arrived.insert(participant.clone());
            return None;
        }
        if let Some(state) = self.conns.get_mut(&conn) {
            state.phase = Phase::Exited;
        }
        let outcome = self.experiment.outcomes.get(&OutcomeName::StudyClosed);
        let message = outcome.and_then(|o| o.message.clone());
        let exit = ServerMsg::exit(
            OutcomeName::StudyClosed,
            message.unwrap_or_else(|| CLOSED_MESSAGE.into()),
            outcome.and_then(|o| o.completion_code.clone()),
            outcome.and_then(|o| o.redirect_url.clone()),
        );
        tracing::info!(%participant, "turned away: the study is closed");
        Some(vec![Action::Send(conn, exit)])
    }

    /// Counts arrivals known from the journals (progress, screening) after a restart.
    pub(super) fn restore_arrivals(&mut self) {
        let known = self.progress.keys().chain(self.screened.keys()).cloned();
        self.study.arrived.extend(known);
    }

    /// A match of the match log (live or read back): its members and how long they waited.
    pub(super) fn tally_match(&mut self, record: &MatchLogRecord) {
        if let MatchLogRecord::Match { participants, .. } = record {
            self.study.matched += participants.len();
            self.study.arrived.extend(participants.iter().map(|p| p.participant_id.clone()));
            let room = MAX_WAITS.saturating_sub(self.study.waits.len());
            self.study.waits.extend(participants.iter().filter_map(|p| p.waited_ms).take(room));
        }
    }

    pub(super) fn tally_started(&mut self, players: usize) {
        self.study.played += players;
    }

    pub(super) fn tally_timed_out(&mut self) {
        self.study.timed_out += 1;
    }

    /// An episode of `participant` in `game` is being stored with `outcome`.
    pub(super) fn tally_outcome(
        &mut self,
        participant: &ParticipantId,
        game: &GameId,
        outcome: Outcome,
    ) {
        self.study.outcomes.insert((participant.clone(), game.clone()), outcome);
    }

    /// The outcome `participant`'s stored data of `game` has, if any is stored.
    pub(super) fn study_outcome(
        &self,
        participant: &ParticipantId,
        game: &GameId,
    ) -> Option<Outcome> {
        self.study.outcomes.get(&(participant.clone(), game.clone())).copied()
    }

    pub(super) fn funnel(&self, waiting: usize) -> Funnel {
        let mut counts: HashMap<Outcome, usize> = HashMap::new();
        for outcome in self.study.outcomes.values() {
            *counts.entry(*outcome).or_insert(0) += 1;
        }
        // Named as in the sidecars (one serialization per kind of outcome, not per game).
        let outcomes: BTreeMap<String, usize> = counts
            .into_iter()
            .filter_map(|(outcome, n)| {
                Some((serde_json::to_value(outcome).ok()?.as_str()?.to_owned(), n))
            })
            .collect();
        let arrived = self.study.arrived.len();
        let completed: HashSet<&ParticipantId> = self
            .study
            .outcomes
            .iter()
            .filter(|(_, outcome)| **outcome == Outcome::Complete)
            .map(|((participant, _), _)| participant)
            .collect();
        let completed = completed.len();
        let mut waits = self.study.waits.clone();
        waits.sort_unstable();
        let at = |q: f64| waits.get(((waits.len() as f64 - 1.0) * q).round() as usize).copied();
        Funnel {
            open: !self.study.closed,
            arrived,
            waiting,
            timed_out: self.study.timed_out,
            matched: self.study.matched,
            played: self.study.played,
            outcomes,
            completed,
            completion_rate: (arrived > 0).then(|| completed as f64 / arrived as f64),
            wait_median_ms: at(0.5),
            wait_p90_ms: at(0.9),
        }
    }
}
