//! Which uploads the relay stores: only a participant's own data of a game the lobby assigned
//! to it, in that game's scene, for an episode that exists, no larger than the game can
//! produce.
//!
//! The lobby remembers every game it formed ([`Assignment`]), and reads them back from the
//! match logs when the relay restarts, so data of a game that was under way before a restart
//! is still taken. Everything else is refused with a typed [`UploadError`] and writes nothing:
//! a visitor who never played cannot add a participant to the dataset, and a player cannot
//! write more than its games' episodes. Files are named by scene, participant and episode, so
//! a participant's stored data is bounded by its gym scenes × episodes × [`max_upload_bytes`].

use rollgym_protocol::{GameConfig, GameId, ParticipantId, Upload};

use super::{Action, ConnId, Lobby, Problem};
use crate::error::UploadError;

/// A game the lobby formed: the scene it was in and its players, in player order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Assignment {
    pub(super) scene: usize,
    pub(super) players: Vec<ParticipantId>,
}

/// The widest CSV row the relay accepts on average, in bytes: far above a two-player
/// Overcooked row, leaving room for four players and an environment's own info columns.
pub const MAX_ROW_BYTES: usize = 2048;

/// The largest sidecar the relay accepts (serialized JSON).
pub const MAX_SIDECAR_BYTES: usize = 64 * 1024;

/// The largest CSV an episode of `game` can produce: a header and one row per step.
pub fn max_upload_bytes(game: &GameConfig) -> usize {
    (game.max_steps as usize + 1).saturating_mul(MAX_ROW_BYTES)
}

impl Lobby {
    /// Remembers a game the lobby formed (or read back from a match log).
    pub(super) fn assign(&mut self, game_id: &GameId, scene: usize, players: Vec<ParticipantId>) {
        self.assignments.insert(game_id.clone(), Assignment { scene, players });
    }

    /// Admits an upload or says why not; the storage layer validates its content.
    pub(super) fn upload(&mut self, conn: ConnId, upload: Upload, now_ms: u64) -> Vec<Action> {
        match self.admit(conn, &upload) {
            Ok(players) => {
                self.tally_outcome(&upload.participant_id, &upload.game_id, upload.sidecar.outcome);
                self.roster.people.entry(upload.participant_id.clone()).or_default().last_outcome =
                    Some(upload.sidecar.outcome);
                vec![Action::Store { conn, upload: Box::new(upload), players }]
            }
            Err(err) => {
                self.upload_refused(
                    &upload.participant_id,
                    &upload.game_id,
                    &err.to_string(),
                    now_ms,
                );
                vec![Action::RefuseUpload(conn, upload.upload_id, err)]
            }
        }
    }

    /// The players of the upload's game if the upload may be stored.
    fn admit(&self, conn: ConnId, upload: &Upload) -> Result<Vec<ParticipantId>, UploadError> {
        let owner = self.conns.get(&conn).and_then(|c| c.participant.as_ref());
        if owner != Some(&upload.participant_id) {
            return Err(UploadError::NotYourFile(upload.participant_id.clone()));
        }
        let game = self
            .assignments
            .get(&upload.game_id)
            .filter(|a| a.players.contains(&upload.participant_id))
            .ok_or_else(|| UploadError::NotYourGame(upload.game_id.clone()))?;
        let gym = self
            .scenes
            .get(game.scene)
            .and_then(|s| s.gym())
            .filter(|g| g.id == upload.scene_id)
            .ok_or_else(|| UploadError::WrongScene {
                game: upload.game_id.clone(),
                scene: upload.scene_id.clone(),
            })?;
        check_size(&gym.game, upload)?;
        Ok(game.players.clone())
    }
}

/// The episode exists and the files are no larger than it can produce.
fn check_size(game: &GameConfig, upload: &Upload) -> Result<(), UploadError> {
    if upload.episode >= game.num_episodes {
        return Err(UploadError::NoSuchEpisode { episode: upload.episode, of: game.num_episodes });
    }
    let max_rows = game.max_steps as usize + 1;
    let rows = upload.csv.lines().count();
    if rows > max_rows {
        return Err(UploadError::TooManyRows { rows, max: max_rows });
    }
    let max_bytes = max_upload_bytes(game);
    if upload.csv.len() > max_bytes {
        return Err(UploadError::TooLarge { bytes: upload.csv.len(), max: max_bytes });
    }
    let sidecar = serde_json::to_string(&upload.sidecar).map_or(usize::MAX, |s| s.len());
    if sidecar > MAX_SIDECAR_BYTES {
        return Err(UploadError::TooLarge { bytes: sidecar, max: MAX_SIDECAR_BYTES });
    }
    Ok(())
}

impl Lobby {
    /// The storage layer's answer to an upload the lobby admitted: stored (with the parity
    /// of its episode when every player's file of it is in), or not.
    pub fn stored(
        &mut self,
        participant: &ParticipantId,
        game_id: &GameId,
        episode: u32,
        result: Result<Option<bool>, String>,
        now_ms: u64,
    ) {
        match result {
            Ok(parity) => {
                self.count_upload(participant, true);
                let Some(equal) = parity else { return };
                self.book_parity(game_id, episode, equal);
                if !equal {
                    self.problem_happened(Problem {
                        kind: "parity_mismatch",
                        participant: None,
                        game: Some(game_id.clone()),
                        since_ms: now_ms,
                        detail: format!("episode {episode}: the players' files differ"),
                    });
                }
            }
            Err(why) => self.upload_refused(participant, game_id, &why, now_ms),
        }
    }

    fn upload_refused(
        &mut self,
        participant: &ParticipantId,
        game_id: &GameId,
        why: &str,
        now_ms: u64,
    ) {
        self.count_upload(participant, false);
        self.problem_happened(Problem {
            kind: "upload_refused",
            participant: Some(participant.clone()),
            game: Some(game_id.clone()),
            since_ms: now_ms,
            detail: why.chars().take(300).collect(),
        });
    }
}
