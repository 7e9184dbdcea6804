use super::*;

fn prober() -> Prober {
    Prober::new(ProbeId::parse("q1").expect("id"), 0.0)
}

/// The ping in `out`, if it holds exactly one.
fn ping(out: &[ProbeOut]) -> u32 {
    match out {
        [ProbeOut::Send(bytes)] => match PeerMsg::decode(bytes) {
            Ok(PeerMsg::Ping { seq, .. }) => seq,
            other => panic!("expected a ping, got {other:?}"),
        },
        other => panic!("expected one packet, got {other:?}"),
    }
}

fn pong(seq: u32) -> Vec<u8> {
    PeerMsg::Pong { seq, sent_at_ms: 0.0 }.encode()
}

#[test]
fn five_pings_one_at_a_time_then_the_median() {
    let mut p = prober();
    assert!(p.tick(100.0).is_empty(), "nothing before the channel opens");
    let mut now = 1_000.0;
    let mut seq = ping(&p.opened(now));
    for rtt in [30.0, 10.0, 50.0, 20.0] {
        now += rtt;
        seq = ping(&p.packet(&pong(seq), now));
    }
    now += 40.0;
    assert_eq!(p.packet(&pong(seq), now), vec![ProbeOut::Report(Some(30))]);
    assert!(p.tick(now + 5_000.0).is_empty(), "reported once");
}

#[test]
fn pings_from_the_other_side_are_answered() {
    let mut p = prober();
    let theirs = PeerMsg::Ping { seq: 9, sent_at_ms: 123.0 };
    assert_eq!(
        p.packet(&theirs.encode(), 5.0),
        vec![ProbeOut::Send(PeerMsg::Pong { seq: 9, sent_at_ms: 123.0 }.encode())]
    );
}

#[test]
fn a_lost_ping_times_out_and_the_rest_still_count() {
    let mut p = prober();
    let first = ping(&p.opened(0.0));
    assert!(p.tick(1_999.0).is_empty());
    let second = ping(&p.tick(2_000.0));
    assert_ne!(first, second);
    // The late pong of the lost ping is not counted.
    assert!(p.packet(&pong(first), 2_010.0).is_empty());
    let mut seq = ping(&p.packet(&pong(second), 2_020.0));
    let mut now = 2_020.0;
    for _ in 0..2 {
        now += 20.0;
        seq = ping(&p.packet(&pong(seq), now));
    }
    assert_eq!(p.packet(&pong(seq), now + 20.0), vec![ProbeOut::Report(Some(20))]);
}

#[test]
fn every_ping_lost_reports_a_failure() {
    let mut p = prober();
    ping(&p.opened(0.0));
    let mut now = 0.0;
    for _ in 0..4 {
        now += PING_TIMEOUT_MS;
        ping(&p.tick(now));
    }
    assert_eq!(p.tick(now + PING_TIMEOUT_MS), vec![ProbeOut::Report(None)]);
}

#[test]
fn a_channel_that_never_opens_reports_a_failure_before_the_relay_gives_up() {
    let mut p = prober();
    assert!(p.tick(REPORT_BY_MS - 1.0).is_empty());
    assert_eq!(p.tick(REPORT_BY_MS), vec![ProbeOut::Report(None)]);
    assert!(!p.expired(REPORT_BY_MS));
    assert!(p.expired(LINGER_MS));
}

#[test]
fn a_failed_connection_reports_once() {
    let mut p = prober();
    ping(&p.opened(0.0));
    assert_eq!(p.failed(), vec![ProbeOut::Report(None)]);
    assert!(p.failed().is_empty());
    assert!(p.packet(&pong(0), 10.0).is_empty(), "nothing more after the report");
}

#[test]
fn garbage_and_forged_pongs_are_ignored() {
    let mut p = prober();
    let seq = ping(&p.opened(0.0));
    assert!(p.packet(&[], 1.0).is_empty());
    assert!(p.packet(&[0x7f, 1, 2, 3], 1.0).is_empty());
    assert!(p.packet(&pong(seq + 100), 1.0).is_empty(), "a pong for a ping never sent");
    // The real pong still counts.
    ping(&p.packet(&pong(seq), 12.0));
}

#[test]
fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
    assert_eq!(median(&mut [10.0, 40.0, 20.0, 30.0]), Some(25));
    assert_eq!(median(&mut [1.4]), Some(1));
    assert_eq!(median(&mut []), None);
}
