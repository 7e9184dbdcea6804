//! Peer-to-peer probes before a match (`max_p2p_rtt_ms`).

use std::collections::HashMap;

use super::*;

fn probing_lobby(max_p2p_rtt_ms: u32) -> Lobby {
    lobby_with(|c| c.matchmaking.max_p2p_rtt_ms = Some(max_p2p_rtt_ms))
}

/// The probes proposed in `actions`: (connection, probe id, peer, initiator).
fn proposals(actions: &[Action]) -> Vec<(u64, ProbeId, String, bool)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(c, ServerMsg::Probe { probe_id, peer, initiator, .. }) => {
                Some((c.0, probe_id.clone(), peer.to_string(), *initiator))
            }
            _ => None,
        })
        .collect()
}

fn ended(actions: &[Action]) -> Vec<u64> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(c, ServerMsg::ProbeEnd { .. }) => Some(c.0),
            _ => None,
        })
        .collect()
}

/// The match-log lines of `event` in `actions`, as written.
fn logged(actions: &[Action], event: &str) -> Vec<serde_json::Value> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::LogMatch(record) => serde_json::to_value(record).ok(),
            _ => None,
        })
        .filter(|v| v["event"] == event)
        .collect()
}

fn result(lobby: &mut Lobby, conn: u64, probe_id: &ProbeId, rtt_ms: Option<u32>) -> Vec<Action> {
    let msg = ClientMsg::ProbeResult { probe_id: probe_id.clone(), rtt_ms };
    lobby.message(ConnId(conn), msg, 1_000)
}

#[test]
fn a_fast_probe_matches_the_pair_and_is_logged() {
    let mut lobby = probing_lobby(100);
    join(&mut lobby, 1, "a");
    let out = join(&mut lobby, 2, "b");
    let proposed = proposals(&out);
    assert_eq!(proposed.len(), 2);
    assert_eq!((proposed[0].0, proposed[0].2.as_str(), proposed[0].3), (1, "b", true));
    assert_eq!((proposed[1].0, proposed[1].2.as_str(), proposed[1].3), (2, "a", false));
    assert!(game_of_pair(&out).is_empty(), "no match before the probe");
    assert_eq!(lobby.waiting_count(), 2, "probing participants still wait");
    let probe = proposed[0].1.clone();
    assert_eq!(lobby.probe_of(ConnId(1)), Some(&probe));

    let out = result(&mut lobby, 2, &probe, Some(100));
    assert_eq!(ended(&out), vec![1, 2]);
    assert_eq!(game_of_pair(&out), vec![(1, 0), (2, 1)], "boundary inclusive; candidate first");
    let probe_log = logged(&out, "probe");
    assert_eq!(probe_log.len(), 1);
    assert_eq!(probe_log[0]["result"], "accepted");
    assert_eq!(probe_log[0]["p2p_rtt_ms"], 100);
    assert_eq!(probe_log[0]["participants"][1]["participant_id"], "b");
    let match_log = logged(&out, "match");
    assert_eq!(match_log[0]["probe"]["p2p_rtt_ms"], 100);
    assert_eq!(match_log[0]["probe"]["probe_id"], probe.as_str());

    // The other side's report arrives after the decision: ignored, not an error.
    assert!(result(&mut lobby, 1, &probe, Some(90)).is_empty());
    assert_eq!(lobby.probe_of(ConnId(1)), None);
}

#[test]
fn a_slow_probe_rejects_the_pair_and_the_next_candidate_is_probed() {
    let mut lobby = probing_lobby(100);
    join(&mut lobby, 1, "a");
    let first = proposals(&join(&mut lobby, 2, "b"))[0].1.clone();
    assert!(proposals(&join(&mut lobby, 3, "c")).is_empty(), "a and b are busy probing");

    let out = result(&mut lobby, 1, &first, Some(101));
    assert_eq!(logged(&out, "probe")[0]["result"], "too_slow");
    assert!(game_of_pair(&out).is_empty());
    // The longest-waiting participant, a, is probed with the next candidate, c.
    let next = proposals(&out);
    assert_eq!(next.iter().map(|p| (p.0, p.2.as_str())).collect::<Vec<_>>(), [(3, "a"), (1, "c")]);
    assert_eq!(lobby.probe_of(ConnId(2)), None, "b waits: a is rejected, c is busy");

    let out = result(&mut lobby, 3, &next[0].1, Some(30));
    assert_eq!(game_of_pair(&out), vec![(3, 0), (1, 1)]);
    // b is never proposed to a again: alone, it just waits.
    assert!(proposals(&out).is_empty());
    assert_eq!(lobby.waiting_count(), 1);
}

#[test]
fn a_failed_or_silent_probe_rejects_the_pair() {
    let mut lobby = probing_lobby(100);
    join(&mut lobby, 1, "a");
    let probe = proposals(&join(&mut lobby, 2, "b"))[0].1.clone();
    let out = result(&mut lobby, 2, &probe, None);
    assert_eq!(logged(&out, "probe")[0]["result"], "failed");
    assert!(proposals(&out).is_empty(), "a and b are not proposed to each other again");

    // c arrives and is probed with a; nobody reports within the timeout.
    let out = join(&mut lobby, 3, "c");
    let probe = proposals(&out)[0].1.clone();
    assert_eq!(proposals(&out)[0].0, 1, "a waited longest");
    assert!(lobby.tick(PROBE_TIMEOUT_MS - 1).iter().all(|a| !matches!(a, Action::LogMatch(_))));
    let out = lobby.tick(PROBE_TIMEOUT_MS);
    assert_eq!(logged(&out, "probe")[0]["result"], "timed_out");
    assert_eq!(ended(&out), vec![1, 3]);
    // b and c have not been tried: they are next (b looks, c is its candidate).
    let next = proposals(&out);
    assert_eq!(next.iter().map(|p| p.0).collect::<Vec<_>>(), vec![3, 2]);
    assert_ne!(next[0].1, probe);
}

#[test]
fn late_messages_of_any_ended_probe_are_ignored_and_others_refused() {
    let mut lobby = probing_lobby(100);
    join(&mut lobby, 1, "a");
    let x = proposals(&join(&mut lobby, 2, "b"))[0].1.clone();
    join(&mut lobby, 3, "c");
    // Probe X ends (b reports first); a is probed with c in Y, which ends too.
    let y = proposals(&result(&mut lobby, 2, &x, Some(500)))[0].1.clone();
    result(&mut lobby, 3, &y, Some(500));
    // Only now do a's reports and signals of X and Y arrive: late, not errors.
    assert!(result(&mut lobby, 1, &x, Some(10)).is_empty());
    assert!(result(&mut lobby, 1, &y, Some(10)).is_empty());
    let offer = SignalPayload::Offer { sdp: "v=0".into() };
    let signal = ClientMsg::ProbeSignal { probe_id: x.clone(), payload: offer };
    assert!(lobby.message(ConnId(1), signal, 1_000).is_empty());
    // c was never in X: refused.
    assert_eq!(codes(&result(&mut lobby, 3, &x, Some(10))), [ErrorCode::NotInProbe]);
}

#[test]
fn a_connection_remembers_a_bounded_number_of_ended_probes() {
    let mut lobby = probing_lobby(100);
    join(&mut lobby, 0, "a");
    // a is probed with one newcomer after another, each too slow.
    let mut ended_ids = Vec::new();
    for n in 1..=(ENDED_PROBES_REMEMBERED as u64 + 1) {
        let out = join(&mut lobby, n, &format!("p{n}"));
        let probe = proposals(&out)[0].1.clone();
        result(&mut lobby, n, &probe, Some(500));
        lobby.disconnected(ConnId(n), 1_000);
        ended_ids.push(probe);
    }
    // The oldest is forgotten (refused), the most recent ones are still ignored.
    assert_eq!(codes(&result(&mut lobby, 0, &ended_ids[0], None)), [ErrorCode::NotInProbe]);
    assert!(result(&mut lobby, 0, &ended_ids[1], None).is_empty());
    assert!(result(&mut lobby, 0, &ended_ids[ENDED_PROBES_REMEMBERED], None).is_empty());
}

#[test]
fn a_disconnect_during_a_probe_ends_it_and_the_other_waits_again() {
    let mut lobby = probing_lobby(100);
    join(&mut lobby, 1, "a");
    let probe = proposals(&join(&mut lobby, 2, "b"))[0].1.clone();
    let out = lobby.disconnected(ConnId(2), 500);
    assert_eq!(ended(&out), vec![1]);
    assert_eq!(logged(&out, "probe")[0]["result"], "left");
    assert!(out.contains(&Action::Send(ConnId(1), ServerMsg::Waiting { waiting: 1, needed: 2 })));
    assert_eq!(lobby.probe_of(ConnId(1)), None);
    // A late report of the abandoned probe is ignored; b may come back and be probed again
    // (leaving is not a rejection).
    assert!(result(&mut lobby, 1, &probe, Some(10)).is_empty());
    let again = proposals(&join(&mut lobby, 4, "b"));
    assert_eq!(again.iter().map(|p| p.0).collect::<Vec<_>>(), vec![1, 4]);
}

#[test]
fn probe_signals_stay_within_the_probe() {
    let mut lobby = probing_lobby(100);
    join(&mut lobby, 1, "a");
    let probe = proposals(&join(&mut lobby, 2, "b"))[0].1.clone();
    join(&mut lobby, 3, "c");
    let offer = SignalPayload::Offer { sdp: "v=0".into() };
    let signal = ClientMsg::ProbeSignal { probe_id: probe.clone(), payload: offer.clone() };
    assert_eq!(
        lobby.message(ConnId(1), signal.clone(), 0),
        vec![Action::Send(
            ConnId(2),
            ServerMsg::ProbeSignal { probe_id: probe.clone(), payload: offer }
        )]
    );
    assert_eq!(codes(&lobby.message(ConnId(3), signal, 0)), vec![ErrorCode::NotInProbe]);
    let forged = ClientMsg::ProbeResult { probe_id: probe.clone(), rtt_ms: Some(1) };
    assert_eq!(codes(&lobby.message(ConnId(3), forged, 0)), vec![ErrorCode::NotInProbe]);
    assert_eq!(lobby.probe_of(ConnId(1)), Some(&probe), "the refused report changed nothing");
}

#[test]
fn the_waiting_room_timeout_waits_for_a_running_probe() {
    let mut lobby = lobby_with(|c| {
        c.matchmaking.max_p2p_rtt_ms = Some(100);
        c.waiting_room.timeout_ms = 5_000;
    });
    join(&mut lobby, 1, "a");
    lobby.connected(ConnId(2));
    let probe = proposals(&lobby.message(ConnId(2), hello("b"), 4_000))[0].1.clone();
    let timed_out = |actions: &[Action]| {
        actions.iter().filter(|a| matches!(a, Action::Send(_, ServerMsg::Exit { .. }))).count()
    };
    assert_eq!(timed_out(&lobby.tick(6_000)), 0, "a is in a probe");
    let out = result(&mut lobby, 1, &probe, Some(500));
    assert!(game_of_pair(&out).is_empty());
    assert_eq!(timed_out(&lobby.tick(6_500)), 1, "after the probe a times out; b has time left");
}

#[test]
fn the_probe_follows_the_matchmakers_ranking() {
    let mut lobby = lobby_with(|c| {
        c.matchmaking.kind = rollgym_protocol::MatchmakerKind::LatencyFifo;
        c.matchmaking.max_server_rtt_ms = 100;
        c.matchmaking.max_p2p_rtt_ms = Some(80);
    });
    for (conn, rtt) in [(1, 300), (2, 20)] {
        lobby.connected(ConnId(conn));
        lobby.rtt_sample(ConnId(conn), rtt);
    }
    lobby.message(ConnId(1), hello("slow"), 0);
    assert!(proposals(&lobby.message(ConnId(2), hello("fast"), 0)).is_empty(), "not ranked");
    let out = join(&mut lobby, 3, "unknown-rtt");
    assert_eq!(
        out.iter().filter(|a| matches!(a, Action::Send(_, ServerMsg::Probe { .. }))).count(),
        2
    );
    assert_eq!(proposals(&out)[0].0, 1, "unknown round trips are not excluded; FIFO order");
}

/// Drives many participants through arrivals, reports, timeouts and departures, checking
/// after every step that nobody is ever asked into a second probe before the first ended.
#[test]
fn no_participant_is_ever_in_two_probes() {
    let mut lobby = probing_lobby(50);
    let mut open: HashMap<u64, ProbeId> = HashMap::new();
    let mut matched = 0;
    let mut check = |actions: &[Action], open: &mut HashMap<u64, ProbeId>| {
        for action in actions {
            match action {
                Action::Send(c, ServerMsg::Probe { probe_id, .. }) => {
                    assert!(open.insert(c.0, probe_id.clone()).is_none(), "{} in two probes", c.0);
                }
                Action::Send(c, ServerMsg::ProbeEnd { probe_id }) => {
                    assert_eq!(open.remove(&c.0).as_ref(), Some(probe_id));
                }
                Action::Send(c, ServerMsg::Paired { .. }) => {
                    assert!(!open.contains_key(&c.0));
                    matched += 1;
                }
                _ => {}
            }
        }
    };
    let mut now = 0;
    for conn in 0..24u64 {
        now += 300;
        lobby.connected(ConnId(conn));
        let out = lobby.message(ConnId(conn), hello(&format!("p{conn}")), now);
        check(&out, &mut open);
        // Every third arrival, each open probe gets a report: fast, slow or failed by turns.
        if conn % 3 == 2 {
            let reports: Vec<(u64, ProbeId)> = open.iter().map(|(c, p)| (*c, p.clone())).collect();
            for (i, (c, p)) in reports.into_iter().enumerate() {
                let rtt = [Some(20), Some(200), None][(i + conn as usize) % 3];
                let msg = ClientMsg::ProbeResult { probe_id: p, rtt_ms: rtt };
                let out = lobby.message(ConnId(c), msg, now);
                check(&out, &mut open);
            }
        }
        if conn % 7 == 6 {
            open.remove(&(conn - 1));
            let out = lobby.disconnected(ConnId(conn - 1), now);
            check(&out, &mut open);
        }
    }
    let out = lobby.tick(now + PROBE_TIMEOUT_MS);
    check(&out, &mut open);
    assert!(matched >= 8, "some pairs were matched ({matched} participants)");
    for (conn, probe) in &open {
        assert_eq!(lobby.probe_of(ConnId(*conn)), Some(probe), "the lobby agrees");
    }
}

/// A scene of groups of three that probes.
fn probing_trio() -> Lobby {
    lobby_with(|c| {
        c.matchmaking.max_p2p_rtt_ms = Some(100);
        c.matchmaking.group_size = 3;
        c.game.layout = "wide_room_3".into();
    })
}

/// The pair a probe proposal in `actions` is for, as connection numbers, and its id.
fn proposed_pair(actions: &[Action]) -> Option<([u64; 2], ProbeId)> {
    let proposed = proposals(actions);
    match &proposed[..] {
        [(a, id, _, true), (b, _, _, false)] => Some(([*a, *b], id.clone())),
        _ => None,
    }
}

#[test]
fn a_group_is_matched_once_every_pair_of_it_passed_its_probe() {
    let mut lobby = probing_trio();
    join(&mut lobby, 1, "a");
    join(&mut lobby, 2, "b");
    let mut out = join(&mut lobby, 3, "c");
    let mut probed = Vec::new();
    while let Some((pair, probe)) = proposed_pair(&out) {
        assert!(game_of_pair(&out).is_empty(), "no game before every pair passed");
        probed.push([pair[0].min(pair[1]), pair[0].max(pair[1])]);
        out = result(&mut lobby, pair[0], &probe, Some(40 + probed.len() as u32));
    }
    probed.sort_unstable();
    assert_eq!(probed, vec![[1, 2], [1, 3], [2, 3]], "each pair once");
    let mut grouped = game_of_pair(&out);
    grouped.sort_unstable();
    let (conns, indices): (Vec<u64>, Vec<u8>) = grouped.into_iter().unzip();
    assert_eq!(conns, vec![1, 2, 3]);
    let mut indices = indices;
    indices.sort_unstable();
    assert_eq!(indices, vec![0, 1, 2]);
    let match_log = logged(&out, "match");
    assert_eq!(match_log[0]["probe"]["p2p_rtt_ms"], 43, "the slowest pair's probe");
    assert_eq!(lobby.waiting_count(), 0);
}

#[test]
fn a_pair_that_fails_its_probe_keeps_its_group_apart_and_a_newcomer_completes_another() {
    let mut lobby = probing_trio();
    join(&mut lobby, 1, "a");
    join(&mut lobby, 2, "b");
    let out = join(&mut lobby, 3, "c");
    let (pair, probe) = proposed_pair(&out).expect("the first pair is probed");
    assert_eq!(pair, [1, 2]);
    let out = result(&mut lobby, 1, &probe, Some(500));
    assert!(
        proposed_pair(&out).is_none() && game_of_pair(&out).is_empty(),
        "a and b never together"
    );
    let mut out = join(&mut lobby, 4, "d");
    let mut rounds = 0;
    while let Some((pair, probe)) = proposed_pair(&out) {
        assert!(pair != [1, 2] && pair != [2, 1]);
        out = result(&mut lobby, pair[0], &probe, Some(50));
        rounds += 1;
        assert!(rounds < 10, "probing ends");
    }
    let grouped: Vec<u64> = game_of_pair(&out).into_iter().map(|(c, _)| c).collect();
    assert_eq!(grouped.len(), 3, "{out:?}");
    assert!(!(grouped.contains(&1) && grouped.contains(&2)), "{grouped:?}");
    assert_eq!(lobby.waiting_count(), 1);
}
