//! Live spectating, the relay's side: which games consoles watch, the player whose page
//! forwards each watched game's confirmed rows (its first), and the rows of the episode under
//! way, so a console that starts watching later still simulates that episode from its reset.
//! The lobby only checks and keeps the rows; the hub fans them out to the watching consoles.

use std::collections::HashMap;

use rollgym_protocol::{
    BUILT_IN_ENVS, GameId, ServerMsg, SpectateFrames, SpectateStart, episode::Settings,
};

use super::{Action, AdminError, ConnId, Lobby, Phase};
use crate::error::RequestError;

/// A game at least one console watches.
#[derive(Debug)]
pub(super) struct Watched {
    pub(super) watchers: u32,
    /// The player whose page forwards the rows.
    pub(super) feeder: ConnId,
    players: usize,
    /// Steps in an episode at most, and episodes in the game.
    max_steps: u32,
    num_episodes: u32,
    /// The episode under way as received so far: its first batch, every later batch's
    /// actions appended and its state hash the newest.
    episode: Option<SpectateFrames>,
}

/// What a console that starts watching gets first.
#[derive(Debug, Clone)]
pub struct WatchStart {
    pub start: SpectateStart,
    /// The episode under way so far, when its page already forwarded rows.
    pub so_far: Option<SpectateFrames>,
}

/// The watched games (a field of the lobby).
pub(super) type Watches = HashMap<GameId, Watched>;

impl Lobby {
    /// A console starts watching `game_id`: the first watcher asks its first player's page to
    /// forward the rows.
    pub fn watch(&mut self, game_id: &GameId) -> Result<(WatchStart, Vec<Action>), AdminError> {
        let game =
            self.games.get(game_id).ok_or_else(|| AdminError::UnknownGame(game_id.clone()))?;
        let gym = self
            .scenes
            .get(game.scene)
            .and_then(|s| s.gym())
            .ok_or_else(|| AdminError::UnknownGame(game_id.clone()))?;
        if !BUILT_IN_ENVS.contains(&gym.game.env.as_str()) {
            return Err(AdminError::NotWatchable(gym.game.env.clone()));
        }
        let feeder =
            *game.members.first().ok_or_else(|| AdminError::UnknownGame(game_id.clone()))?;
        let start = SpectateStart {
            game_id: game_id.clone(),
            scene_id: gym.id.clone(),
            players: game.participants.clone(),
            settings: Settings::from(&gym.game),
        };
        let (players, max_steps, num_episodes) =
            (game.members.len(), gym.game.max_steps, gym.game.num_episodes);
        let mut actions = Vec::new();
        let watched = self.watched.entry(game_id.clone()).or_insert_with(|| {
            let on = ServerMsg::Watch { game_id: game_id.clone(), on: true };
            actions.push(Action::Send(feeder, on));
            Watched { watchers: 0, feeder, players, max_steps, num_episodes, episode: None }
        });
        watched.watchers += 1;
        tracing::info!(game = %game_id, watchers = watched.watchers, "console watches a game");
        Ok((WatchStart { start, so_far: watched.episode.clone() }, actions))
    }

    /// A console stopped watching `game_id`: after the last one, its page stops forwarding.
    pub fn unwatch(&mut self, game_id: &GameId) -> Vec<Action> {
        let Some(watched) = self.watched.get_mut(game_id) else { return Vec::new() };
        watched.watchers = watched.watchers.saturating_sub(1);
        if watched.watchers > 0 {
            return Vec::new();
        }
        let feeder = watched.feeder;
        self.watched.remove(game_id);
        let still_there = self.games.get(game_id).is_some_and(|g| g.members.contains(&feeder));
        let off = ServerMsg::Watch { game_id: game_id.clone(), on: false };
        still_there.then_some(Action::Send(feeder, off)).into_iter().collect()
    }

    /// A page forwarded rows of its watched game: kept for later watchers and pushed to the
    /// consoles. Rows that do not continue what was kept (a page still sending after the
    /// watch ended and started again) are dropped; malformed ones are refused.
    pub(super) fn frames(&mut self, conn: ConnId, batch: SpectateFrames) -> Vec<Action> {
        let in_game = matches!(
            self.conns.get(&conn).map(|s| &s.phase),
            Some(Phase::Paired { game_id, .. }) if *game_id == batch.game_id
        );
        if !in_game {
            return vec![Action::Refuse(conn, RequestError::NotInGame(batch.game_id))];
        }
        let Some(watched) = self.watched.get_mut(&batch.game_id).filter(|w| w.feeder == conn)
        else {
            return Vec::new();
        };
        if let Err(why) = watched.check(&batch) {
            return vec![Action::Refuse(conn, RequestError::InvalidFrames(why))];
        }
        watched.keep(batch).map(|new| Action::Spectate(Box::new(new))).into_iter().collect()
    }

    /// After every event: the watchers of a game that is over hear its end, and when a
    /// game's first player came back on a new connection (its page reconnected to the relay),
    /// that connection is asked to feed (rows the relay already has are not sent twice).
    pub(super) fn refresh_watches(&mut self) -> Vec<Action> {
        if self.watched.is_empty() {
            return Vec::new();
        }
        let games = &self.games;
        let mut actions = Vec::new();
        self.watched.retain(|game_id, watched| {
            let Some(feeder) = games.get(game_id).and_then(|g| g.members.first().copied()) else {
                actions.push(Action::SpectateEnd(game_id.clone()));
                return false;
            };
            if feeder != watched.feeder {
                watched.feeder = feeder;
                let on = ServerMsg::Watch { game_id: game_id.clone(), on: true };
                actions.push(Action::Send(feeder, on));
            }
            true
        });
        actions
    }
}

impl Watched {
    /// Whether the batch is well formed for this game.
    fn check(&self, batch: &SpectateFrames) -> Result<(), String> {
        let rows = batch.rows(self.players).ok_or_else(|| {
            format!("the actions are not 1 to 256 whole rows of {} players", self.players)
        })?;
        if batch.episode >= self.num_episodes {
            return Err(format!("the game has {} episodes", self.num_episodes));
        }
        if u64::from(batch.t) + rows as u64 > u64::from(self.max_steps) {
            return Err(format!("an episode has {} steps", self.max_steps));
        }
        if batch.t == 0 && batch.seed.is_none() {
            return Err("the first rows of an episode come with its seed".into());
        }
        Ok(())
    }

    /// Keeps the rows of a batch that continue the episode under way (or start a later one);
    /// returns them, without any the relay already had (a page asked to feed again after a
    /// reconnection starts over at the episode's first row).
    fn keep(&mut self, batch: SpectateFrames) -> Option<SpectateFrames> {
        let players = self.players;
        match &mut self.episode {
            Some(kept) if kept.episode == batch.episode => {
                let next = kept.actions.len() / players;
                let (from, rows) = (batch.t as usize, batch.actions.len() / players);
                if from > next || from + rows <= next {
                    return None;
                }
                let new = SpectateFrames {
                    t: next as u32,
                    frame: batch.frame + (next - from) as i32,
                    seed: None,
                    actions: batch.actions[(next - from) * players..].to_vec(),
                    ..batch
                };
                kept.actions.extend_from_slice(&new.actions);
                kept.state_hash = new.state_hash;
                Some(new)
            }
            Some(kept) if batch.episode < kept.episode => None,
            _ if batch.t != 0 => None,
            _ => {
                self.episode = Some(batch.clone());
                Some(batch)
            }
        }
    }
}
