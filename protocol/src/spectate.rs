//! Live spectating: while an admin console watches a game, one of its players' pages forwards
//! the game's confirmed actions to the relay ([`SpectateFrames`], a few bytes per frame, every
//! [`SPECTATE_INTERVAL_MS`]), and the console re-simulates them with the same built-in
//! environment ([`SpectateStart`] says which), a few frames behind the players. Each batch
//! carries the state hash after its last row, so the console also proves, live, that what it
//! draws is the game being played.

use serde::{Deserialize, Serialize};

use crate::{GameId, ParticipantId, SceneId, episode::Settings};

/// How often a watched game's page sends the rows confirmed since its last batch.
pub const SPECTATE_INTERVAL_MS: u32 = 200;

/// Rows in one batch at most: a page that starts feeding mid-episode sends what the episode
/// had so far in batches of this size (each message stays far below the protocol's bound).
pub const MAX_SPECTATE_ROWS: usize = 256;

/// Confirmed rows of one episode, in order: what one player's page forwards, and what the
/// relay pushes to watching consoles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpectateFrames {
    pub game_id: GameId,
    pub episode: u32,
    /// The episode step of the first row (0: the batch starts the episode).
    pub t: u32,
    /// The simulation frame of the first row (rows of an episode are consecutive frames).
    pub frame: i32,
    /// The episode's reset seed, with the batch that starts the episode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Every player's action of each row, row after row (`rows × players` numbers).
    pub actions: Vec<u8>,
    /// The game's state hash after the last row.
    pub state_hash: u64,
}

impl SpectateFrames {
    /// Rows in the batch, for a game of `players` players; `None` when the actions are not
    /// whole rows, there are none, or more than [`MAX_SPECTATE_ROWS`].
    pub fn rows(&self, players: usize) -> Option<usize> {
        let whole = players > 0 && self.actions.len().is_multiple_of(players);
        let rows = if whole { self.actions.len() / players } else { 0 };
        (whole && (1..=MAX_SPECTATE_ROWS).contains(&rows)).then_some(rows)
    }
}

/// What a console needs to simulate a watched game: sent first on its watch stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpectateStart {
    pub game_id: GameId,
    pub scene_id: SceneId,
    pub players: Vec<ParticipantId>,
    /// The game as the scene configures it (environment, layout, fps, steps, episodes).
    pub settings: Settings,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(actions: Vec<u8>) -> SpectateFrames {
        SpectateFrames {
            game_id: GameId::parse("g1").expect("id"),
            episode: 0,
            t: 0,
            frame: 90,
            seed: Some(u64::MAX),
            actions,
            state_hash: u64::MAX,
        }
    }

    #[test]
    fn only_whole_bounded_rows_count() {
        assert_eq!(batch(vec![1, 2, 3, 4]).rows(2), Some(2));
        assert_eq!(batch(vec![1, 2, 3]).rows(2), None, "half a row");
        assert_eq!(batch(Vec::new()).rows(2), None, "no row");
        assert_eq!(batch(vec![0; 2 * MAX_SPECTATE_ROWS]).rows(2), Some(MAX_SPECTATE_ROWS));
        assert_eq!(batch(vec![0; 2 * MAX_SPECTATE_ROWS + 2]).rows(2), None, "too many");
        assert_eq!(batch(vec![1, 2]).rows(0), None);
    }

    #[test]
    fn seeds_and_hashes_survive_json_whole() {
        let sent = batch(vec![1, 2]);
        let text = serde_json::to_string(&sent).expect("encodes");
        assert_eq!(serde_json::from_str::<SpectateFrames>(&text).expect("decodes"), sent);
    }
}
