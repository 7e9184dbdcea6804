//! `POST /data/pages` through real HTTP: stored atomically for a participant the relay has
//! seen, refused with a typed code for a stranger, malformed or oversized data.

mod support;

use support::TestRelay;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A plain HTTP/1.1 POST of `body`; returns the status code and the response body.
async fn post(relay: &TestRelay, body: &str) -> (u16, serde_json::Value) {
    let mut stream = tokio::net::TcpStream::connect(relay.addr).await.expect("connect");
    let request = format!(
        "POST /data/pages HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        relay.addr,
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status line");
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, serde_json::from_str(&body).unwrap_or(serde_json::Value::Null))
}

#[tokio::test]
async fn a_known_participants_page_data_is_stored_and_everything_else_refused_by_code() {
    let relay = TestRelay::start().await;
    let answers = r#"{"participant_id":"p1","name":"answers","data":{"likert":4,"text":"fun"}}"#;
    let (status, reply) = post(&relay, answers).await;
    assert_eq!((status, reply["code"].as_str()), (403, Some("unknown_participant")), "{reply}");

    let mut p1 = relay.client().await;
    p1.hello("p1").await;
    let (status, reply) = post(&relay, answers).await;
    assert_eq!((status, &reply["stored"]), (200, &serde_json::Value::Bool(true)), "{reply}");
    let file = relay.data_dir.join("overcooked_demo/pages/p1_answers.json");
    let stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("stored")).expect("JSON");
    assert_eq!(stored, serde_json::json!({"likert": 4, "text": "fun"}));

    let bad_name = r#"{"participant_id":"p1","name":"../up","data":1}"#;
    assert_eq!(post(&relay, bad_name).await.1["code"], "malformed");
    let extra = r#"{"participant_id":"p1","name":"x","data":1,"admin":true}"#;
    assert_eq!(post(&relay, extra).await.1["code"], "malformed");
    let huge =
        format!(r#"{{"participant_id":"p1","name":"big","data":"{}"}}"#, "x".repeat(300 * 1024));
    let (status, reply) = post(&relay, &huge).await;
    assert_eq!((status, reply["code"].as_str()), (413, Some("too_large")));
    assert!(!relay.data_dir.join("overcooked_demo/pages/p1_big.json").exists());
    relay.shutdown().await;
}
