//! Peer-to-peer probes through real WebSockets with scripted participants: they relay probe
//! signaling, report round trips the script chooses, and are matched or kept apart by them.

mod support;

use std::collections::HashMap;

use rollgym_protocol::{ClientMsg, ErrorCode, ExperimentConfig, ProbeId, ServerMsg, SignalPayload};
use rollgym_relay::config;
use support::{Client, TestRelay};

const MATCH_LOG: &str = "overcooked_demo/match_logs/overcooked_matches.jsonl";

/// The bundled experiment, probing with a 100 ms threshold.
fn probing() -> ExperimentConfig {
    let mut experiment = config::load(None).expect("bundled config");
    experiment.game.countdown_ms = 100;
    experiment.matchmaking.max_p2p_rtt_ms = Some(100);
    experiment
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

/// Expects a probe proposal; returns its id, the peer and whether this side initiates.
async fn proposed(client: &mut Client) -> (ProbeId, String, bool) {
    match next_event(client).await {
        ServerMsg::Probe { probe_id, peer, initiator, .. } => {
            (probe_id, peer.to_string(), initiator)
        }
        other => panic!("expected a probe, got {other:?}"),
    }
}

async fn report(client: &mut Client, probe_id: &ProbeId, rtt_ms: Option<u32>) {
    client.send(&ClientMsg::ProbeResult { probe_id: probe_id.clone(), rtt_ms }).await;
}

async fn hello(relay: &TestRelay, id: &str) -> Client {
    let mut client = relay.client().await;
    client.hello(id).await;
    client
}

#[tokio::test]
async fn a_slow_probe_is_rejected_and_the_next_candidate_is_probed() {
    let relay = TestRelay::start_experiment(probing()).await;
    let mut a = hello(&relay, "a").await;
    let mut b = hello(&relay, "b").await;
    let (probe, peer, initiator) = proposed(&mut a).await;
    assert_eq!((peer.as_str(), initiator), ("b", true));
    assert_eq!(proposed(&mut b).await, (probe.clone(), "a".into(), false));
    // Probe signaling is relayed between the two, tagged with the probe.
    let offer = SignalPayload::Offer { sdp: "v=0".into() };
    a.send(&ClientMsg::ProbeSignal { probe_id: probe.clone(), payload: offer.clone() }).await;
    assert_eq!(
        next_event(&mut b).await,
        ServerMsg::ProbeSignal { probe_id: probe.clone(), payload: offer }
    );
    // c arrives while a and b are busy: it waits.
    let mut c = hello(&relay, "c").await;
    c.expect_nothing().await;

    report(&mut b, &probe, Some(250)).await;
    assert_eq!(next_event(&mut a).await, ServerMsg::ProbeEnd { probe_id: probe.clone() });
    assert_eq!(next_event(&mut b).await, ServerMsg::ProbeEnd { probe_id: probe.clone() });
    // a waited longest and is probed with c (b is rejected for a).
    let (second, peer, _) = proposed(&mut a).await;
    assert_eq!(peer, "c");
    assert_eq!(proposed(&mut c).await.0, second);
    // a's late report of the first probe is ignored: no error comes back.
    report(&mut a, &probe, Some(90)).await;
    report(&mut c, &second, Some(40)).await;
    assert_eq!(next_event(&mut a).await, ServerMsg::ProbeEnd { probe_id: second.clone() });
    assert!(matches!(next_event(&mut a).await, ServerMsg::Paired { player_index: 1, .. }));
    assert_eq!(next_event(&mut c).await, ServerMsg::ProbeEnd { probe_id: second.clone() });
    assert!(matches!(next_event(&mut c).await, ServerMsg::Paired { player_index: 0, .. }));
    b.expect_nothing().await; // b just waits

    let log = support::match_log(&relay.data_dir.join(MATCH_LOG), 3).await;
    let summary: Vec<(String, String)> = log
        .iter()
        .map(|r| {
            (r["event"].as_str().unwrap_or("").into(), r["result"].as_str().unwrap_or("").into())
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("probe".into(), "too_slow".into()),
            ("probe".into(), "accepted".into()),
            ("match".into(), String::new())
        ]
    );
    assert_eq!(log[0]["p2p_rtt_ms"], 250);
    assert_eq!(log[2]["probe"]["p2p_rtt_ms"], 40);
    assert_eq!(log[2]["participants"][0]["participant_id"], "c");
    relay.shutdown().await;
}

#[tokio::test]
async fn a_disconnect_while_probing_puts_the_other_back_in_line() {
    let relay = TestRelay::start_experiment(probing()).await;
    let mut a = hello(&relay, "a").await;
    let mut b = hello(&relay, "b").await;
    let (probe, _, _) = proposed(&mut a).await;
    proposed(&mut b).await;
    drop(b);
    assert_eq!(next_event(&mut a).await, ServerMsg::ProbeEnd { probe_id: probe });
    // Leaving is not a rejection of a: the next arrival is probed with it.
    let mut c = hello(&relay, "c").await;
    assert_eq!(proposed(&mut a).await.1, "c");
    assert_eq!(proposed(&mut c).await.1, "a");
    relay.shutdown().await;
}

#[tokio::test]
async fn probe_messages_outside_ones_own_probe_are_refused() {
    let relay = TestRelay::start_experiment(probing()).await;
    let mut a = hello(&relay, "a").await;
    let mut b = hello(&relay, "b").await;
    let (probe, _, _) = proposed(&mut a).await;
    let mut c = hello(&relay, "c").await;
    report(&mut c, &probe, Some(1)).await;
    assert!(matches!(
        next_event(&mut c).await,
        ServerMsg::Error { code: ErrorCode::NotInProbe, fatal: false, .. }
    ));
    // The forged report changed nothing: a and b are still probing, and decide it.
    proposed(&mut b).await;
    report(&mut a, &probe, Some(20)).await;
    assert_eq!(next_event(&mut b).await, ServerMsg::ProbeEnd { probe_id: probe });
    assert!(matches!(next_event(&mut b).await, ServerMsg::Paired { .. }));
    relay.shutdown().await;
}

/// A scripted participant: answers every probe with the round trip `rtt_between` gives for
/// the pair, never accepts a second probe before the first ended, and stops once paired.
/// Returns its partner, and its connection: hanging up now would dissolve the game (its
/// partner, not yet validated, would be sent back to the waiting room and matched again
/// while its own script has already stopped). Every participant of the test has a close
/// partner, so each script ends by being paired; one that waits in vain fails on the
/// helper's patience.
async fn script(
    mut client: Client,
    me: usize,
    rtt_between: fn(usize, usize) -> u32,
) -> (usize, Client) {
    let mut open: Option<ProbeId> = None;
    loop {
        match next_event(&mut client).await {
            ServerMsg::Probe { probe_id, peer, .. } => {
                assert!(open.is_none(), "p{me} asked into {probe_id} while in {open:?}");
                let other: usize = peer.as_str()[1..].parse().expect("scripted id");
                client
                    .send(&ClientMsg::ProbeResult {
                        probe_id: probe_id.clone(),
                        rtt_ms: Some(rtt_between(me, other)),
                    })
                    .await;
                open = Some(probe_id);
            }
            ServerMsg::ProbeEnd { probe_id } => {
                assert_eq!(open.take(), Some(probe_id), "p{me}: the end of a probe it was in");
            }
            ServerMsg::Paired { peers, .. } => {
                assert!(open.is_none(), "p{me} paired while probing");
                let partner = peers[0].participant_id.as_str()[1..].parse().expect("scripted id");
                return (partner, client);
            }
            other => panic!("p{me}: unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn no_participant_is_ever_in_two_probes_and_only_close_pairs_match() {
    let relay = TestRelay::start_experiment(probing()).await;
    // Even and odd participants are far apart; same parity is close. Six of each: everyone
    // has a close partner, after however many rejected probes.
    fn rtt_between(a: usize, b: usize) -> u32 {
        if a % 2 == b % 2 { 30 } else { 400 }
    }
    let mut tasks = Vec::new();
    for i in 0..12 {
        let client = hello(&relay, &format!("p{i}")).await;
        tasks.push(tokio::spawn(script(client, i, rtt_between)));
    }
    let mut partners = HashMap::new();
    let mut connections = Vec::new();
    for (i, task) in tasks.into_iter().enumerate() {
        let (partner, client) = task.await.expect("script ran without a failed assertion");
        partners.insert(i, partner);
        connections.push(client);
    }
    for (me, partner) in &partners {
        assert_eq!(partners[partner], *me, "pairs are mutual");
        assert_eq!(rtt_between(*me, *partner), 30, "p{me} and p{partner} are close");
    }
    relay.shutdown().await;
}
