//! Environments: the deterministic games participants play.
//!
//! An environment is a plain value: cloning it is saving its state (rollback keeps clones),
//! and its canonical bytes ([`Env::write_state`]) feed the state hash that both peers compare.
//! Everything that influences the future, its RNG included, is part of the value.

mod bytes;
pub mod catalog;
mod dynamic;
pub mod hash;
pub mod overcooked;
pub mod paint;
pub mod slime;

pub use dynamic::DynEnv;
pub use paint::{Color, Painter};

use std::borrow::Cow;

pub use rollgym_protocol::InputMode;

/// An action index, `0..num_actions`.
pub type Action = u8;

/// The name of an `infos.<name>` column: static for the built-in games, owned for an
/// environment that names its facts at run time.
pub type InfoName = std::borrow::Cow<'static, str>;

/// What one step produced.
#[derive(Debug, Clone, PartialEq)]
pub struct StepResult {
    /// One per player.
    pub rewards: Vec<f32>,
    /// The environment reached a terminal state (an episode limit is the game's business).
    pub terminated: bool,
    /// Named integer facts about the state after the step (cumulative counters, events), in a
    /// fixed order so that recorded columns line up.
    pub info: Vec<(InfoName, i64)>,
}

/// Why state bytes could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    #[error("state bytes are truncated")]
    Truncated,
    #[error("state bytes have {0} trailing bytes")]
    Trailing(usize),
    #[error("invalid state: {0}")]
    Invalid(&'static str),
}

/// What an environment is: both peers must run the same one, so this is compared before play.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvIdentity {
    pub name: String,
    pub version: String,
}

impl std::fmt::Display for EnvIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.name, self.version)
    }
}

/// A key (`KeyboardEvent.key`) and the action it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyBinding {
    pub key: Cow<'static, str>,
    pub action: Action,
}

impl KeyBinding {
    pub const fn new(key: &'static str, action: Action) -> Self {
        Self { key: Cow::Borrowed(key), action }
    }
}

/// A deterministic multi-player environment.
pub trait Env: Clone {
    /// Name and version, compared between the peers before play.
    fn identity(&self) -> EnvIdentity;
    fn num_players(&self) -> usize;
    fn num_actions(&self) -> u8;
    /// The action of a player who does nothing (and of a hidden tab).
    fn default_action(&self) -> Action;
    fn reset(&mut self, seed: u64);
    /// Advances one step; `actions[i]` is player `i`'s action. Out-of-range actions are treated
    /// as the default action (inputs come from the network).
    fn step(&mut self, actions: &[Action]) -> StepResult;
    /// Canonical bytes of the whole state; equal states give equal bytes on every platform.
    fn write_state(&self, out: &mut Vec<u8>);
    /// Restores a state written by [`Env::write_state`].
    fn read_state(&mut self, bytes: &[u8]) -> Result<(), EnvError>;
    /// Size of the scene in the units `render` draws in.
    fn view_size(&self) -> (f32, f32);
    fn render(&self, painter: &mut dyn Painter);

    /// The keys a participant plays with.
    fn keys(&self) -> Vec<KeyBinding>;

    /// What each action means, by index (recorded in every sidecar); by default its number.
    fn action_names(&self) -> Vec<String> {
        (0..self.num_actions()).map(|a| a.to_string()).collect()
    }

    /// The action of the keys held down (oldest first) in held-key mode: by default the
    /// latest one's. An environment whose actions combine keys (left + jump) overrides it.
    fn held_action(&self, held: &[Action]) -> Option<Action> {
        held.last().copied()
    }

    /// How keys become actions when the experiment does not say.
    fn default_input_mode(&self) -> InputMode {
        InputMode::Tap
    }

    /// The score line above the scene; `score` is player 0's reward this episode.
    fn score_text(&self, score: f32) -> String {
        format!("Score {score}")
    }

    /// One line telling the participant which keys do what.
    fn help(&self) -> String {
        String::new()
    }

    /// How the HUD names a player ("You: …").
    fn player_name(&self, player: usize) -> String {
        format!("Player {}", player + 1)
    }

    /// Why the environment cannot go on (an environment in JavaScript threw): the game ends
    /// in `error` with this message.
    fn failure(&self) -> Option<String> {
        None
    }

    /// Stable 64-bit hash of the state bytes (FNV-1a), the checksum compared between peers.
    fn state_hash(&self) -> u64 {
        let mut bytes = Vec::with_capacity(128);
        self.write_state(&mut bytes);
        hash::fnv1a64(&bytes)
    }
}
