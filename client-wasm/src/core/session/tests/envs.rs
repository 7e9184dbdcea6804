//! Games of environments other than the default: a page-supplied one, a missing one, one that
//! fails mid-game.

use super::*;
use crate::env::{Action, EnvError, EnvIdentity, KeyBinding, Painter, StepResult};

/// A page's own environment in miniature: counts the players' actions.
#[derive(Clone)]
struct Counter {
    total: u32,
    /// The step from which the environment reports a failure (as a JavaScript one that threw).
    fail_at: Option<u32>,
    steps: u32,
}

impl Env for Counter {
    fn identity(&self) -> EnvIdentity {
        EnvIdentity { name: "counter".into(), version: "2".into() }
    }
    fn num_players(&self) -> usize {
        2
    }
    fn num_actions(&self) -> u8 {
        3
    }
    fn default_action(&self) -> Action {
        0
    }
    fn reset(&mut self, _seed: u64) {
        self.total = 0;
        self.steps = 0;
    }
    fn step(&mut self, actions: &[Action]) -> StepResult {
        self.steps += 1;
        self.total += actions.iter().map(|a| u32::from(*a)).sum::<u32>();
        StepResult {
            rewards: vec![0.0; 2],
            terminated: false,
            info: vec![("total".into(), i64::from(self.total))],
        }
    }
    fn write_state(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.total.to_le_bytes());
        out.extend_from_slice(&self.steps.to_le_bytes());
    }
    fn read_state(&mut self, bytes: &[u8]) -> Result<(), EnvError> {
        let [a, b, c, d, e, f, g, h] = bytes else { return Err(EnvError::Truncated) };
        self.total = u32::from_le_bytes([*a, *b, *c, *d]);
        self.steps = u32::from_le_bytes([*e, *f, *g, *h]);
        Ok(())
    }
    fn view_size(&self) -> (f32, f32) {
        (1.0, 1.0)
    }
    fn render(&self, _painter: &mut dyn Painter) {}
    fn keys(&self) -> Vec<KeyBinding> {
        vec![KeyBinding::new("x", 1)]
    }
    fn failure(&self) -> Option<String> {
        self.fail_at.filter(|at| self.steps >= *at).map(|at| format!("threw at step {at}"))
    }
}

fn counter_game() -> GameConfig {
    GameConfig { env: "counter".into(), ..short_game() }
}

fn supplying(fail_at: Option<u32>) -> Session {
    Session::new(None).with_supplied_env(Box::new(move || {
        Ok(DynEnv::new(Counter { total: 0, fail_at, steps: 0 }))
    }))
}

fn paired_in(session: &mut Session, me: u8, config: GameConfig) {
    let msg = paired_into(me, config, MonitoringConfig::default(), GameEnds::default());
    session.handle(Input::Relay(msg), 0.0);
}

/// Runs two sessions frame by frame; returns every command each produced.
fn run(peers: &mut [Session; 2], frames: u32) -> [Vec<Command>; 2] {
    let mut all: [Vec<Command>; 2] = [Vec::new(), Vec::new()];
    let mut in_flight: [Vec<Vec<u8>>; 2] = [Vec::new(), Vec::new()];
    for i in 0..2 {
        let commands = peers[i].handle(Input::ChannelOpen((1 - i) as u8), 0.0);
        in_flight[1 - i].extend(sent_to_peer(commands));
    }
    for tick in 0..frames {
        for i in 0..2 {
            for packet in std::mem::take(&mut in_flight[i]) {
                let commands = peers[i].handle(Input::ChannelData((1 - i) as u8, packet), 0.0);
                in_flight[1 - i].extend(sent_to_peer(commands));
            }
            let input = NetInput { action: 1, focused: true, held: false, slow: false };
            let commands = peers[i].handle(Input::Frame(input, 0.0), f64::from(tick) * 33.0);
            relay_part(&mut peers[i], &commands);
            in_flight[1 - i].extend(sent_to_peer(commands.clone()));
            all[i].extend(commands);
        }
    }
    all
}

#[test]
fn an_environment_the_page_does_not_supply_stops_the_game_with_its_name() {
    let mut s = Session::new(None);
    paired_in(&mut s, 0, counter_game());
    let commands = s.handle(Input::ChannelOpen(1), 0.0);
    assert!(commands.contains(&Command::ClosePeer));
    assert_eq!(s.status().phase, Phase::Error);
    let error = s.status().last_error.clone().unwrap_or_default();
    assert!(error.contains("\"counter\"") && error.contains("does not provide"), "{error}");
}

#[test]
fn a_page_supplying_another_environment_than_the_experiment_names_is_told_so() {
    let mut s = supplying(None);
    paired_in(&mut s, 0, GameConfig { env: "gridworld".into(), ..short_game() });
    s.handle(Input::ChannelOpen(1), 0.0);
    let error = s.status().last_error.clone().unwrap_or_default();
    assert!(error.contains("\"gridworld\"") && error.contains("\"counter\""), "{error}");
}

#[test]
fn a_supplied_environment_plays_and_reports_its_name_and_version_when_validating() {
    let mut peers = [supplying(None), supplying(None)];
    for (i, peer) in peers.iter_mut().enumerate() {
        peer.handle(Input::Relay(welcome(["a", "b"][i])), 0.0);
        paired_in(peer, i as u8, counter_game());
    }
    let commands = run(&mut peers, 400);
    let stamp = commands[0].iter().find_map(|c| match c {
        Command::SendRelay(ClientMsg::Validated { env, .. }) => env.clone(),
        _ => None,
    });
    assert_eq!(stamp, Some(EnvStamp { name: "counter".into(), version: "2".into() }));
    assert_eq!(peers[0].status().phase, Phase::Done);
    let uploads = persisted(&commands[0]);
    assert_eq!(uploads.len(), 2);
    assert_eq!(uploads[0].sidecar.settings.env_version, "2");
    assert!(uploads[0].csv.lines().next().is_some_and(|h| h.contains("infos.total")));
    assert_eq!(shared_columns(&uploads[0].csv), shared_columns(&persisted(&commands[1])[0].csv));
}

#[test]
fn an_environment_that_fails_ends_the_game_in_error_and_keeps_the_data_so_far() {
    let mut peers = [supplying(Some(20)), supplying(Some(20))];
    for (i, peer) in peers.iter_mut().enumerate() {
        peer.handle(Input::Relay(welcome(["a", "b"][i])), 0.0);
        paired_in(peer, i as u8, counter_game());
    }
    let commands = run(&mut peers, 200);
    for (peer, commands) in peers.iter().zip(&commands) {
        assert_eq!(peer.status().phase, Phase::Error);
        assert_eq!(peer.status().outcome, Some(Outcome::Error));
        let error = peer.status().last_error.clone().unwrap_or_default();
        assert!(error.contains("threw at step 20"), "{error}");
        assert!(commands.contains(&Command::ClosePeer));
        let uploads = persisted(commands);
        assert_eq!(uploads.len(), 1, "the episode so far");
        assert_eq!(uploads[0].sidecar.outcome, Outcome::Error);
        assert!(uploads[0].sidecar.partial);
    }
}
