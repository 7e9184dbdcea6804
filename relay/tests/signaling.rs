//! The relay over a real WebSocket: pairing, forwarding, refusals, partners leaving, shutdown.

mod support;

use futures_util::SinkExt;
use rollgym_protocol::{ClientMsg, ErrorCode, MAX_CLIENT_MESSAGE_BYTES, ServerMsg, SignalPayload};
use rollgym_relay::HARD_MESSAGE_LIMIT;
use support::{TestRelay, pid};
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::MaybeTlsStream;

#[tokio::test]
async fn two_arrivals_are_paired_and_signals_flow_both_ways() {
    let relay = TestRelay::start().await;
    let mut a = relay.client().await;
    let mut b = relay.client().await;
    a.hello("alice").await;
    assert_eq!(a.recv().await, ServerMsg::Waiting { waiting: 1, needed: 2 });
    b.hello("bob").await;

    let ServerMsg::Paired { game_id: game_a, player_index: 0, peers, ice_servers, .. } =
        a.recv().await
    else {
        panic!("alice should be player 0")
    };
    assert_eq!(peers[0].participant_id, pid("bob"));
    assert!(ice_servers.is_empty(), "default experiment hands out no ICE servers");
    let ServerMsg::Paired { game_id: game_b, player_index: 1, .. } = b.recv().await else {
        panic!("bob should be player 1")
    };
    assert_eq!(game_a, game_b);

    let offer = SignalPayload::Offer { sdp: "v=0 offer".into() };
    a.send(&ClientMsg::Signal { to: pid("bob"), payload: offer.clone() }).await;
    assert_eq!(b.recv().await, ServerMsg::Signal { from: pid("alice"), payload: offer });
    let answer = SignalPayload::Answer { sdp: "v=0 answer".into() };
    b.send(&ClientMsg::Signal { to: pid("alice"), payload: answer.clone() }).await;
    assert_eq!(a.recv().await, ServerMsg::Signal { from: pid("bob"), payload: answer });
    relay.shutdown().await;
}

#[tokio::test]
async fn a_third_participant_waits_until_a_fourth_arrives() {
    let relay = TestRelay::start().await;
    let mut clients = Vec::new();
    for id in ["p1", "p2", "p3"] {
        let mut c = relay.client().await;
        c.hello(id).await;
        clients.push(c);
    }
    let mut third = clients.pop().expect("three");
    assert_eq!(third.recv().await, ServerMsg::Waiting { waiting: 1, needed: 2 });
    let mut fourth = relay.client().await;
    fourth.hello("p4").await;
    let ServerMsg::Paired { peers, .. } = third.recv().await else { panic!("third is paired") };
    assert_eq!(peers[0].participant_id, pid("p4"));
    relay.shutdown().await;
}

#[tokio::test]
async fn a_signal_to_a_non_partner_is_refused_and_not_delivered() {
    let relay = TestRelay::start().await;
    let (mut a, mut b, mut c) = (relay.client().await, relay.client().await, relay.client().await);
    a.hello("a").await;
    a.recv().await; // waiting
    b.hello("b").await;
    a.recv().await; // paired
    b.recv().await; // paired
    c.hello("c").await;
    c.recv().await; // waiting

    let payload = SignalPayload::Answer { sdp: "x".into() };
    a.send(&ClientMsg::Signal { to: pid("c"), payload: payload.clone() }).await;
    let ServerMsg::Error { code: ErrorCode::NotYourPartner, fatal: false, .. } = a.recv().await
    else {
        panic!("expected not_your_partner")
    };
    // An unpaired participant cannot reach anyone either.
    c.send(&ClientMsg::Signal { to: pid("a"), payload: payload.clone() }).await;
    let ServerMsg::Error { code: ErrorCode::NotYourPartner, .. } = c.recv().await else {
        panic!("expected not_your_partner")
    };
    // The connection still works: a legitimate signal arrives, and it is the first thing b sees.
    a.send(&ClientMsg::Signal { to: pid("b"), payload: payload.clone() }).await;
    assert_eq!(b.recv().await, ServerMsg::Signal { from: pid("a"), payload });
    relay.shutdown().await;
}

#[tokio::test]
async fn malformed_unknown_and_binary_messages_get_error_replies() {
    let relay = TestRelay::start().await;
    let mut a = relay.client().await;
    for text in ["not json", r#"{"type":"self_destruct"}"#, r#"{"type":"hello"}"#] {
        a.send_text(text.to_string()).await;
        let ServerMsg::Error { code: ErrorCode::Malformed, fatal: false, .. } = a.recv().await
        else {
            panic!("expected malformed for {text}")
        };
    }
    a.ws.send(tokio_tungstenite::tungstenite::Message::binary(vec![1, 2, 3])).await.expect("send");
    let ServerMsg::Error { code: ErrorCode::Binary, .. } = a.recv().await else {
        panic!("expected binary refusal")
    };
    // Still usable afterwards.
    a.hello("after-garbage").await;
    relay.shutdown().await;
}

#[tokio::test]
async fn oversized_messages_are_refused_and_huge_ones_close_with_1009() {
    let relay = TestRelay::start().await;
    let mut a = relay.client().await;
    a.send_text("x".repeat(MAX_CLIENT_MESSAGE_BYTES + 1)).await;
    let ServerMsg::Error { code: ErrorCode::TooLarge, fatal: false, .. } = a.recv().await else {
        panic!("expected too_large")
    };
    a.hello("still-here").await;

    // A frame header announcing more than the hard limit, without its payload: the relay
    // refuses on reading the length, and this client, not busy writing megabytes, reads the
    // close frame.
    let mut b = relay.client().await;
    let announced = (HARD_MESSAGE_LIMIT + 1) as u64;
    let mut header = vec![0x81, 0x80 | 127];
    header.extend_from_slice(&announced.to_be_bytes());
    header.extend_from_slice(&[1, 2, 3, 4]); // the mask every client frame carries
    let MaybeTlsStream::Plain(tcp) = b.ws.get_mut() else { panic!("plain TCP") };
    tcp.write_all(&header).await.expect("header sent");
    assert_eq!(b.closed().await, Some(1009));
    // The relay is unaffected.
    let mut c = relay.client().await;
    c.hello("unaffected").await;
    relay.shutdown().await;
}

#[tokio::test]
async fn protocol_version_mismatch_is_a_clear_fatal_error() {
    let relay = TestRelay::start().await;
    let mut a = relay.client().await;
    a.send(&ClientMsg::Hello { protocol_version: 999, participant_id: None, rejoin: false }).await;
    let ServerMsg::Error { code: ErrorCode::ProtocolVersion, fatal: true, message } =
        a.recv().await
    else {
        panic!("expected protocol_version")
    };
    assert!(message.contains("reload"), "{message}");
    assert!(a.closed().await.is_some());
    relay.shutdown().await;
}

#[tokio::test]
async fn a_second_tab_with_the_same_id_is_refused() {
    let relay = TestRelay::start().await;
    let mut first = relay.client().await;
    first.hello("same").await;
    let mut second = relay.client().await;
    second
        .send(&ClientMsg::Hello {
            protocol_version: rollgym_protocol::PROTOCOL_VERSION,
            participant_id: Some(pid("same")),
            rejoin: false,
        })
        .await;
    let ServerMsg::Error { code: ErrorCode::DuplicateParticipant, fatal: true, .. } =
        second.recv().await
    else {
        panic!("expected duplicate_participant")
    };
    assert!(second.closed().await.is_some());
    relay.shutdown().await;
}

#[tokio::test]
async fn a_partner_leaving_before_the_start_is_reported_with_a_return_to_waiting() {
    let relay = TestRelay::start().await;
    let mut a = relay.client().await;
    let mut b = relay.client().await;
    a.hello("stays").await;
    a.recv().await; // waiting
    b.hello("leaves").await;
    a.recv().await; // paired
    b.recv().await; // paired
    b.ws.close(None).await.expect("close");
    drop(b);
    // The game had not started: a is back in the waiting room (leaving mid-game is covered in
    // tests/lobby.rs).
    let ServerMsg::Repool { .. } = a.recv().await else { panic!("expected repool") };
    assert_eq!(a.recv().await, ServerMsg::Waiting { waiting: 1, needed: 2 });
    relay.shutdown().await;
}

#[tokio::test]
async fn shutdown_closes_connections_with_going_away() {
    let relay = TestRelay::start().await;
    let mut a = relay.client().await;
    a.hello("a").await;
    a.recv().await; // waiting
    let shutting_down = tokio::spawn(relay.shutdown());
    assert_eq!(a.closed().await, Some(1001));
    shutting_down.await.expect("shutdown completes");
}
