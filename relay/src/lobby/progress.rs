//! How far each participant got through the experiment, so a participant who comes back
//! (a dropped connection, a reloaded page, a restarted relay) continues where it was instead
//! of starting over or getting stuck.
//!
//! The lobby keeps the progress of every participant it has seen and emits
//! [`Action::RecordProgress`] whenever it changes; the driver appends those to a journal that a
//! restarted relay reads back ([`Lobby::restore_progress`]).

use serde::{Deserialize, Serialize};

use rollgym_protocol::{GameId, MatchLogRecord, ParticipantId, SceneId};

use super::{Action, ConnId, Lobby, Phase};
use crate::error::RequestError;

/// A participant's place in the experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Progress {
    /// The index of the scene it is in.
    pub scene: usize,
    /// Its game in that scene started (so that scene cannot be played again).
    pub played: bool,
}

impl Lobby {
    /// Takes the progress read back from the journal (later records win).
    pub fn restore_progress(
        &mut self,
        records: impl IntoIterator<Item = (ParticipantId, Progress)>,
    ) {
        self.progress.extend(records);
        self.restore_arrivals();
    }

    /// Takes the match logs' decisions, oldest first: GroupReunion remembers who played with
    /// whom, and pairs whose probe or connection failed are not matched again.
    pub fn restore_decisions(&mut self, decisions: impl IntoIterator<Item = MatchLogRecord>) {
        for decision in decisions {
            self.tally_match(&decision);
            let participants: Vec<ParticipantId> =
                decision.participants().iter().map(|p| p.participant_id.clone()).collect();
            let rejected = match &decision {
                MatchLogRecord::Match { scene_id, game_id, .. } => {
                    self.remember_group(&participants);
                    self.restore_assignment(scene_id, game_id, participants.clone());
                    false
                }
                MatchLogRecord::Probe { result, .. } => result.rejects(),
                MatchLogRecord::Unstarted { reason, .. } => reason.rejects(),
            };
            if rejected {
                self.reject_all(&participants);
            }
        }
    }

    /// A logged match's game, in the scene of that id (if the experiment still has it).
    fn restore_assignment(
        &mut self,
        scene_id: &SceneId,
        game_id: &GameId,
        players: Vec<ParticipantId>,
    ) {
        let scene = self.scenes.iter().position(|s| s.gym().is_some_and(|g| g.id == *scene_id));
        if let Some(scene) = scene {
            self.assign(game_id, scene, players);
        }
    }

    /// Where a participant is, as far as the lobby knows.
    pub fn progress_of(&self, participant: &ParticipantId) -> Progress {
        self.progress.get(participant).copied().unwrap_or_default()
    }

    /// Remembers a change of a connection's progress and has it journaled.
    pub(super) fn record_progress(&mut self, conn: ConnId, progress: Progress) -> Option<Action> {
        let participant = self.conns.get(&conn)?.participant.clone()?;
        let known = self.progress.get(&participant);
        // Everyone starts in scene 0: that needs no record.
        if known == Some(&progress) || (known.is_none() && progress == Progress::default()) {
            return None;
        }
        self.progress.insert(participant.clone(), progress);
        Some(Action::RecordProgress { participant, progress })
    }

    /// Puts a greeted participant where its progress says.
    ///
    /// Coming back to a game that had started (`rejoin`: it plays on peer to peer, or has data
    /// to deliver) it is not put anywhere, but may leave the scene. A game that had not started
    /// is gone with the old connection (or the old relay): like a new page, it is placed anew.
    /// A new page is shown a static scene or a gym scene it has not played yet again; after a
    /// game that started, which cannot be resumed, it goes on to the next scene, and if there
    /// is none it has finished the experiment.
    pub(super) fn resume(&mut self, conn: ConnId, rejoin: bool, now_ms: u64) -> Vec<Action> {
        let Some(participant) = self.conns.get(&conn).and_then(|s| s.participant.clone()) else {
            return Vec::new();
        };
        // Excluded by the researcher: never placed again (its data is still taken).
        if let Some(actions) = self.turn_away_excluded(conn, &participant) {
            return actions;
        }
        let mut progress = self.progress_of(&participant);
        // The experiment file may have lost scenes since the progress was recorded.
        let last = self.scenes.len().saturating_sub(1);
        if progress.scene > last {
            progress = Progress { scene: last, played: true };
        }
        let played_gym = progress.played && self.scenes[progress.scene].gym().is_some();
        let rejoin = rejoin && progress.played;
        if rejoin || (played_gym && progress.scene == last) {
            if let Some(state) = self.conns.get_mut(&conn) {
                state.scene = progress.scene;
                state.phase = Phase::Returning;
            }
            if rejoin {
                return Vec::new();
            }
            // Still welcome (it may have data to deliver), but there is nothing left to do.
            return vec![Action::Refuse(conn, RequestError::AlreadyFinished(participant))];
        }
        let new_arrival = progress == Progress::default();
        if let Some(actions) = self.arrive(conn, &participant) {
            return actions;
        }
        if let Some(actions) = self.screen_on_arrival(conn, &participant, new_arrival, now_ms) {
            return actions;
        }
        let scene = if played_gym { progress.scene + 1 } else { progress.scene };
        if scene != 0 {
            tracing::info!(%participant, scene, "participant resumes");
        }
        self.enter_scene(conn, scene, now_ms)
    }
}
