//! A watched game simulated from the rows one player's page forwards (the admin console's
//! live view): each episode is reset with the seed its first batch carries and stepped with
//! every row's actions, and the state hash each batch ends with is checked, so the view is
//! proven to be the game being played. Playback is paced: a console shows the game at its
//! own speed about one batch behind the players, catches up when it falls behind, and jumps
//! to near the newest row after a long gap (the first batch of a game watched mid-episode).

use std::collections::VecDeque;

use rollgym_protocol::{SPECTATE_INTERVAL_MS, SpectateFrames, episode::Settings};

use super::{ReplayError, environment};
use crate::env::{Action, DynEnv, Env};

/// One forwarded row, waiting to be shown.
#[derive(Debug, Clone)]
struct Pending {
    episode: u32,
    t: u32,
    frame: i32,
    /// The episode's reset seed, on its first row.
    seed: Option<u64>,
    actions: Vec<Action>,
    /// The state hash after this row, on the last row of each batch.
    check: Option<u64>,
}

/// The first checked row the simulation did not reproduce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveMismatch {
    pub episode: u32,
    pub t: u32,
    pub expected: u64,
    pub simulated: u64,
}

/// A batch that does not continue what came before.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedError {
    #[error("episode {episode} step {t} does not follow episode {after_episode} step {after_t}")]
    Gap { episode: u32, t: u32, after_episode: u32, after_t: i64 },
    #[error("the batch's actions are not whole rows of {0} players")]
    Rows(usize),
    #[error("episode {0} starts without its seed")]
    NoSeed(u32),
}

/// A game being watched.
#[derive(Debug, Clone)]
pub struct Spectator {
    env: DynEnv,
    fps: u32,
    players: usize,
    queue: VecDeque<Pending>,
    /// Episode, step and frame of the last row shown.
    shown: Option<(u32, u32, i32)>,
    /// Episode and step of the last row received.
    received: Option<(u32, u32)>,
    /// Rows owed to the screen at the playback rate (fractional).
    budget: f64,
    checked: u64,
    mismatch: Option<LiveMismatch>,
}

impl Spectator {
    /// A spectator of a game played with `settings` (a built-in environment).
    pub fn new(settings: &Settings) -> Result<Self, ReplayError> {
        let env = environment(settings)?;
        let players = env.num_players();
        Ok(Self {
            env,
            fps: settings.fps.max(1),
            players,
            queue: VecDeque::new(),
            shown: None,
            received: None,
            budget: 0.0,
            checked: 0,
            mismatch: None,
        })
    }

    /// Queues a batch; it must continue the last one (next step of the episode, or step 0 of
    /// a later episode with its seed).
    pub fn push(&mut self, batch: &SpectateFrames) -> Result<(), FeedError> {
        let rows = batch.rows(self.players).ok_or(FeedError::Rows(self.players))?;
        let follows = match self.received {
            None => batch.t == 0,
            Some((episode, t)) if batch.episode == episode => batch.t == t + 1,
            Some((episode, _)) => batch.episode > episode && batch.t == 0,
        };
        if !follows {
            let (after_episode, after_t) =
                self.received.map_or((0, -1), |(e, t)| (e, i64::from(t)));
            return Err(FeedError::Gap {
                episode: batch.episode,
                t: batch.t,
                after_episode,
                after_t,
            });
        }
        if batch.t == 0 && batch.seed.is_none() {
            return Err(FeedError::NoSeed(batch.episode));
        }
        for (i, actions) in batch.actions.chunks(self.players).enumerate() {
            let step = i as u32;
            self.queue.push_back(Pending {
                episode: batch.episode,
                t: batch.t + step,
                frame: batch.frame + step as i32,
                seed: if i == 0 { batch.seed } else { None },
                actions: actions.to_vec(),
                check: (i + 1 == rows).then_some(batch.state_hash),
            });
        }
        self.received = Some((batch.episode, batch.t + rows as u32 - 1));
        Ok(())
    }

    /// Shows the rows due after `elapsed_ms` more milliseconds of playback; returns how many.
    pub fn advance(&mut self, elapsed_ms: f64) -> usize {
        let batch = (self.fps * SPECTATE_INTERVAL_MS / 1000).max(1) as usize;
        let mut applied = 0;
        if self.queue.len() > self.fps as usize {
            // Far behind (a first batch mid-episode, a stalled tab): jump to one batch behind.
            while self.queue.len() > batch {
                applied += usize::from(self.step_one());
            }
        }
        // A little faster than the game while more than two batches wait.
        let rate = if self.queue.len() > 2 * batch { 1.5 } else { 1.0 };
        self.budget += elapsed_ms.max(0.0) * f64::from(self.fps) * rate / 1000.0;
        while self.budget >= 1.0 && !self.queue.is_empty() {
            self.budget -= 1.0;
            applied += usize::from(self.step_one());
        }
        if self.queue.is_empty() {
            // No credit while starved: the next batch plays at the game's pace, not in a burst.
            self.budget = self.budget.min(1.0);
        }
        applied
    }

    fn step_one(&mut self) -> bool {
        let Some(row) = self.queue.pop_front() else { return false };
        if let Some(seed) = row.seed {
            self.env.reset(seed);
        }
        self.env.step(&row.actions);
        if let Some(expected) = row.check {
            let simulated = self.env.state_hash();
            self.checked += 1;
            if simulated != expected && self.mismatch.is_none() {
                self.mismatch =
                    Some(LiveMismatch { episode: row.episode, t: row.t, expected, simulated });
            }
        }
        self.shown = Some((row.episode, row.t, row.frame));
        true
    }

    /// The environment as shown.
    pub fn env(&self) -> &DynEnv {
        &self.env
    }

    /// Episode, step and game frame of the row shown last.
    pub fn shown(&self) -> Option<(u32, u32, i32)> {
        self.shown
    }

    /// Rows received but not shown yet.
    pub fn behind(&self) -> usize {
        self.queue.len()
    }

    /// Batches whose final state hash was checked (one per batch shown).
    pub fn checked(&self) -> u64 {
        self.checked
    }

    pub fn mismatch(&self) -> Option<&LiveMismatch> {
        self.mismatch.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use rollgym_protocol::GameId;

    use super::*;
    use crate::core::recorder::FrameRow;

    fn settings() -> Settings {
        Settings {
            env: "overcooked".into(),
            layout: "cramped_room".into(),
            max_steps: 300,
            fps: 30,
            ..Settings::default()
        }
    }

    /// The benchmark's scripted episode (reset seed 1) as batches of `size` rows.
    fn batches(size: usize) -> (Vec<FrameRow>, Vec<SpectateFrames>) {
        let rows = crate::bench::episode_rows(300);
        let batches = rows
            .chunks(size)
            .map(|chunk| SpectateFrames {
                game_id: GameId::parse("g").expect("id"),
                episode: 0,
                t: chunk[0].t,
                frame: 100 + chunk[0].t as i32,
                seed: (chunk[0].t == 0).then_some(1),
                actions: chunk.iter().flat_map(|r| r.actions.clone()).collect(),
                state_hash: chunk[chunk.len() - 1].state_hash,
            })
            .collect();
        (rows, batches)
    }

    #[test]
    fn a_fed_game_is_simulated_to_every_forwarded_hash() {
        let (rows, batches) = batches(6);
        let mut spectator = Spectator::new(&settings()).expect("built in");
        for batch in &batches {
            spectator.push(batch).expect("follows");
            spectator.advance(200.0);
        }
        while spectator.advance(1000.0) > 0 {}
        assert_eq!(spectator.mismatch(), None);
        assert_eq!(spectator.checked(), batches.len() as u64);
        assert_eq!(spectator.shown(), Some((0, 299, 399)));
        assert_eq!(spectator.env().state_hash(), rows[299].state_hash);
    }

    #[test]
    fn playback_keeps_the_games_pace_about_one_batch_behind() {
        let (_, batches) = batches(6);
        let mut spectator = Spectator::new(&settings()).expect("built in");
        // Batches every 200 ms, animation frames every 16 ms in between.
        for batch in &batches[..20] {
            spectator.push(batch).expect("follows");
            for _ in 0..12 {
                spectator.advance(16.7);
            }
            assert!(
                spectator.behind() <= 6,
                "never more than a batch waits: {}",
                spectator.behind()
            );
        }
        let (_, t, _) = spectator.shown().expect("shown");
        assert!(t >= 114, "kept up with 120 rows in 4 s: at step {t}");
    }

    #[test]
    fn a_first_batch_far_behind_jumps_to_the_newest_rows() {
        let (_, batches) = batches(200);
        let mut spectator = Spectator::new(&settings()).expect("built in");
        spectator.push(&batches[0]).expect("starts the episode");
        spectator.advance(0.0);
        assert_eq!(spectator.behind(), 6, "one batch left to play smoothly");
    }

    #[test]
    fn a_gap_a_missing_seed_or_half_a_row_is_refused() {
        let (_, batches) = batches(6);
        let mut spectator = Spectator::new(&settings()).expect("built in");
        assert!(
            matches!(spectator.push(&batches[1]), Err(FeedError::Gap { .. })),
            "not from the start"
        );
        let unseeded = SpectateFrames { seed: None, ..batches[0].clone() };
        assert_eq!(spectator.push(&unseeded), Err(FeedError::NoSeed(0)));
        let half = SpectateFrames { actions: vec![1, 2, 3], ..batches[0].clone() };
        assert_eq!(spectator.push(&half), Err(FeedError::Rows(2)));
        spectator.push(&batches[0]).expect("the start");
        assert!(spectator.push(&batches[2]).is_err(), "a batch skipped");
        spectator.push(&batches[1]).expect("the next");
    }

    #[test]
    fn a_wrong_hash_is_reported_at_its_row() {
        let (_, mut batches) = batches(6);
        batches[3].state_hash ^= 1;
        let mut spectator = Spectator::new(&settings()).expect("built in");
        for batch in &batches[..5] {
            spectator.push(batch).expect("follows");
        }
        while spectator.advance(1000.0) > 0 {}
        let mismatch = spectator.mismatch().expect("reported");
        assert_eq!((mismatch.episode, mismatch.t), (0, 23));
    }

    #[test]
    fn javascript_environments_cannot_be_watched() {
        let js = Settings { env: "coins".into(), ..settings() };
        assert!(matches!(Spectator::new(&js), Err(ReplayError::NotBuiltIn(_))));
    }
}
