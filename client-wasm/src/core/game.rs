//! The deterministic game around an environment: episodes and the pause between rounds, all
//! of it simulation state, so both peers switch episodes at the same frame without any
//! end/ready protocol, and rollback restores it like everything else. (The "Players found!"
//! countdown happens before the game starts, on the relay's clock.)

use rollgym_protocol::Exclusion;

use crate::{
    core::monitor::{Monitor, Presence},
    env::{Action, Env, StepResult, hash::fnv1a64},
};

/// How a game runs, from the scene config. Counted in frames so it is deterministic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EpisodePlan {
    pub num_episodes: u32,
    pub max_steps: u32,
    /// The "Round N starting" pause between episodes.
    pub pause_frames: u32,
    pub seed: u64,
    /// A different (derived) seed for every episode instead of the same one.
    pub seed_per_episode: bool,
}

impl EpisodePlan {
    pub fn episode_seed(&self, episode: u32) -> u64 {
        if self.seed_per_episode {
            self.seed ^ u64::from(episode).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        } else {
            self.seed
        }
    }
}

/// Where the game is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Playing,
    Between { frames_left: u32 },
    Done,
}

/// The end of an episode, as simulated (final only once its frame is confirmed).
#[derive(Debug, Clone, PartialEq)]
pub struct EpisodeEnd {
    pub episode: u32,
    /// The frame whose step ended the episode.
    pub frame: i32,
    pub steps: u32,
    pub state_hash: u64,
    pub terminated: bool,
    /// Each player's summed rewards over the episode.
    pub returns: Vec<f32>,
}

/// What one frame did.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameOutcome {
    /// Set when the environment stepped (not during pauses).
    pub step: Option<Step>,
    pub episode_end: Option<EpisodeEnd>,
    /// Monitoring ended the game at this frame (nothing was simulated in it).
    pub exclusion: Option<Exclusion>,
}

/// One environment step of an episode.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub episode: u32,
    /// Step index in the episode, `0..max_steps`.
    pub t: u32,
    pub result: StepResult,
    /// The episode ended here by reaching `max_steps` (not by a terminal state).
    pub truncated: bool,
    /// The environment's state hash after the step.
    pub state_hash: u64,
}

/// The game state that rollback saves and restores.
#[derive(Debug, Clone, PartialEq)]
pub struct Game<E> {
    pub env: E,
    plan: EpisodePlan,
    /// The next frame to simulate.
    pub frame: i32,
    pub episode: u32,
    /// Steps taken in the current episode.
    pub step: u32,
    pub stage: Stage,
    /// Each player's summed rewards in the current episode.
    pub returns: Vec<f32>,
    /// Hidden tabs and slow links, counted in frames (`[monitoring]`).
    monitor: Monitor,
}

impl<E: Env> Game<E> {
    pub fn new(mut env: E, plan: EpisodePlan) -> Self {
        env.reset(plan.episode_seed(0));
        let players = env.num_players();
        let monitor = Monitor::new(Default::default(), players);
        let returns = vec![0.0; players];
        Self { env, plan, frame: 0, episode: 0, step: 0, stage: Stage::Playing, returns, monitor }
    }

    /// The same game, watched by `monitor`.
    pub fn with_monitor(mut self, monitor: Monitor) -> Self {
        self.monitor = monitor;
        self
    }

    /// Player 0's summed rewards this episode (the score line; rewards are shared in Overcooked).
    pub fn score(&self) -> f32 {
        self.returns.first().copied().unwrap_or(0.0)
    }

    pub fn monitor(&self) -> &Monitor {
        &self.monitor
    }

    pub fn plan(&self) -> &EpisodePlan {
        &self.plan
    }

    /// Simulates one frame with one action per player, every player present.
    pub fn advance(&mut self, actions: &[Action]) -> FrameOutcome {
        self.advance_with(actions, &[])
    }

    /// Simulates one frame with one action and one [`Presence`] per player. Once monitoring
    /// ended the game, frames pass without anything happening.
    pub fn advance_with(&mut self, actions: &[Action], presence: &[Presence]) -> FrameOutcome {
        let frame = self.frame;
        self.frame += 1;
        let mut outcome = FrameOutcome { step: None, episode_end: None, exclusion: None };
        if self.monitor.ended().is_some() {
            return outcome;
        }
        if self.stage != Stage::Done {
            outcome.exclusion = self.monitor.observe(frame, presence).cloned();
            if outcome.exclusion.is_some() {
                return outcome;
            }
        }
        match self.stage {
            Stage::Playing => {
                let (episode, t) = (self.episode, self.step);
                let result = self.env.step(actions);
                self.step += 1;
                for (sum, reward) in self.returns.iter_mut().zip(&result.rewards) {
                    *sum += reward;
                }
                let state_hash = self.env.state_hash();
                let truncated = !result.terminated && self.step >= self.plan.max_steps;
                if result.terminated || truncated {
                    outcome.episode_end = Some(EpisodeEnd {
                        episode: self.episode,
                        frame,
                        steps: self.step,
                        state_hash,
                        terminated: result.terminated,
                        returns: self.returns.clone(),
                    });
                    self.episode += 1;
                    if self.episode >= self.plan.num_episodes {
                        self.stage = Stage::Done;
                    } else if self.plan.pause_frames == 0 {
                        self.start_episode();
                    } else {
                        self.stage = Stage::Between { frames_left: self.plan.pause_frames };
                    }
                }
                outcome.step = Some(Step { episode, t, result, truncated, state_hash });
            }
            Stage::Between { frames_left } => {
                if frames_left <= 1 {
                    self.start_episode();
                } else {
                    self.stage = Stage::Between { frames_left: frames_left - 1 };
                }
            }
            Stage::Done => {}
        }
        outcome
    }

    fn start_episode(&mut self) {
        self.env.reset(self.plan.episode_seed(self.episode));
        self.step = 0;
        self.returns.iter_mut().for_each(|r| *r = 0.0);
        self.stage = Stage::Playing;
    }

    /// Stable hash of everything that determines the future: the ggrs checksum.
    pub fn state_hash(&self) -> u64 {
        let mut bytes = Vec::with_capacity(160);
        self.env.write_state(&mut bytes);
        bytes.extend_from_slice(&self.frame.to_le_bytes());
        bytes.extend_from_slice(&self.episode.to_le_bytes());
        bytes.extend_from_slice(&self.step.to_le_bytes());
        for sum in &self.returns {
            bytes.extend_from_slice(&sum.to_le_bytes());
        }
        let (tag, left) = match self.stage {
            Stage::Playing => (1, 0),
            Stage::Between { frames_left } => (2, frames_left),
            Stage::Done => (3, 0),
        };
        bytes.push(tag);
        bytes.extend_from_slice(&left.to_le_bytes());
        self.monitor.write_state(&mut bytes);
        fnv1a64(&bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::overcooked::{Layout, Overcooked, Rules, STAY};

    fn game(plan: EpisodePlan) -> Game<Overcooked> {
        let env =
            Overcooked::new(Layout::classic("cramped_room").expect("layout"), Rules::default());
        Game::new(env, plan)
    }

    const PLAN: EpisodePlan = EpisodePlan {
        num_episodes: 2,
        max_steps: 5,
        pause_frames: 2,
        seed: 9,
        seed_per_episode: false,
    };

    #[test]
    fn episodes_and_pauses_follow_the_plan() {
        let mut g = game(PLAN);
        let mut ends = Vec::new();
        let mut stages = Vec::new();
        for _ in 0..20 {
            stages.push(g.stage);
            if let Some(end) = g.advance(&[STAY, STAY]).episode_end {
                ends.push((end.episode, end.frame, end.steps));
            }
        }
        // 5 steps (frames 0..=4), 2 pause frames, 5 steps (7..=11).
        assert_eq!(ends, vec![(0, 4, 5), (1, 11, 5)]);
        assert_eq!(stages[0], Stage::Playing);
        assert_eq!(stages[5], Stage::Between { frames_left: 2 });
        assert_eq!(stages[7], Stage::Playing);
        assert_eq!(stages[12], Stage::Done);
        assert_eq!(g.episode, 2);
    }

    #[test]
    fn same_seed_every_episode_unless_asked_otherwise() {
        let same = EpisodePlan { seed_per_episode: false, ..PLAN };
        assert_eq!(same.episode_seed(0), same.episode_seed(1));
        let per = EpisodePlan { seed_per_episode: true, ..PLAN };
        assert_ne!(per.episode_seed(0), per.episode_seed(1));
        assert_eq!(per.episode_seed(0), PLAN.seed);
    }

    #[test]
    fn the_hash_covers_the_game_counters() {
        let g = game(PLAN);
        let mut later = g.clone();
        later.advance(&[STAY, STAY]);
        assert_ne!(g.state_hash(), later.state_hash(), "the frame counter is state");
    }
}
