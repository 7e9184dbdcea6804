//! Environments: the deterministic games participants play.
//!
//! An environment is a plain value: cloning it is saving its state (rollback keeps clones),
//! and its canonical bytes ([`Env::write_state`]) feed the state hash that both peers compare.
//! Everything that influences the future, its RNG included, is part of the value.

pub mod hash;
pub mod overcooked;
pub mod paint;

pub use paint::{Color, Painter};

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

/// A deterministic multi-player environment.
pub trait Env: Clone {
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

    /// Stable 64-bit hash of the state bytes (FNV-1a), the checksum compared between peers.
    fn state_hash(&self) -> u64 {
        let mut bytes = Vec::with_capacity(128);
        self.write_state(&mut bytes);
        hash::fnv1a64(&bytes)
    }
}
