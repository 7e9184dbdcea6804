//! The admin console's actions on people and games: end a running game (every player gets
//! the `ended_by_researcher` exit, its data is partial) and exclude a participant (it gets
//! the `excluded` exit with the researcher's message, its partner `partner_excluded`, and it
//! is never let in again, also after a restart: `admin_actions.jsonl` is read back).

use rollgym_protocol::{
    AdminAction, AdminRecord, GameEnds, GameId, OutcomeConfig, OutcomeName, ParticipantId,
    ServerMsg,
};

use super::{Action, ConnId, Lobby, Phase};

/// Shown to both players of a game the researcher ended, unless
/// `[outcomes.ended_by_researcher]` says otherwise.
const ENDED_MESSAGE: &str = "The researcher has ended this game. Thank you for taking part.";
/// Shown to an excluded participant when the researcher gave no message.
const EXCLUDED_MESSAGE: &str = "The researcher has ended your participation in this study.";

/// Why an admin action could not be carried out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    #[error("no game {0} is running")]
    UnknownGame(GameId),
    #[error("participant {0} has not taken part in this study")]
    UnknownParticipant(ParticipantId),
    #[error(
        "games of environment {0:?} cannot be watched: the console can only simulate the built-in environments"
    )]
    NotWatchable(String),
}

impl Lobby {
    /// Ends a running (or starting) game for every player.
    pub(super) fn end_game(
        &mut self,
        game_id: &GameId,
        reason: String,
        now_ms: u64,
    ) -> Result<Vec<Action>, AdminError> {
        let members = match self.games.get(game_id) {
            Some(game) => game.members.clone(),
            None => return Err(AdminError::UnknownGame(game_id.clone())),
        };
        tracing::info!(game = %game_id, %reason, "game ended by the researcher");
        self.book_finished(game_id, now_ms);
        self.games.remove(game_id);
        let outcome = self.experiment.outcomes.get(&OutcomeName::EndedByResearcher).cloned();
        let mut actions = Vec::new();
        for member in members {
            actions.extend(self.send_exit(
                member,
                OutcomeName::EndedByResearcher,
                outcome.as_ref(),
                ENDED_MESSAGE.into(),
            ));
        }
        let record = AdminRecord::new(AdminAction::EndGame, reason);
        actions.push(Action::LogAdmin(AdminRecord { game_id: Some(game_id.clone()), ..record }));
        Ok(actions)
    }

    /// Excludes a participant wherever it is; `message` is what it is shown.
    pub(super) fn exclude_participant(
        &mut self,
        participant: &ParticipantId,
        message: String,
        reason: String,
        now_ms: u64,
    ) -> Result<Vec<Action>, AdminError> {
        if !self.knows(participant) && !self.study.arrived.contains(participant) {
            return Err(AdminError::UnknownParticipant(participant.clone()));
        }
        tracing::info!(%participant, %reason, "participant excluded by the researcher");
        let message = if message.is_empty() { EXCLUDED_MESSAGE.to_owned() } else { message };
        self.study.excluded.insert(participant.clone(), message.clone());
        let mut actions = Vec::new();
        if let Some(conn) = self.owners.get(participant).copied() {
            actions.extend(self.exclude_conn(conn, message.clone(), now_ms));
        }
        let record = AdminRecord::new(AdminAction::ExcludeParticipant, reason);
        actions.push(Action::LogAdmin(AdminRecord {
            participant_id: Some(participant.clone()),
            message: Some(message),
            ..record
        }));
        Ok(actions)
    }

    /// Takes an online participant out of wherever it is; a game it plays ends for all.
    fn exclude_conn(&mut self, conn: ConnId, message: String, now_ms: u64) -> Vec<Action> {
        let Some(state) = self.conns.get(&conn) else { return Vec::new() };
        let mut actions = Vec::new();
        match &state.phase {
            Phase::Waiting => {
                let scene = state.scene;
                let probe = state.probe.clone();
                self.leave_room(scene, &[conn]);
                if let Some(probe_id) = probe {
                    let left = rollgym_protocol::ProbeResult::Left;
                    actions.extend(self.end_probe(&probe_id, left, None, now_ms));
                }
                actions.extend(self.waiting_counts(scene));
            }
            Phase::Paired { game_id, .. } => {
                let game_id = game_id.clone();
                let gym_game = self.gym_of(conn).map(|g| g.game.clone());
                let ends = gym_game.map(|g| GameEnds::resolve(&self.experiment.outcomes, &g));
                let others: Vec<ConnId> = self
                    .games
                    .get(&game_id)
                    .map(|g| g.members.iter().copied().filter(|m| *m != conn).collect())
                    .unwrap_or_default();
                self.book_finished(&game_id, now_ms);
                self.games.remove(&game_id);
                let partner_end = ends.map(|e| e.partner_excluded).unwrap_or_default();
                for other in others {
                    actions.extend(self.send_exit(
                        other,
                        OutcomeName::PartnerExcluded,
                        Some(&partner_end),
                        "Your partner can no longer take part, so the game has ended.".into(),
                    ));
                }
            }
            _ => {}
        }
        let excluded = self.experiment.outcomes.get(&OutcomeName::Excluded).cloned();
        let config = OutcomeConfig { message: Some(message), ..excluded.unwrap_or_default() };
        actions.extend(self.send_exit(conn, OutcomeName::Excluded, Some(&config), String::new()));
        actions
    }

    /// Sends `conn` the exit `name` (its message, else `fallback`) and leaves it there.
    fn send_exit(
        &mut self,
        conn: ConnId,
        name: OutcomeName,
        config: Option<&OutcomeConfig>,
        fallback: String,
    ) -> Vec<Action> {
        let Some(state) = self.conns.get_mut(&conn) else { return Vec::new() };
        state.phase = Phase::Exited;
        let message = config.and_then(|c| c.message.clone()).unwrap_or(fallback);
        vec![Action::Send(
            conn,
            ServerMsg::exit(
                name,
                message,
                config.and_then(|c| c.completion_code.clone()),
                config.and_then(|c| c.redirect_url.clone()),
            ),
        )]
    }

    /// An excluded participant coming back: the exit again, with the message it was given.
    pub(super) fn turn_away_excluded(
        &mut self,
        conn: ConnId,
        participant: &ParticipantId,
    ) -> Option<Vec<Action>> {
        let message = self.study.excluded.get(participant)?.clone();
        let excluded = self.experiment.outcomes.get(&OutcomeName::Excluded).cloned();
        let config = OutcomeConfig { message: Some(message), ..excluded.unwrap_or_default() };
        Some(self.send_exit(conn, OutcomeName::Excluded, Some(&config), String::new()))
    }
}
