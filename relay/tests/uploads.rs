//! Research-data uploads over a real WebSocket: stored and acknowledged only for a game the
//! relay formed for the uploader, refused otherwise with nothing written, kept across a relay
//! restart, and still admitted after a restart in the middle of a game.

mod support;

use rollgym_protocol::{
    ClientMsg, ErrorCode, ExperimentConfig, GameId, MAX_UPLOAD_BYTES, PeerInfo, SceneId, ServerMsg,
    Sidecar, Upload, UploadId,
};
use rollgym_relay::config;
use support::{Client, TestRelay, pid};

const CSV: &str = "episode,t,actions.0,wasSpeculative.0\n0,0,4,false\n";

/// The bundled experiment with a short countdown.
fn quick() -> ExperimentConfig {
    let mut experiment = config::load(None).expect("bundled config");
    experiment.game.countdown_ms = 0;
    experiment
}

fn upload(participant: &str, game: &GameId, csv: &str) -> ClientMsg {
    ClientMsg::Upload(Box::new(Upload {
        upload_id: upload_id(participant),
        participant_id: pid(participant),
        game_id: game.clone(),
        scene_id: SceneId::parse("overcooked").expect("id"),
        episode: 0,
        csv: csv.into(),
        sidecar: Sidecar {
            participants: vec![PeerInfo { participant_id: pid(participant), player_index: 0 }],
            ..Sidecar::default()
        },
    }))
}

fn upload_id(participant: &str) -> UploadId {
    UploadId::parse(&format!("{participant}-ep0")).expect("id")
}

fn stored(relay: &TestRelay, participant: &str) -> Option<String> {
    let path = relay.data_dir.join(format!("overcooked_demo/overcooked/{participant}_ep0.csv"));
    std::fs::read_to_string(path).ok()
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

/// `a` and `b` are paired by the relay and their game starts.
async fn play(relay: &TestRelay, a: &str, b: &str) -> (Client, Client, GameId) {
    let (mut first, mut second) = (relay.client().await, relay.client().await);
    first.hello(a).await;
    second.hello(b).await;
    let mut game = None;
    for c in [&mut first, &mut second] {
        let ServerMsg::Paired { game_id, .. } = next_event(c).await else { panic!("paired") };
        let id = game_id;
        c.send(&ClientMsg::Validated { game_id: id.clone(), env: None, rtt_ms: None }).await;
        game = Some(id);
    }
    let game = game.expect("a game");
    for c in [&mut first, &mut second] {
        assert_eq!(
            next_event(c).await,
            ServerMsg::Start { game_id: game.clone(), input_delay: None }
        );
    }
    (first, second, game)
}

async fn refused(client: &mut Client) -> ErrorCode {
    match next_event(client).await {
        ServerMsg::UploadRefused { code, .. } => code,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn an_upload_is_written_then_acknowledged() {
    let relay = TestRelay::start_experiment(quick()).await;
    let (mut a, _b, game) = play(&relay, "alice", "bob").await;
    a.send(&upload("alice", &game, CSV)).await;
    assert_eq!(a.recv().await, ServerMsg::UploadAck { upload_id: upload_id("alice") });
    assert_eq!(stored(&relay, "alice").as_deref(), Some(CSV));
    // Sending it again (a retry after a lost ack) is acknowledged again.
    a.send(&upload("alice", &game, CSV)).await;
    assert_eq!(a.recv().await, ServerMsg::UploadAck { upload_id: upload_id("alice") });
    relay.shutdown().await;
}

#[tokio::test]
async fn visitors_who_never_played_store_nothing() {
    let relay = TestRelay::start_experiment(quick()).await;
    let (mut a, mut b, game) = play(&relay, "alice", "bob").await;
    let invented = GameId::parse("g-0123456789abcdef").expect("id");
    for n in 0..20 {
        let name = format!("visitor{n}");
        let mut visitor = relay.client().await;
        visitor.hello(&name).await;
        // An invented game, and the real game of two others: neither is the visitor's.
        for game_id in [&invented, &game] {
            visitor.send(&upload(&name, game_id, CSV)).await;
            assert_eq!(refused(&mut visitor).await, ErrorCode::NotYourGame);
        }
        // And never someone else's files.
        visitor.send(&upload("alice", &game, CSV)).await;
        assert_eq!(refused(&mut visitor).await, ErrorCode::NotYourFile);
    }
    let scene_dir = relay.data_dir.join("overcooked_demo/overcooked");
    assert!(!scene_dir.exists(), "nothing was written");
    // The real pair's data is still taken.
    for (client, name) in [(&mut a, "alice"), (&mut b, "bob")] {
        client.send(&upload(name, &game, CSV)).await;
        assert_eq!(client.recv().await, ServerMsg::UploadAck { upload_id: upload_id(name) });
    }
    let files = std::fs::read_dir(&scene_dir).expect("scene dir").count();
    assert_eq!(files, 5, "two CSVs, two sidecars and the game's parity summary");
    relay.shutdown().await;
}

#[tokio::test]
async fn an_id_that_could_escape_the_data_directory_is_refused() {
    let relay = TestRelay::start_experiment(quick()).await;
    let (mut a, _b, game) = play(&relay, "alice", "bob").await;
    let text = upload("alice", &game, CSV)
        .encode()
        .replace("\"participant_id\":\"alice\"", "\"participant_id\":\"../x\"");
    a.send_text(text).await;
    let ServerMsg::Error { code: ErrorCode::Malformed, .. } = a.recv().await else {
        panic!("expected malformed")
    };
    relay.shutdown().await;
}

#[tokio::test]
async fn an_oversized_upload_is_refused_with_an_error() {
    let relay = TestRelay::start_experiment(quick()).await;
    let (mut a, _b, game) = play(&relay, "alice", "bob").await;
    // Just over the upload limit, under the connection's hard limit: a clear error, not a
    // closed connection. (Each row is 13 bytes once its newline is escaped in JSON.)
    let big = format!("{CSV}{}", "0,1,4,false\n".repeat((MAX_UPLOAD_BYTES + 20_000) / 13));
    a.send(&upload("alice", &game, &big)).await;
    let ServerMsg::Error { code: ErrorCode::TooLarge, .. } = a.recv().await else {
        panic!("expected too_large")
    };
    // Under the protocol's limit but more rows than the game's episodes have.
    let long = format!("{CSV}{}", "0,1,4,false\n".repeat(2_000));
    a.send(&upload("alice", &game, &long)).await;
    assert_eq!(refused(&mut a).await, ErrorCode::TooManyRows);
    assert_eq!(stored(&relay, "alice"), None);
    relay.shutdown().await;
}

#[tokio::test]
async fn a_relay_restart_keeps_every_acknowledged_file_and_admits_games_under_way() {
    let mut relay = TestRelay::start_experiment(quick()).await;
    relay.keep_data = true;
    let data_dir = relay.data_dir.clone();
    let (mut a, _b, first) = play(&relay, "p1", "p2").await;
    let (_c, _d, second) = play(&relay, "p3", "p4").await;
    a.send(&upload("p1", &first, CSV)).await;
    assert_eq!(a.recv().await, ServerMsg::UploadAck { upload_id: upload_id("p1") });
    // The relay restarts mid-game: every connection is lost.
    relay.shutdown().await;
    let restarted = TestRelay::start_with_data(quick(), data_dir).await;
    assert_eq!(stored(&restarted, "p1").as_deref(), Some(CSV));
    // The players come back to deliver their data (rejoin), each for its own game.
    for (name, game) in [("p2", &first), ("p3", &second)] {
        let mut c = restarted.client().await;
        c.rejoin(name).await;
        c.send(&upload(name, game, CSV)).await;
        assert_eq!(c.recv().await, ServerMsg::UploadAck { upload_id: upload_id(name) });
    }
    let mut p4 = restarted.client().await;
    p4.rejoin("p4").await;
    p4.send(&upload("p4", &first, CSV)).await;
    assert_eq!(refused(&mut p4).await, ErrorCode::NotYourGame);
    restarted.shutdown().await;
}
