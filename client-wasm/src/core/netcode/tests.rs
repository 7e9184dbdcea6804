//! The driver natively: a SyncTest session over the real game, and two, three or four P2P
//! sessions over a simulated network with latency, jitter, loss and reordering.

use ggrs::{GgrsRequest, PlayerType, SessionBuilder};

use super::*;
use crate::{
    core::recorder::FrameRow,
    env::{
        DynEnv,
        overcooked::{Layout, Overcooked, Rules, STAY},
        slime::{self, Slime},
    },
};

fn overcooked() -> Overcooked {
    Overcooked::new(Layout::classic("cramped_room").expect("layout"), Rules::default())
}

const PLAN: EpisodePlan = EpisodePlan {
    num_episodes: 2,
    max_steps: 300,
    pause_frames: 15,
    seed: 77,
    seed_per_episode: true,
};

const NET: NetSettings = NetSettings {
    monitor: MonitorPlan { tab_warning_frames: None, tab_exclude_frames: None },
    fps: 30,
    input_delay: 2,
    max_prediction: 12,
    desync_interval: 10,
    disconnect_timeout_ms: 60_000,
    keep_states: 0,
};

/// xorshift32: reproducible randomness for inputs and the network.
struct Rng(u32);

impl Rng {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0
    }

    fn chance(&mut self, percent: u32) -> bool {
        self.next() % 100 < percent
    }

    /// A tap-style input: mostly nothing, sometimes one of the six actions.
    fn input(&mut self) -> NetInput {
        let action = if self.chance(30) { (self.next() % 6) as u8 } else { NO_ACTION };
        NetInput { action, focused: !self.chance(5), held: false, slow: false }
    }
}

/// Runs a SyncTest session (every frame re-simulated `check_distance` frames back and the
/// checksums compared) over `env` for 3000 random frames.
fn synctest<E: Env + 'static>(env: E, episodes: u32) -> Game<E> {
    let mut session = SessionBuilder::<Cfg<E>>::new()
        .with_num_players(2)
        .and_then(|b| b.add_player(PlayerType::Local, 0))
        .and_then(|b| b.add_player(PlayerType::Local, 1))
        .expect("builder")
        .with_max_prediction_window(12)
        .with_check_distance(7)
        .start_synctest_session()
        .expect("synctest");
    let default_action = env.default_action();
    // Monitoring counts hidden frames (never enough to exclude here): its counters must
    // survive re-simulation like the rest of the state.
    let plan = MonitorPlan { tab_warning_frames: Some(2), tab_exclude_frames: Some(100_000) };
    let mut game = Game::new(env, EpisodePlan { num_episodes: episodes, ..PLAN })
        .with_monitor(Monitor::new(plan, 2));
    let mut rng = Rng(1);
    for _ in 0..3000 {
        for player in 0..2 {
            session.add_local_input(player, rng.input()).expect("input");
        }
        let requests = session.advance_frame().expect("re-simulation gives identical checksums");
        for request in requests {
            match request {
                GgrsRequest::SaveGameState { cell, frame } => {
                    cell.save(frame, Some(game.clone()), Some(u128::from(game.state_hash())));
                }
                GgrsRequest::LoadGameState { cell, .. } => game = cell.load().expect("saved"),
                GgrsRequest::AdvanceFrame { inputs } => {
                    let actions: Vec<u8> = inputs
                        .iter()
                        .map(|(i, _)| if i.action == NO_ACTION { default_action } else { i.action })
                        .collect();
                    let presence: Vec<Presence> = inputs
                        .iter()
                        .map(|(i, _)| Presence { focused: i.focused, slow: i.slow })
                        .collect();
                    game.advance_with(&actions, &presence);
                }
            }
        }
    }
    game
}

#[test]
fn synctest_resimulation_matches_for_thousands_of_random_frames() {
    let game = synctest(overcooked(), 5);
    assert!(game.episode >= 5, "all episodes played");
}

#[test]
fn synctest_holds_for_slime_volleyball_behind_the_boxed_environment() {
    let env = DynEnv::new(Slime::new(slime::Rules { points_to_win: 3 }));
    let game = synctest(env, 20);
    assert!(game.episode >= 2, "points were scored and episodes ended: {}", game.episode);
}

/// Network conditions in ticks (one tick = one frame).
#[derive(Clone, Copy)]
struct Conditions {
    latency: u32,
    jitter: u32,
    loss_percent: u32,
}

struct InFlight {
    due: u64,
    from: usize,
    to: usize,
    packet: Vec<u8>,
}

/// Runs two peers with random inputs until both have confirmed every episode; returns them.
fn play(conditions: [Conditions; 2], seed: u32) -> [Netcode<Overcooked>; 2] {
    let mut inputs = [Rng(seed ^ 0xA5A5), Rng(seed ^ 0x5A5A)];
    play_with(overcooked, conditions, seed, |player, _tick| inputs[player].input())
}

/// Runs one peer per player (`env` is for N players) with `input(player, tick)` until every
/// one has confirmed every episode.
fn play_with<E: Env + 'static, const N: usize>(
    env: impl Fn() -> E,
    conditions: [Conditions; N],
    seed: u32,
    input: impl FnMut(usize, u64) -> NetInput,
) -> [Netcode<E>; N] {
    run(env, NET, conditions, (seed, input), |p| p.is_finished())
}

/// Runs one peer per player with `input(player, tick)` until `done` holds for every one;
/// `conditions[i]` is what player i's packets go through.
fn run<E: Env + 'static, const N: usize>(
    env: impl Fn() -> E,
    settings: NetSettings,
    conditions: [Conditions; N],
    (seed, mut input): (u32, impl FnMut(usize, u64) -> NetInput),
    done: impl Fn(&Netcode<E>) -> bool,
) -> [Netcode<E>; N] {
    let mut peers: [Netcode<E>; N] =
        std::array::from_fn(|i| Netcode::new(env(), PLAN, settings, i).expect("session"));
    let mut rng = Rng(seed);
    let mut flight: Vec<InFlight> = Vec::new();
    for tick in 0..20_000u64 {
        // Deliver what is due, in a shuffled order (reordering comes from jitter too).
        let (due, later): (Vec<_>, Vec<_>) = flight.drain(..).partition(|p| p.due <= tick);
        flight = later;
        for p in due {
            peers[p.to].receive(PeerAddr(p.from as u8), p.packet);
        }
        // ggrs retries its handshake on a wall-clock timer (200 ms) that this fast loop never
        // reaches, so the impairments start once both sessions are synchronized.
        let running = peers.iter().all(|p| p.is_running());
        for i in 0..N {
            peers[i].tick(input(i, tick), tick as f64);
            let c = if running { conditions[i] } else { CLEAN };
            for (to, packet) in peers[i].take_outgoing() {
                if rng.chance(c.loss_percent) {
                    continue;
                }
                let jitter =
                    if c.jitter > 0 { u64::from(rng.next() % (2 * c.jitter + 1)) } else { 0 };
                let due = tick + u64::from(c.latency.saturating_sub(c.jitter)) + jitter;
                flight.push(InFlight { due, from: i, to: usize::from(to.0), packet });
            }
        }
        if peers.iter().all(&done) {
            return peers;
        }
    }
    panic!("the game did not finish: {:?}", peers.each_ref().map(|p| p.game().frame));
}

/// The columns both peers must agree on.
fn shared(row: &FrameRow) -> impl PartialEq + std::fmt::Debug + '_ {
    (
        (row.episode, row.t, &row.actions, &row.rewards),
        (row.terminated, row.truncated, &row.focused, row.state_hash, &row.info),
    )
}

/// Every peer confirmed the same two episodes with the same shared cells; the first peer's.
fn assert_same_confirmed_episodes<E: Env + 'static, const N: usize>(
    peers: &mut [Netcode<E>; N],
) -> Vec<(EpisodeEnd, Vec<FrameRow>)> {
    assert_eq!(peers[0].confirmed_episodes().len(), 2);
    for peer in peers.iter() {
        assert_eq!(peer.confirmed_episodes(), peers[0].confirmed_episodes());
        assert!(peer.desyncs().is_empty(), "no desync");
    }
    let finished: Vec<_> = peers.iter_mut().map(Netcode::take_finished_episodes).collect();
    let first = &finished[0];
    assert_eq!(first.len(), 2);
    for (end, rows) in first {
        assert_eq!(rows.len(), PLAN.max_steps as usize, "one row per step");
        assert_eq!(
            rows.iter().map(|r| r.t).collect::<Vec<_>>(),
            (0..PLAN.max_steps).collect::<Vec<_>>()
        );
        assert!(rows.iter().all(|r| r.episode == end.episode));
        assert!(rows.last().is_some_and(|r| r.truncated), "the last row is truncated");
    }
    for other in &finished[1..] {
        for ((_, rows_a), (_, rows_b)) in first.iter().zip(other) {
            let (sa, sb): (Vec<_>, Vec<_>) =
                (rows_a.iter().map(shared).collect(), rows_b.iter().map(shared).collect());
            assert_eq!(sa, sb, "every shared cell agrees");
        }
    }
    finished.into_iter().next().unwrap_or_default()
}

const CLEAN: Conditions = Conditions { latency: 0, jitter: 0, loss_percent: 0 };

#[test]
fn peers_agree_on_a_perfect_network() {
    let mut peers = play([CLEAN; 2], 11);
    assert_same_confirmed_episodes(&mut peers);
}

#[test]
fn peers_agree_with_latency_and_roll_back() {
    // 3 frames each way (100 ms at 30 fps) exceeds the input delay: predictions and rollbacks.
    let slow = Conditions { latency: 3, jitter: 0, loss_percent: 0 };
    let mut peers = play([slow; 2], 12);
    assert!(peers[0].stats().rollbacks > 0, "latency beyond the input delay causes rollbacks");
    assert_same_confirmed_episodes(&mut peers);
}

#[test]
fn peers_agree_with_jitter_loss_and_reordering() {
    let rough = Conditions { latency: 4, jitter: 3, loss_percent: 15 };
    let mut peers = play([rough; 2], 13);
    assert_same_confirmed_episodes(&mut peers);
}

#[test]
fn slime_volleyball_peers_agree_under_latency_and_loss_with_held_keys() {
    // Held keys change rarely: the partner's prediction (the key is still held) is mostly
    // right, and every wrong one is a rollback.
    let rough = Conditions { latency: 4, jitter: 2, loss_percent: 10 };
    let slime = || DynEnv::new(Slime::new(slime::Rules { points_to_win: 0 }));
    let mut rng = [Rng(21), Rng(22)];
    let mut held = [NO_ACTION; 2];
    let mut peers = play_with(slime, [rough; 2], 16, |player, _tick| {
        if rng[player].chance(8) {
            held[player] = (rng[player].next() % 6) as u8;
        }
        NetInput { action: held[player], focused: true, held: true, slow: false }
    });
    assert!(peers[0].stats().rollbacks > 0, "the partner's key changes are predicted wrong");
    let mut env = peers[0].game().env.clone();
    let points: Vec<i64> = env.step(&[0, 0]).info.iter().map(|(_, v)| *v).collect();
    assert!(points.iter().any(|v| *v > 0), "the game happened: {points:?}");
    assert_same_confirmed_episodes(&mut peers);
}

#[test]
fn peers_agree_with_asymmetric_latency() {
    let fast = Conditions { latency: 1, jitter: 0, loss_percent: 0 };
    let slow = Conditions { latency: 6, jitter: 1, loss_percent: 2 };
    let mut peers = play([fast, slow], 14);
    assert_same_confirmed_episodes(&mut peers);
}

/// A group kitchen: `wide_room_3` (three chefs) or `open_kitchen_4` (four).
fn group_kitchen(name: &'static str) -> impl Fn() -> Overcooked {
    move || Overcooked::new(Layout::classic(name).expect("layout"), Rules::default())
}

#[test]
fn three_peers_agree_with_latency_loss_and_one_slow_link() {
    let fast = Conditions { latency: 1, jitter: 0, loss_percent: 0 };
    let rough = Conditions { latency: 4, jitter: 2, loss_percent: 5 };
    let mut inputs = [Rng(61), Rng(62), Rng(63)];
    let mut peers =
        play_with(group_kitchen("wide_room_3"), [fast, rough, fast], 17, |p, _| inputs[p].input());
    assert!(peers.iter().all(|p| p.stats().rollbacks > 0), "everyone rolls back for the slow link");
    assert_same_confirmed_episodes(&mut peers);
}

#[test]
fn four_peers_agree_with_jitter_and_loss_and_every_action_is_recorded() {
    let rough = Conditions { latency: 3, jitter: 2, loss_percent: 8 };
    let mut inputs = [Rng(71), Rng(72), Rng(73), Rng(74)];
    let mut peers =
        play_with(group_kitchen("open_kitchen_4"), [rough; 4], 18, |p, _| inputs[p].input());
    let finished = assert_same_confirmed_episodes(&mut peers);
    let moved = |player: usize| {
        let rows = finished.iter().flat_map(|(_, rows)| rows);
        rows.filter(|r| r.actions.len() == 4 && r.actions[player] != STAY).count()
    };
    assert!((0..4).all(|p| moved(p) > 10), "every player's actions are in the rows");
}

#[test]
fn a_held_key_is_predicted_to_stay_held_and_a_tap_is_not_repeated() {
    use ggrs::InputPredictor;
    let held = NetInput { action: 2, focused: true, held: true, slow: false };
    assert_eq!(PredictHeld::predict(held), held);
    let tap = NetInput { action: 5, focused: true, held: false, slow: false };
    assert_eq!(PredictHeld::predict(tap), NetInput::default());
}

#[test]
fn held_key_prediction_saves_rollbacks_and_keeps_parity() {
    // Both peers hold keys for long stretches (held mode); with latency, predicting "still
    // held" is right most of the time.
    let slow = Conditions { latency: 4, jitter: 0, loss_percent: 0 };
    let run = |held: bool| {
        // A key changes every 40 frames and is held in between.
        let peers = play_with(overcooked, [slow; 2], 15, |player, tick| {
            let action = ((tick / 40 + player as u64) % 4) as u8;
            NetInput { action, focused: true, held, slow: false }
        });
        assert_eq!(peers[0].confirmed_episodes(), peers[1].confirmed_episodes());
        assert_eq!(peers[0].confirmed_episodes().len(), 2);
        peers[0].stats().rollbacks + peers[1].stats().rollbacks
    };
    let (with_held, without) = (run(true), run(false));
    assert!(
        with_held * 4 < without,
        "held prediction: {with_held} rollbacks, tap prediction: {without}"
    );
}

#[test]
fn garbage_packets_are_dropped_and_counted() {
    let mut peer = Netcode::new(overcooked(), PLAN, NET, 0).expect("session");
    peer.receive(PeerAddr(1), vec![0xff; 40]);
    peer.receive(PeerAddr(1), Vec::new());
    peer.tick(NetInput::default(), 0.0);
    assert_eq!(peer.wire().dropped, 2);
}

#[test]
fn a_diverging_peer_is_reported_as_a_desync() {
    // Same inputs, different seeds: the states differ from frame 0 and ggrs's checksum
    // exchange must notice.
    let other = EpisodePlan { seed: PLAN.seed + 1, ..PLAN };
    let mut peers = [
        Netcode::new(overcooked(), PLAN, NET, 0).expect("session"),
        Netcode::new(overcooked(), other, NET, 1).expect("session"),
    ];
    for _ in 0..400 {
        for i in 0..2 {
            peers[i].tick(NetInput::default(), 0.0);
            for (_, packet) in peers[i].take_outgoing() {
                peers[1 - i].receive(PeerAddr(i as u8), packet);
            }
        }
        if !peers[0].desyncs().is_empty() {
            break;
        }
    }
    let desync = peers[0].desyncs().first().expect("desync detected").clone();
    assert_ne!(desync.local_checksum, desync.remote_checksum);
    assert!(!desync.local_state.is_empty(), "the local state is dumped");
}

#[test]
fn a_hidden_tab_is_excluded_at_the_same_frame_on_both_peers() {
    // Player 1 hides its tab at tick 200 for good; 90 hidden frames exclude it. Latency, jitter
    // and loss make the partner's focus flag arrive late and out of order: the exclusion must
    // still be decided at one frame, and the rows before it agree.
    let monitor = MonitorPlan { tab_warning_frames: Some(30), tab_exclude_frames: Some(90) };
    let settings = NetSettings { monitor, ..NET };
    let rough = Conditions { latency: 4, jitter: 3, loss_percent: 10 };
    let mut rng = [Rng(31), Rng(32)];
    let input = |player: usize, tick: u64| NetInput {
        focused: !(player == 1 && tick >= 200),
        ..rng[player].input()
    };
    let mut peers = run(overcooked, settings, [rough; 2], (41, input), |p| p.exclusion().is_some());
    let [a, b] = &mut peers;
    let end = a.exclusion().cloned().expect("excluded");
    assert_eq!(b.exclusion(), Some(&end));
    assert_eq!(end.players, vec![1]);
    assert_eq!(end.reason, rollgym_protocol::ExclusionReason::TabHidden);
    let (rows_a, rows_b) = (a.take_partial_episode(), b.take_partial_episode());
    let (ep_a, rows_a) = rows_a.expect("a partial episode");
    let (ep_b, rows_b) = rows_b.expect("a partial episode");
    let hidden_from = rows_a.iter().position(|r| !r.focused[1]).expect("hidden rows");
    assert!(rows_a[hidden_from..].iter().all(|r| !r.focused[1]), "hidden for good");
    let first_hidden = rows_a[hidden_from].frame;
    assert_eq!(end.frame, first_hidden + 89, "the 90th hidden frame excludes");
    assert_eq!(ep_a, ep_b);
    assert!(rows_a.iter().all(|r| r.confirmed) && rows_b.iter().all(|r| r.confirmed));
    assert_eq!(rows_a.last().map(|r| r.frame), Some(end.frame - 1), "the data stops before it");
    let (sa, sb): (Vec<_>, Vec<_>) =
        (rows_a.iter().map(shared).collect(), rows_b.iter().map(shared).collect());
    assert_eq!(sa, sb, "every shared cell agrees");
}

#[test]
fn a_player_whose_link_is_too_slow_is_excluded_on_both_peers() {
    let slow = Conditions { latency: 3, jitter: 0, loss_percent: 0 };
    let mut rng = [Rng(51), Rng(52)];
    let input = |player: usize, tick: u64| NetInput {
        slow: player == 0 && tick >= 150,
        ..rng[player].input()
    };
    let peers = run(overcooked, NET, [slow; 2], (43, input), |p| p.exclusion().is_some());
    let end = peers[0].exclusion().cloned().expect("excluded");
    assert_eq!(peers[1].exclusion(), Some(&end));
    assert_eq!(
        (end.players, end.reason),
        (vec![0], rollgym_protocol::ExclusionReason::SlowConnection)
    );
}
