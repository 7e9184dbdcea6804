//! Every participant seen since the relay started, for the admin console's participants table
//! and a participant's timeline: where each is now, since when, and every place it was before.
//!
//! The roster is kept up to date by observation, not by hooks at every phase change: after
//! each event the lobby looks again at the connections that event touched (the one it came
//! from and every one it sent something to) and records a new step where a place changed.
//! Every change of place sends the participant a message, so nothing is missed.

use std::collections::{HashMap, HashSet, VecDeque};

use rollgym_protocol::{GameId, Outcome, ParticipantId};
use serde::Serialize;

use super::{Action, ConnId, GameState, Lobby, Phase};

/// Steps of a timeline kept per participant (the oldest go first).
const TIMELINE_STEPS: usize = 200;

/// Where a participant is: its scene, what it does there, and its game if it has one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Place {
    pub scene: usize,
    /// `connecting`, `screening`, `exited`, `page`, `waiting`, `timed_out`, `matched`,
    /// `playing`, `partner_gone`, `returning` or `offline`.
    pub phase: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub game: Option<GameId>,
}

/// One entry of a timeline: from `at_ms` (lobby time) the participant was at `place`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub at_ms: u64,
    #[serde(flatten)]
    pub place: Place,
}

/// What the relay knows of one participant.
#[derive(Debug, Default)]
pub(super) struct Person {
    pub(super) timeline: VecDeque<Step>,
    pub(super) uploads_stored: u32,
    pub(super) uploads_refused: u32,
    /// Unacknowledged uploads its page last reported.
    pub(super) pending_uploads: Option<u32>,
    pub(super) last_outcome: Option<Outcome>,
}

impl Person {
    fn now(&self) -> Option<&Step> {
        self.timeline.back()
    }

    fn moved(&mut self, place: Place, at_ms: u64) {
        if self.now().is_some_and(|step| step.place == place) {
            return;
        }
        if self.timeline.len() == TIMELINE_STEPS {
            self.timeline.pop_front();
        }
        self.timeline.push_back(Step { at_ms, place });
    }
}

#[derive(Debug, Default)]
pub(super) struct Roster {
    pub(super) people: HashMap<ParticipantId, Person>,
    /// The connections of greeted participants, as last observed (a disconnect is noticed
    /// through it once the connection is gone).
    seen: HashMap<ConnId, ParticipantId>,
}

/// One row of the console's participants table (unknown values are left out: the snapshot
/// carries one row per participant on every push).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParticipantRow {
    pub id: ParticipantId,
    #[serde(flatten)]
    pub place: Place,
    /// Since when it is there (lobby time, like the snapshot's `now_ms`).
    pub since_ms: u64,
    /// The other players of its game, in player order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub partners: Vec<ParticipantId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_rtt_ms: Option<u32>,
    pub uploads_stored: u32,
    pub uploads_refused: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_uploads: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
}

/// A participant's detail view: its row and its whole timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParticipantDetail {
    #[serde(flatten)]
    pub row: ParticipantRow,
    pub timeline: Vec<Step>,
}

impl Lobby {
    /// Records where the connections an event touched are now: `origin` (where the event
    /// came from) and everyone `actions` sends something to.
    pub(super) fn observe(&mut self, origin: Option<ConnId>, actions: &[Action], now_ms: u64) {
        let touched: HashSet<ConnId> = origin
            .into_iter()
            .chain(actions.iter().filter_map(|action| match action {
                Action::Send(conn, _) | Action::Refuse(conn, _) | Action::Close(conn) => {
                    Some(*conn)
                }
                _ => None,
            }))
            .collect();
        for conn in touched {
            self.observe_conn(conn, now_ms);
        }
    }

    fn observe_conn(&mut self, conn: ConnId, now_ms: u64) {
        let Some(state) = self.conns.get(&conn) else {
            // Gone: its participant is offline where it was.
            if let Some(participant) = self.roster.seen.remove(&conn)
                && !self.owners.contains_key(&participant)
                && let Some(person) = self.roster.people.get_mut(&participant)
            {
                let scene = person.now().map_or(0, |s| s.place.scene);
                person.moved(Place { scene, phase: "offline", game: None }, now_ms);
            }
            return;
        };
        let Some(participant) = state.participant.clone() else { return };
        let place = self.place_of(conn);
        self.roster.seen.insert(conn, participant.clone());
        if let Some(place) = place {
            self.roster.people.entry(participant).or_default().moved(place, now_ms);
        }
    }

    /// Where a greeted connection is.
    fn place_of(&self, conn: ConnId) -> Option<Place> {
        let state = self.conns.get(&conn)?;
        let (phase, game) = match &state.phase {
            Phase::Greeting => ("connecting", None),
            Phase::Screening { .. } => ("screening", None),
            Phase::Exited => ("exited", None),
            Phase::Page => ("page", None),
            Phase::Waiting => ("waiting", None),
            Phase::TimedOut => ("timed_out", None),
            Phase::Paired { game_id, .. } => {
                let playing = self.game_state(game_id) == Some(GameState::Playing);
                (if playing { "playing" } else { "matched" }, Some(game_id.clone()))
            }
            Phase::PartnerGone => ("partner_gone", None),
            Phase::Returning => ("returning", None),
        };
        Some(Place { scene: state.scene, phase, game })
    }

    /// An upload of `participant` was stored (`Ok`) or refused.
    pub(super) fn count_upload(&mut self, participant: &ParticipantId, stored: bool) {
        let person = self.roster.people.entry(participant.clone()).or_default();
        if stored {
            person.uploads_stored += 1;
        } else {
            person.uploads_refused += 1;
        }
    }

    /// The console's participants table, longest in their place first.
    pub(super) fn participant_rows(&self) -> Vec<ParticipantRow> {
        let mut rows: Vec<ParticipantRow> =
            self.roster.people.keys().filter_map(|id| self.participant_row(id)).collect();
        rows.sort_by(|a, b| a.since_ms.cmp(&b.since_ms).then_with(|| a.id.cmp(&b.id)));
        rows
    }

    fn participant_row(&self, id: &ParticipantId) -> Option<ParticipantRow> {
        let person = self.roster.people.get(id)?;
        let step = person.now()?;
        let conn = self.owners.get(id).copied();
        Some(ParticipantRow {
            id: id.clone(),
            place: step.place.clone(),
            since_ms: step.at_ms,
            partners: conn.map(|c| self.partners_of(c)).unwrap_or_default(),
            server_rtt_ms: conn.and_then(|c| self.rtt_of(c)),
            uploads_stored: person.uploads_stored,
            uploads_refused: person.uploads_refused,
            pending_uploads: person.pending_uploads,
            outcome: person.last_outcome,
        })
    }

    /// A participant's detail view, if the relay has seen it since it started.
    pub fn participant(&self, id: &ParticipantId) -> Option<ParticipantDetail> {
        let row = self.participant_row(id)?;
        let timeline = self.roster.people.get(id)?.timeline.iter().cloned().collect();
        Some(ParticipantDetail { row, timeline })
    }
}
