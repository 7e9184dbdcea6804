//! Entry screening: asked before the first scene, judged by the rules, logged, sticky.

use rollgym_protocol::{
    Device, OutcomeConfig, OutcomeName, PeerReport, ScreenFacts, ScreenRule, SignalPayload,
};

use super::*;

const PHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
const DESKTOP: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36";

fn screening_lobby() -> Lobby {
    let mut config = crate::config::load(None).expect("bundled config");
    config.screening.devices = Some(vec![Device::Desktop]);
    config.outcomes.insert(
        OutcomeName::ScreenedOut,
        OutcomeConfig { completion_code: Some("SCREENED1".into()), ..OutcomeConfig::default() },
    );
    Lobby::new(config, 1)
}

fn facts(ua: &str) -> ClientMsg {
    ClientMsg::ScreenFacts(Box::new(ScreenFacts {
        user_agent: ua.into(),
        window: [1280, 800],
        ..ScreenFacts::default()
    }))
}

fn exits(actions: &[Action]) -> Vec<(OutcomeName, Option<String>)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(_, ServerMsg::Exit { outcome, completion_code, .. }) => {
                Some((OutcomeName::parse(outcome)?, completion_code.clone()))
            }
            _ => None,
        })
        .collect()
}

fn logged(actions: &[Action]) -> Vec<ScreeningRecord> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::LogScreening(record) => Some((**record).clone()),
            _ => None,
        })
        .collect()
}

fn waiting(actions: &[Action]) -> bool {
    actions.iter().any(|a| matches!(a, Action::Send(_, ServerMsg::Waiting { .. })))
}

#[test]
fn an_arrival_is_asked_first_and_placed_only_once_it_passes() {
    let mut lobby = screening_lobby();
    let greeted = join(&mut lobby, 1, "a");
    assert!(greeted.iter().any(|a| matches!(a, Action::Send(_, ServerMsg::Screen(_)))));
    assert!(!waiting(&greeted), "not placed before screening");
    let passed = lobby.message(ConnId(1), facts(DESKTOP), 40);
    assert!(waiting(&passed), "{passed:?}");
    let [record] = &logged(&passed)[..] else { panic!("one record: {passed:?}") };
    assert!(record.passed);
    assert_eq!(record.device, Some(Device::Desktop));
    assert_eq!(record.browser, Some(("chrome".into(), 156)));
    assert_eq!(record.duration_ms, 40);
    // Facts are answered once: a second report is refused.
    assert_eq!(codes(&lobby.message(ConnId(1), facts(DESKTOP), 50)), vec![ErrorCode::NotScreening]);
}

#[test]
fn a_phone_is_turned_away_with_its_code_and_stays_turned_away() {
    let mut lobby = screening_lobby();
    join(&mut lobby, 1, "a");
    let out = lobby.message(ConnId(1), facts(PHONE), 10);
    assert_eq!(exits(&out), vec![(OutcomeName::ScreenedOut, Some("SCREENED1".into()))]);
    let [record] = &logged(&out)[..] else { panic!("one record") };
    assert_eq!((record.passed, record.failed_rule), (false, Some(ScreenRule::Device)));
    assert!(record.message.as_deref().is_some_and(|m| m.contains("phone")));
    lobby.disconnected(ConnId(1), 20);
    // A reload gets the same exit without being asked again.
    let again = join(&mut lobby, 2, "a");
    assert_eq!(exits(&again).len(), 1);
    assert!(!again.iter().any(|a| matches!(a, Action::Send(_, ServerMsg::Screen(_)))));
    // So does a restarted relay that read the file back.
    let mut restarted = screening_lobby();
    restarted.restore_screening(logged(&out));
    assert_eq!(exits(&join(&mut restarted, 1, "a")).len(), 1);
    assert!(waiting(&{
        let mut fresh = screening_lobby();
        join(&mut fresh, 1, "b");
        fresh.message(ConnId(1), facts(DESKTOP), 0)
    }));
}

#[test]
fn a_page_that_never_answers_fails_loading_once_and_may_try_again() {
    let mut lobby = screening_lobby();
    join(&mut lobby, 1, "a");
    let timeout = u64::from(lobby.experiment.loading.timeout_ms);
    assert!(lobby.tick(timeout - 1).is_empty());
    let expired = lobby.tick(timeout);
    assert_eq!(exits(&expired), vec![(OutcomeName::LoadingFailed, None)]);
    assert!(logged(&expired)[0].timed_out);
    assert!(lobby.tick(timeout * 2).is_empty(), "once");
    assert_eq!(lobby.snapshot(0).loading_failed, 1, "counted for the admin page");
    assert_eq!(
        codes(&lobby.message(ConnId(1), facts(DESKTOP), timeout + 1)),
        vec![ErrorCode::NotScreening]
    );
    lobby.disconnected(ConnId(1), timeout + 2);
    let again = join(&mut lobby, 2, "a");
    assert!(again.iter().any(|a| matches!(a, Action::Send(_, ServerMsg::Screen(_)))));
}

#[test]
fn without_rules_nobody_is_asked() {
    let mut lobby = lobby();
    let greeted = join(&mut lobby, 1, "a");
    assert!(waiting(&greeted));
    assert!(logged(&greeted).is_empty());
}

fn webrtc_lobby() -> Lobby {
    let mut config = crate::config::load(None).expect("bundled config");
    config.screening.webrtc = true;
    config.screening.max_rtt_ms = Some(100);
    Lobby::new(config, 1)
}

fn offer(sdp: &str) -> ClientMsg {
    ClientMsg::ScreenSignal { payload: SignalPayload::Offer { sdp: sdp.into() } }
}

#[test]
fn the_relays_peer_is_met_and_its_report_decides_with_the_facts() {
    let mut lobby = webrtc_lobby();
    let greeted = join(&mut lobby, 1, "a");
    let asked = greeted.iter().find_map(|a| match a {
        Action::Send(_, ServerMsg::Screen(request)) => Some(request.clone()),
        _ => None,
    });
    assert!(asked.is_some_and(|r| r.webrtc), "the page is asked to meet the peer");
    assert_eq!(
        lobby.message(ConnId(1), offer("v=0"), 5),
        vec![Action::ScreenPeerOffer { conn: ConnId(1), sdp: "v=0".into() }]
    );
    assert_eq!(codes(&lobby.message(ConnId(1), offer("again"), 6)), vec![ErrorCode::NotScreening]);
    let candidate = ClientMsg::ScreenSignal {
        payload: SignalPayload::IceCandidate {
            candidate: "candidate:1 1 udp 1 127.0.0.1 5 typ host".into(),
            sdp_mid: Some("0".into()),
            sdp_m_line_index: Some(0),
        },
    };
    assert!(matches!(
        &lobby.message(ConnId(1), candidate, 7)[..],
        [Action::ScreenPeerCandidate { .. }]
    ));
    // The facts alone do not decide: the peer has not reported yet.
    assert!(lobby.message(ConnId(1), facts(DESKTOP), 10).is_empty());
    let report =
        PeerReport { connected: true, rtt_samples: vec![40, 60, 50], ..Default::default() };
    let decided = lobby.peer_report(ConnId(1), report.clone(), 900);
    assert!(waiting(&decided), "{decided:?}");
    assert!(decided.contains(&Action::EndScreenPeer(ConnId(1))));
    let [line] = &logged(&decided)[..] else { panic!("one record") };
    assert_eq!(line.webrtc.as_ref(), Some(&report));
    assert!(lobby.peer_report(ConnId(1), report, 950).is_empty(), "a late report is ignored");
}

#[test]
fn a_slow_or_unreachable_page_is_turned_away_by_the_peer_rules() {
    let mut lobby = webrtc_lobby();
    join(&mut lobby, 1, "slow");
    lobby.message(ConnId(1), offer("v=0"), 0);
    lobby.message(ConnId(1), facts(DESKTOP), 0);
    let slow =
        PeerReport { connected: true, rtt_samples: vec![400, 420, 390], ..Default::default() };
    let out = lobby.peer_report(ConnId(1), slow, 10);
    assert_eq!(logged(&out)[0].failed_rule, Some(ScreenRule::Rtt));
    assert_eq!(exits(&out).len(), 1);

    // A page that cannot start WebRTC at all says so with its facts: decided at once.
    join(&mut lobby, 2, "no-webrtc");
    let facts = ScreenFacts {
        user_agent: DESKTOP.into(),
        window: [1280, 800],
        webrtc_error: Some("RTCPeerConnection is not defined".into()),
        ..ScreenFacts::default()
    };
    let out = lobby.message(ConnId(2), ClientMsg::ScreenFacts(Box::new(facts)), 20);
    let [line] = &logged(&out)[..] else { panic!("decided at once: {out:?}") };
    assert_eq!(line.failed_rule, Some(ScreenRule::Webrtc));

    // A page leaving mid-screening has its peer connection closed.
    join(&mut lobby, 3, "leaver");
    lobby.message(ConnId(3), offer("v=0"), 30);
    assert!(lobby.disconnected(ConnId(3), 40).contains(&Action::EndScreenPeer(ConnId(3))));
}

#[test]
fn latency_fifo_may_count_the_round_trip_over_the_screening_peer() {
    // Over the WebSocket all three look near (20 ms); over UDP one is 300 ms away.
    let mut config = crate::config::load(None).expect("bundled config");
    config.screening.webrtc = true;
    config.matchmaking.kind = rollgym_protocol::MatchmakerKind::LatencyFifo;
    config.matchmaking.max_server_rtt_ms = 100;
    config.matchmaking.rtt_source = rollgym_protocol::RttSource::Webrtc;
    let mut lobby = Lobby::new(config, 1);
    let mut arrive = |conn: u64, id: &str, udp_rtt: u32| {
        join(&mut lobby, conn, id);
        for _ in 0..5 {
            lobby.rtt_sample(ConnId(conn), 20);
        }
        lobby.message(ConnId(conn), offer("v=0"), 0);
        lobby.message(ConnId(conn), facts(DESKTOP), 0);
        let report =
            PeerReport { connected: true, rtt_samples: vec![udp_rtt; 3], ..PeerReport::default() };
        lobby.peer_report(ConnId(conn), report, 10)
    };
    assert!(game_of_pair(&arrive(1, "far", 300)).is_empty());
    assert!(game_of_pair(&arrive(2, "near1", 20)).is_empty(), "20 + 300 > 100 over UDP");
    let out = arrive(3, "near2", 30);
    assert_eq!(game_of_pair(&out), vec![(2, 0), (3, 1)], "the two near ones");
    let logged: Vec<u32> = out
        .iter()
        .filter_map(|a| match a {
            Action::LogMatch(rollgym_protocol::MatchLogRecord::Match { participants, .. }) => {
                Some(participants.iter().filter_map(|p| p.server_rtt_ms).collect::<Vec<_>>())
            }
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(logged, vec![20, 30], "the match log records the round trips compared");
}
