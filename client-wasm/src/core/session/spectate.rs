//! Feeding a watching admin console: between the relay's `watch` on and off, the rows ggrs
//! confirmed since the last batch go to the relay every [`SPECTATE_INTERVAL_MS`], starting
//! with the first row of the episode under way (a console that starts watching mid-episode
//! simulates it from its reset). Only confirmed rows are sent: what the console draws never
//! has to be taken back.

use rollgym_protocol::{MAX_SPECTATE_ROWS, SPECTATE_INTERVAL_MS, SpectateFrames};

use super::*;
use crate::core::game::EpisodeEnd;

/// How far the feed of a watched game is.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Feed {
    /// The episode being forwarded; `None` until its first confirmed row.
    episode: Option<u32>,
    /// Rows of it sent so far.
    sent: usize,
    /// When the next batch may go (local time).
    due_at: f64,
}

impl Session {
    /// The relay says whether a console watches this game.
    pub(super) fn watch(&mut self, game_id: &GameId, on: bool) -> Vec<Command> {
        if let Some(m) = self.matched_mut().filter(|m| m.game_id == *game_id) {
            m.feed = on.then(Feed::default);
        }
        Vec::new()
    }

    /// Episodes just confirmed over: the rows of the one being forwarded that have not gone
    /// out yet go now (the recorder hands them over with the episode).
    pub(super) fn feed_finished(
        &mut self,
        finished: &[(EpisodeEnd, Vec<FrameRow>)],
    ) -> Vec<Command> {
        let Some(m) = self.matched_mut() else { return Vec::new() };
        let (Some(feed), Some(play)) = (&mut m.feed, &m.play) else { return Vec::new() };
        let mut commands = Vec::new();
        for (end, rows) in finished {
            if feed.episode.is_some_and(|e| e != end.episode) {
                continue;
            }
            let seed = play.netcode.game().plan().episode_seed(end.episode);
            commands.extend(batches(&m.game_id, seed, &rows[feed.sent.min(rows.len())..]));
            *feed = Feed { due_at: feed.due_at, ..Feed::default() };
        }
        commands
    }

    /// The rows of the episode under way confirmed since the last batch, when one is due.
    pub(super) fn feed(&mut self, now_ms: f64) -> Vec<Command> {
        let terminal = self.status.phase.is_terminal();
        let Some(m) = self.matched_mut() else { return Vec::new() };
        let (Some(feed), Some(play)) = (&mut m.feed, &m.play) else { return Vec::new() };
        if terminal || now_ms < feed.due_at {
            return Vec::new();
        }
        let game = play.netcode.game();
        let episode = feed.episode.unwrap_or(game.episode);
        let rows = play.netcode.confirmed_rows(episode);
        if rows.len() <= feed.sent {
            return Vec::new();
        }
        let seed = game.plan().episode_seed(episode);
        let commands = batches(&m.game_id, seed, &rows[feed.sent..]);
        *feed = Feed {
            episode: Some(episode),
            sent: rows.len(),
            due_at: now_ms + f64::from(SPECTATE_INTERVAL_MS),
        };
        commands
    }
}

/// `rows` (consecutive, of one episode) as frame messages of at most [`MAX_SPECTATE_ROWS`]
/// rows; the one that starts the episode carries its reset seed.
fn batches(game_id: &GameId, seed: u64, rows: &[FrameRow]) -> Vec<Command> {
    rows.chunks(MAX_SPECTATE_ROWS)
        .filter_map(|chunk| {
            let (first, last) = (chunk.first()?, chunk.last()?);
            let frames = SpectateFrames {
                game_id: game_id.clone(),
                episode: first.episode,
                t: first.t,
                frame: first.frame,
                seed: (first.t == 0).then_some(seed),
                actions: chunk.iter().flat_map(|r| r.actions.iter().copied()).collect(),
                state_hash: last.state_hash,
            };
            Some(Command::SendRelay(ClientMsg::Frames(Box::new(frames))))
        })
        .collect()
}
