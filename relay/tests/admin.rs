//! The admin status endpoint through real HTTP: refused without the token, the lobby's counts
//! with it.

mod support;

use rollgym_protocol::ServerMsg;
use support::{ADMIN_TOKEN, TestRelay};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A plain HTTP/1.1 GET; returns the status code and the body.
async fn get(relay: &TestRelay, path: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(relay.addr).await.expect("connect");
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", relay.addr);
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status line");
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn the_status_needs_the_token_and_counts_the_lobby() {
    let relay = TestRelay::start().await;
    assert_eq!(get(&relay, "/admin/status").await.0, 401);
    assert_eq!(get(&relay, "/admin/status?token=wrong").await.0, 401);
    assert_eq!(get(&relay, "/admin/status?token=test-admin-toke").await.0, 401, "a prefix");

    let (mut a, mut b, mut c) = (relay.client().await, relay.client().await, relay.client().await);
    a.hello("a").await;
    b.hello("b").await;
    c.hello("c").await;
    // Everyone's first messages are through the hub before the snapshot is taken.
    for client in [&mut a, &mut b] {
        while !matches!(client.recv().await, ServerMsg::Paired { .. }) {}
    }
    let (status, body) = get(&relay, &format!("/admin/status?token={ADMIN_TOKEN}")).await;
    assert_eq!(status, 200, "{body}");
    let snapshot: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(snapshot["experiment"], "overcooked_demo");
    assert_eq!(snapshot["connected"], 3);
    let scene = &snapshot["scenes"][0];
    assert_eq!((scene["here"].as_u64(), scene["waiting"].as_u64()), (Some(3), Some(1)));
    assert_eq!(scene["games_validating"], 1);
    relay.shutdown().await;
}
