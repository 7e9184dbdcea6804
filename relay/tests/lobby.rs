//! The lobby through real WebSockets with scripted participants: many games at once, the
//! validation gate and start, disconnects in each phase, server round trips in the match log.

mod support;

use std::time::Duration;

use rollgym_protocol::{ClientMsg, ExperimentConfig, GameId, ServerMsg};
use rollgym_relay::config;
use support::{Client, TestRelay, pid};

/// The bundled experiment with a short countdown, so games start quickly.
fn quick() -> ExperimentConfig {
    let mut experiment = config::load(None).expect("bundled config");
    experiment.game.countdown_ms = 100;
    experiment
}

/// Joins and returns the client once it is paired, with its game id and player index.
async fn paired(client: &mut Client) -> (GameId, u8) {
    loop {
        match client.recv().await {
            ServerMsg::Paired { game_id, player_index, .. } => {
                return (game_id, player_index);
            }
            ServerMsg::Welcome { .. } | ServerMsg::Scene { .. } | ServerMsg::Waiting { .. } => {
                continue;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// The next message that is not a waiting-room count.
async fn next_event(client: &mut Client) -> ServerMsg {
    loop {
        match client.recv().await {
            ServerMsg::Waiting { .. } => continue,
            other => return other,
        }
    }
}

#[tokio::test]
async fn twelve_participants_form_six_games_that_all_start() {
    let relay = TestRelay::start_experiment(quick()).await;
    let mut clients = Vec::new();
    for i in 0..12 {
        let mut c = relay.client().await;
        c.send(&ClientMsg::Hello {
            protocol_version: rollgym_protocol::PROTOCOL_VERSION,
            participant_id: Some(pid(&format!("p{i:02}"))),
            rejoin: false,
        })
        .await;
        clients.push(c);
    }
    let mut games = std::collections::BTreeMap::<GameId, Vec<u8>>::new();
    let mut ids = Vec::new();
    for c in &mut clients {
        let (game, index) = paired(c).await;
        games.entry(game.clone()).or_default().push(index);
        ids.push(game);
    }
    assert_eq!(games.len(), 6);
    assert!(games.values().all(|players| {
        let mut p = players.clone();
        p.sort();
        p == [0, 1]
    }));
    for (c, game) in clients.iter_mut().zip(&ids) {
        c.send(&ClientMsg::Validated { game_id: game.clone(), env: None, rtt_ms: None }).await;
    }
    for (c, game) in clients.iter_mut().zip(&ids) {
        assert_eq!(
            next_event(c).await,
            ServerMsg::Start { game_id: game.clone(), input_delay: None }
        );
    }
    relay.shutdown().await;
}

#[tokio::test]
async fn a_game_starts_only_when_both_validated() {
    let mut experiment = quick();
    experiment.game.countdown_ms = 0;
    let relay = TestRelay::start_experiment(experiment).await;
    let (mut a, mut b) = (relay.client().await, relay.client().await);
    a.hello("a").await;
    let (game, _) = paired_after_hello(&mut a, &mut b, "b").await;
    a.send(&ClientMsg::Validated { game_id: game.clone(), env: None, rtt_ms: None }).await;
    // The countdown is over and the relay has taken a's validation: no start while b has not
    // validated. b's validation starts both.
    a.expect_nothing().await;
    b.send(&ClientMsg::Validated { game_id: game.clone(), env: None, rtt_ms: None }).await;
    assert_eq!(
        next_event(&mut a).await,
        ServerMsg::Start { game_id: game.clone(), input_delay: None }
    );
    assert_eq!(next_event(&mut b).await, ServerMsg::Start { game_id: game, input_delay: None });
    relay.shutdown().await;
}

async fn paired_after_hello(a: &mut Client, b: &mut Client, b_id: &str) -> (GameId, u8) {
    b.hello(b_id).await;
    let first = paired(a).await;
    paired(b).await;
    first
}

#[tokio::test]
async fn a_disconnect_while_waiting_disturbs_nobody() {
    let relay = TestRelay::start_experiment(quick()).await;
    let (mut a, mut b) = (relay.client().await, relay.client().await);
    a.hello("a").await;
    let (game, _) = paired_after_hello(&mut a, &mut b, "b").await;
    let mut waiting = relay.client().await;
    waiting.hello("waiting").await;
    drop(waiting);
    for c in [&mut a, &mut b] {
        c.send(&ClientMsg::Validated { game_id: game.clone(), env: None, rtt_ms: None }).await;
    }
    assert_eq!(
        next_event(&mut a).await,
        ServerMsg::Start { game_id: game.clone(), input_delay: None }
    );
    assert_eq!(next_event(&mut b).await, ServerMsg::Start { game_id: game, input_delay: None });
    relay.shutdown().await;
}

#[tokio::test]
async fn a_disconnect_during_the_countdown_sends_the_partner_back_to_waiting() {
    let relay = TestRelay::start().await; // 3 s countdown: still counting down below
    let (mut a, mut b) = (relay.client().await, relay.client().await);
    a.hello("a").await;
    paired_after_hello(&mut a, &mut b, "b").await;
    drop(b);
    let ServerMsg::Repool { message } = next_event(&mut a).await else { panic!("expected repool") };
    assert!(message.contains("left before the game started"), "{message}");
    // Back in the waiting room: the next arrival pairs with a.
    let mut c = relay.client().await;
    c.hello("c").await;
    paired(&mut a).await;
    relay.shutdown().await;
}

#[tokio::test]
async fn a_disconnect_while_validating_sends_the_partner_back_to_waiting() {
    let relay = TestRelay::start_experiment(quick()).await;
    let (mut a, mut b) = (relay.client().await, relay.client().await);
    a.hello("a").await;
    let (game, _) = paired_after_hello(&mut a, &mut b, "b").await;
    a.send(&ClientMsg::Validated { game_id: game, env: None, rtt_ms: None }).await; // b not validated
    a.expect_nothing().await;
    drop(b);
    assert!(matches!(next_event(&mut a).await, ServerMsg::Repool { .. }));
    relay.shutdown().await;
}

#[tokio::test]
async fn a_disconnect_while_playing_is_reported_to_the_partner() {
    let relay = TestRelay::start_experiment(quick()).await;
    let (mut a, mut b) = (relay.client().await, relay.client().await);
    a.hello("a").await;
    let (game, _) = paired_after_hello(&mut a, &mut b, "b").await;
    for c in [&mut a, &mut b] {
        c.send(&ClientMsg::Validated { game_id: game.clone(), env: None, rtt_ms: None }).await;
    }
    next_event(&mut a).await; // start
    next_event(&mut b).await;
    drop(b);
    assert_eq!(next_event(&mut a).await, ServerMsg::PartnerLeft { participant_id: pid("b") });
    relay.shutdown().await;
}

#[tokio::test]
async fn server_round_trips_are_measured_and_logged_with_each_match() {
    let relay = TestRelay::start_experiment(quick()).await;
    let mut a = relay.client().await;
    a.hello("a").await;
    a.answer_pings(1, Duration::ZERO).await;
    let mut b = relay.client().await;
    paired_after_hello(&mut a, &mut b, "b").await;
    let log = relay.data_dir.join("overcooked_demo/match_logs/overcooked_matches.jsonl");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let line = loop {
        if let Ok(text) = std::fs::read_to_string(&log)
            && let Some(line) = text.lines().next()
        {
            break line.to_owned();
        }
        assert!(tokio::time::Instant::now() < deadline, "no match log written");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let record: serde_json::Value = serde_json::from_str(&line).expect("json line");
    assert_eq!(record["matchmaker"], "fifo");
    assert_eq!(record["participants"][0]["participant_id"], "a");
    assert!(record["participants"][0]["server_rtt_ms"].is_u64(), "a's round trip is known");
    relay.shutdown().await;
}

#[tokio::test]
async fn latency_fifo_keeps_participants_who_answer_pings_late_apart() {
    // Only lower bounds are certain: a pong sent 600 ms late is measured at 600 ms or more, so
    // slow and anyone else are over 500 ms; two fast clients are far below on any machine.
    const SLOW: Duration = Duration::from_millis(600);
    let mut experiment = quick();
    experiment.matchmaking.kind = rollgym_protocol::MatchmakerKind::LatencyFifo;
    experiment.matchmaking.max_server_rtt_ms = 500;
    let relay = TestRelay::start_experiment(experiment).await;
    let (mut slow, mut fast1, mut fast2) =
        (relay.client().await, relay.client().await, relay.client().await);
    tokio::join!(
        slow.answer_pings(2, SLOW),
        fast1.answer_pings(2, Duration::ZERO),
        fast2.answer_pings(2, Duration::ZERO),
    );
    slow.hello("slow").await;
    fast1.hello("fast1").await;
    // fast1 + slow is over 500 ms: fast1 waits for someone closer.
    fast1.expect_nothing().await;
    fast2.hello("fast2").await;
    let (game1, index1) = paired(&mut fast1).await;
    let (game2, index2) = paired(&mut fast2).await;
    assert_eq!((game1, index1, index2), (game2, 0, 1));
    slow.expect_nothing().await;
    let log = relay.data_dir.join("overcooked_demo/match_logs/overcooked_matches.jsonl");
    let record = &support::match_log(&log, 1).await[0];
    assert_eq!(record["matchmaker"], "latency_fifo");
    let names: Vec<&str> = record["participants"]
        .as_array()
        .expect("participants")
        .iter()
        .map(|p| p["participant_id"].as_str().expect("id"))
        .collect();
    assert_eq!(names, ["fast1", "fast2"]);
    relay.shutdown().await;
}
