//! Research-data uploads over a real WebSocket: stored, acknowledged, refused when they are not
//! the uploader's own or too large, kept across a relay restart.

mod support;

use rollgym_protocol::{ClientMsg, ErrorCode, MAX_UPLOAD_BYTES, SafeId, ServerMsg, Upload};
use serde_json::json;
use support::{TestRelay, pid};

const CSV: &str = "episode,t,actions.0,wasSpeculative.0\n0,0,4,false\n";

fn upload(participant: &str, csv: &str) -> ClientMsg {
    ClientMsg::Upload(Box::new(Upload {
        upload_id: pid(&format!("g1-{participant}-ep0")),
        participant_id: pid(participant),
        game_id: pid("g1"),
        scene_id: pid("overcooked"),
        episode: 0,
        csv: csv.into(),
        sidecar: json!({ "participants": [{ "participant_id": participant, "player_index": 0 }] }),
    }))
}

fn upload_id(participant: &str) -> SafeId {
    pid(&format!("g1-{participant}-ep0"))
}

#[tokio::test]
async fn an_upload_is_written_then_acknowledged() {
    let relay = TestRelay::start().await;
    let mut a = relay.client().await;
    a.hello("alice").await;
    a.recv().await; // waiting
    a.send(&upload("alice", CSV)).await;
    assert_eq!(a.recv().await, ServerMsg::UploadAck { upload_id: upload_id("alice") });
    let path = relay.data_dir.join("overcooked_demo/overcooked/alice_ep0.csv");
    assert_eq!(std::fs::read_to_string(path).expect("stored"), CSV);
    // Sending it again (a retry after a lost ack) is acknowledged again.
    a.send(&upload("alice", CSV)).await;
    assert_eq!(a.recv().await, ServerMsg::UploadAck { upload_id: upload_id("alice") });
    relay.shutdown().await;
}

#[tokio::test]
async fn an_upload_for_another_participant_is_refused() {
    let relay = TestRelay::start().await;
    let mut a = relay.client().await;
    a.hello("alice").await;
    a.recv().await;
    a.send(&upload("mallory", CSV)).await;
    let ServerMsg::UploadRefused { code: ErrorCode::NotYourFile, .. } = a.recv().await else {
        panic!("expected not_your_file")
    };
    assert!(!relay.data_dir.join("overcooked_demo/overcooked/mallory_ep0.csv").exists());
    relay.shutdown().await;
}

#[tokio::test]
async fn an_id_that_could_escape_the_data_directory_is_refused() {
    let relay = TestRelay::start().await;
    let mut a = relay.client().await;
    a.hello("alice").await;
    a.recv().await;
    let text = upload("alice", CSV)
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
    let relay = TestRelay::start().await;
    let mut a = relay.client().await;
    a.hello("alice").await;
    a.recv().await;
    // Just over the upload limit, under the connection's hard limit: a clear error, not a
    // closed connection. (Each row is 13 bytes once its newline is escaped in JSON.)
    let big = format!("{CSV}{}", "0,1,4,false\n".repeat((MAX_UPLOAD_BYTES + 20_000) / 13));
    a.send(&upload("alice", &big)).await;
    let ServerMsg::Error { code: ErrorCode::TooLarge, .. } = a.recv().await else {
        panic!("expected too_large")
    };
    assert!(!relay.data_dir.join("overcooked_demo/overcooked/alice_ep0.csv").exists());
    relay.shutdown().await;
}

#[tokio::test]
async fn a_relay_restart_keeps_every_acknowledged_file() {
    let mut relay = TestRelay::start().await;
    relay.keep_data = true;
    let data_dir = relay.data_dir.clone();
    for participant in ["p1", "p2", "p3"] {
        let mut c = relay.client().await;
        c.hello(participant).await;
        c.recv().await;
        c.send(&upload(participant, CSV)).await;
        assert_eq!(c.recv().await, ServerMsg::UploadAck { upload_id: upload_id(participant) });
    }
    relay.shutdown().await;
    let restarted = TestRelay::start_in(data_dir).await;
    for participant in ["p1", "p2", "p3"] {
        let path =
            restarted.data_dir.join(format!("overcooked_demo/overcooked/{participant}_ep0.csv"));
        assert_eq!(std::fs::read_to_string(path).expect("kept"), CSV);
    }
    restarted.shutdown().await;
}
