//! What the admin console shows: where everyone is right now, the games, the problems.

use serde::Serialize;

use super::{
    FinishedGame, Funnel, GameRow, GameState, Lobby, ParticipantRow, Phase, ProblemsSnapshot,
};

/// The lobby at one moment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    pub experiment: String,
    /// Lobby time of the snapshot (every `*_ms` time in it is lobby time).
    pub now_ms: u64,
    /// Open WebSocket connections, greeted or not.
    pub connected: usize,
    /// Connections that came back to a running game or to deliver data.
    pub returning: usize,
    /// Participants whose progress past the first scene is recorded.
    pub progress_recorded: usize,
    /// Connections being screened now (not in any scene yet).
    pub screening: usize,
    /// Screening decisions since the relay started or read back: turned away / passed.
    pub screened_out: usize,
    pub screened_in: usize,
    /// Pages that did not finish screening within `[loading] timeout_ms` since the relay
    /// started or read back.
    pub loading_failed: usize,
    /// What became of everyone who arrived, and whether the study takes newcomers.
    pub funnel: Funnel,
    pub problems: ProblemsSnapshot,
    pub scenes: Vec<SceneSnapshot>,
    /// Everyone seen since the relay started, longest in their place first.
    pub participants: Vec<ParticipantRow>,
    /// Running games, most troubled first, and ended ones, newest first.
    pub games: Vec<GameRow>,
    pub finished_games: Vec<FinishedGame>,
}

/// One scene of the experiment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SceneSnapshot {
    pub index: usize,
    pub id: String,
    /// `static` or `gym`.
    pub kind: &'static str,
    /// Greeted participants whose current scene this is.
    pub here: usize,
    /// In the waiting room (probing ones included).
    pub waiting: usize,
    pub probing: usize,
    /// Matched games in the countdown / connection check.
    pub games_validating: usize,
    pub games_playing: usize,
    /// Participants who left the waiting room because nobody was found in time.
    pub timed_out: usize,
    /// Players per game (gym scenes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_size: Option<usize>,
}

impl Lobby {
    pub fn snapshot(&self, now_ms: u64) -> Snapshot {
        let (scenes, returning, screening) = self.scene_counts();
        let waiting = scenes.iter().map(|s| s.waiting).sum();
        let participants = self.participant_rows();
        let games = self.game_rows(now_ms);
        Snapshot {
            funnel: self.funnel(waiting),
            problems: self.problems_snapshot(&participants, &games, now_ms),
            participants,
            games,
            finished_games: self.finished_rows(),
            now_ms,
            experiment: self.experiment.experiment.id.clone(),
            connected: self.conns.len(),
            returning,
            progress_recorded: self.progress.len(),
            screening,
            screened_out: self.screened.values().filter(|d| d.is_some()).count(),
            screened_in: self.screened.values().filter(|d| d.is_none()).count(),
            loading_failed: self.loading_failed,
            scenes,
        }
    }

    /// Where everyone is, per scene; and how many connections are returning and screening.
    fn scene_counts(&self) -> (Vec<SceneSnapshot>, usize, usize) {
        let mut scenes: Vec<SceneSnapshot> = self
            .scenes
            .iter()
            .enumerate()
            .map(|(index, scene)| SceneSnapshot {
                index,
                id: scene.id().to_string(),
                kind: if scene.gym().is_some() { "gym" } else { "static" },
                here: 0,
                waiting: 0,
                probing: 0,
                games_validating: 0,
                games_playing: 0,
                timed_out: 0,
                group_size: scene.gym().map(|g| g.matchmaking.group_size),
            })
            .collect();
        let (mut returning, mut screening) = (0, 0);
        for state in self.conns.values() {
            let Some(scene) = scenes.get_mut(state.scene) else { continue };
            match state.phase {
                Phase::Greeting | Phase::Exited => continue,
                Phase::Screening { .. } => {
                    screening += 1;
                    continue;
                }
                Phase::Returning => returning += 1,
                Phase::Waiting => {
                    scene.waiting += 1;
                    scene.probing += usize::from(state.probe.is_some());
                }
                Phase::TimedOut => scene.timed_out += 1,
                Phase::Paired { .. } | Phase::PartnerGone | Phase::Page => {}
            }
            scene.here += 1;
        }
        for game in self.games.values() {
            let Some(scene) = scenes.get_mut(game.scene) else { continue };
            match game.state {
                GameState::Validating => scene.games_validating += 1,
                GameState::Playing => scene.games_playing += 1,
            }
        }
        (scenes, returning, screening)
    }
}
