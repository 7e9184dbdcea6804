//! [`DynEnv`]: an environment chosen at run time (a built-in named by the experiment, or one
//! the page supplies), behind one type so the session, netcode and recorder are written once.
//!
//! The built-in environments stay plain `Env` values for benchmarks and tests; the boxed form
//! costs one virtual call per method and one allocation per snapshot.

use crate::env::{Action, Env, EnvError, EnvIdentity, InputMode, KeyBinding, Painter, StepResult};

/// The object-safe half of [`Env`]: everything but `Clone`, plus a boxed clone.
trait AnyEnv {
    fn boxed_clone(&self) -> Box<dyn AnyEnv>;
    fn identity(&self) -> EnvIdentity;
    fn num_players(&self) -> usize;
    fn num_actions(&self) -> u8;
    fn default_action(&self) -> Action;
    fn reset(&mut self, seed: u64);
    fn step(&mut self, actions: &[Action]) -> StepResult;
    fn write_state(&self, out: &mut Vec<u8>);
    fn read_state(&mut self, bytes: &[u8]) -> Result<(), EnvError>;
    fn view_size(&self) -> (f32, f32);
    fn render(&self, painter: &mut dyn Painter);
    fn keys(&self) -> Vec<KeyBinding>;
    fn action_names(&self) -> Vec<String>;
    fn held_action(&self, held: &[Action]) -> Option<Action>;
    fn default_input_mode(&self) -> InputMode;
    fn score_text(&self, score: f32) -> String;
    fn player_name(&self, player: usize) -> String;
    fn help(&self) -> String;
    fn failure(&self) -> Option<String>;
}

impl<E: Env + 'static> AnyEnv for E {
    fn boxed_clone(&self) -> Box<dyn AnyEnv> {
        Box::new(self.clone())
    }
    fn identity(&self) -> EnvIdentity {
        Env::identity(self)
    }
    fn num_players(&self) -> usize {
        Env::num_players(self)
    }
    fn num_actions(&self) -> u8 {
        Env::num_actions(self)
    }
    fn default_action(&self) -> Action {
        Env::default_action(self)
    }
    fn reset(&mut self, seed: u64) {
        Env::reset(self, seed);
    }
    fn step(&mut self, actions: &[Action]) -> StepResult {
        Env::step(self, actions)
    }
    fn write_state(&self, out: &mut Vec<u8>) {
        Env::write_state(self, out);
    }
    fn read_state(&mut self, bytes: &[u8]) -> Result<(), EnvError> {
        Env::read_state(self, bytes)
    }
    fn view_size(&self) -> (f32, f32) {
        Env::view_size(self)
    }
    fn render(&self, painter: &mut dyn Painter) {
        Env::render(self, painter);
    }
    fn keys(&self) -> Vec<KeyBinding> {
        Env::keys(self)
    }
    fn action_names(&self) -> Vec<String> {
        Env::action_names(self)
    }
    fn held_action(&self, held: &[Action]) -> Option<Action> {
        Env::held_action(self, held)
    }
    fn default_input_mode(&self) -> InputMode {
        Env::default_input_mode(self)
    }
    fn score_text(&self, score: f32) -> String {
        Env::score_text(self, score)
    }
    fn player_name(&self, player: usize) -> String {
        Env::player_name(self, player)
    }
    fn help(&self) -> String {
        Env::help(self)
    }
    fn failure(&self) -> Option<String> {
        Env::failure(self)
    }
}

/// Any environment, boxed.
pub struct DynEnv(Box<dyn AnyEnv>);

impl DynEnv {
    pub fn new<E: Env + 'static>(env: E) -> Self {
        Self(Box::new(env))
    }
}

impl Clone for DynEnv {
    fn clone(&self) -> Self {
        Self(self.0.boxed_clone())
    }
}

impl std::fmt::Debug for DynEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("DynEnv").field(&self.0.identity()).finish()
    }
}

impl Env for DynEnv {
    fn identity(&self) -> EnvIdentity {
        self.0.identity()
    }
    fn num_players(&self) -> usize {
        self.0.num_players()
    }
    fn num_actions(&self) -> u8 {
        self.0.num_actions()
    }
    fn default_action(&self) -> Action {
        self.0.default_action()
    }
    fn reset(&mut self, seed: u64) {
        self.0.reset(seed);
    }
    fn step(&mut self, actions: &[Action]) -> StepResult {
        self.0.step(actions)
    }
    fn write_state(&self, out: &mut Vec<u8>) {
        self.0.write_state(out);
    }
    fn read_state(&mut self, bytes: &[u8]) -> Result<(), EnvError> {
        self.0.read_state(bytes)
    }
    fn view_size(&self) -> (f32, f32) {
        self.0.view_size()
    }
    fn render(&self, painter: &mut dyn Painter) {
        self.0.render(painter);
    }
    fn keys(&self) -> Vec<KeyBinding> {
        self.0.keys()
    }
    fn action_names(&self) -> Vec<String> {
        self.0.action_names()
    }
    fn held_action(&self, held: &[Action]) -> Option<Action> {
        self.0.held_action(held)
    }
    fn default_input_mode(&self) -> InputMode {
        self.0.default_input_mode()
    }
    fn score_text(&self, score: f32) -> String {
        self.0.score_text(score)
    }
    fn player_name(&self, player: usize) -> String {
        self.0.player_name(player)
    }
    fn help(&self) -> String {
        self.0.help()
    }
    fn failure(&self) -> Option<String> {
        self.0.failure()
    }
}
