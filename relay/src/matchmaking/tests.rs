//! The rules of each matchmaker, one case per test.

use super::*;

fn c(id: &str, rtt: Option<u32>) -> Candidate {
    Candidate {
        participant: ParticipantId::parse(id).expect("id"),
        rtt_ms: rtt,
        previous_partners: Vec::new(),
    }
}

fn with_history(id: &str, partners: &[&str]) -> Candidate {
    Candidate {
        previous_partners: partners.iter().map(|p| ParticipantId::parse(p).expect("id")).collect(),
        ..c(id, None)
    }
}

fn ids(group: Option<Vec<Candidate>>) -> Option<Vec<String>> {
    group.map(|g| g.into_iter().map(|c| c.participant.to_string()).collect())
}

const LATENCY: LatencyFifo = LatencyFifo { max_server_rtt_ms: 200 };

#[test]
fn fifo_takes_the_longest_waiting() {
    let waiting = [c("w1", None), c("w2", None)];
    assert_eq!(
        ids(Fifo.find_match(&c("a", None), &waiting, 2)),
        Some(vec!["w1".into(), "a".into()])
    );
}

#[test]
fn fifo_waits_until_the_group_is_complete() {
    assert_eq!(Fifo.find_match(&c("a", None), &[], 2), None);
    assert_eq!(Fifo.find_match(&c("a", None), &[c("w1", None)], 3), None);
}

#[test]
fn fifo_forms_groups_of_three() {
    let waiting = [c("w1", None), c("w2", None), c("w3", None)];
    assert_eq!(
        ids(Fifo.find_match(&c("a", None), &waiting, 3)),
        Some(vec!["w1".into(), "w2".into(), "a".into()])
    );
}

#[test]
fn latency_fifo_pairs_within_the_threshold() {
    let waiting = [c("w1", Some(80))];
    assert_eq!(
        ids(LATENCY.find_match(&c("a", Some(100)), &waiting, 2)),
        Some(vec!["w1".into(), "a".into()])
    );
}

#[test]
fn latency_fifo_refuses_over_the_threshold() {
    let waiting = [c("w1", Some(150))];
    assert_eq!(LATENCY.find_match(&c("a", Some(100)), &waiting, 2), None);
}

#[test]
fn latency_fifo_boundary_is_inclusive() {
    let waiting = [c("w1", Some(100))];
    assert!(LATENCY.find_match(&c("a", Some(100)), &waiting, 2).is_some());
    let waiting = [c("w1", Some(101))];
    assert!(LATENCY.find_match(&c("a", Some(100)), &waiting, 2).is_none());
}

#[test]
fn latency_fifo_picks_the_eligible_candidate() {
    let waiting = [c("far", Some(500)), c("near", Some(20)), c("also-near", Some(30))];
    assert_eq!(
        ids(LATENCY.find_match(&c("a", Some(50)), &waiting, 2)),
        Some(vec!["near".into(), "a".into()])
    );
}

#[test]
fn latency_fifo_finds_none_when_all_are_filtered() {
    let waiting = [c("far1", Some(400)), c("far2", Some(300))];
    assert_eq!(LATENCY.find_match(&c("a", Some(50)), &waiting, 2), None);
    assert!(LATENCY.rank_candidates(&c("a", Some(50)), &waiting, 2).is_empty());
}

#[test]
fn latency_fifo_does_not_exclude_unknown_round_trips() {
    let waiting = [c("unknown", None)];
    assert!(LATENCY.find_match(&c("a", Some(190)), &waiting, 2).is_some(), "unknown waiting side");
    let waiting = [c("slow", Some(190))];
    assert!(LATENCY.find_match(&c("a", None), &waiting, 2).is_some(), "unknown arriving side");
}

#[test]
fn latency_fifo_keeps_fifo_order_among_the_eligible() {
    let waiting = [c("first", Some(10)), c("second", Some(10)), c("third", Some(10))];
    let ranked: Vec<String> = LATENCY
        .rank_candidates(&c("a", Some(10)), &waiting, 2)
        .into_iter()
        .map(|c| c.participant.to_string())
        .collect();
    assert_eq!(ranked, ["first", "second", "third"]);
}

#[test]
fn latency_fifo_forms_groups_of_three_from_eligible_participants() {
    let waiting = [c("w1", Some(10)), c("far", Some(900)), c("w2", Some(10))];
    assert_eq!(
        ids(LATENCY.find_match(&c("a", Some(10)), &waiting, 3)),
        Some(vec!["w1".into(), "w2".into(), "a".into()])
    );
}

#[test]
fn reunion_prefers_a_previous_partner() {
    let reunion = GroupReunion { fallback_to_fifo: true };
    let waiting = [c("stranger", None), c("old-friend", None)];
    let arriving = with_history("a", &["old-friend"]);
    assert_eq!(
        ids(reunion.find_match(&arriving, &waiting, 2)),
        Some(vec!["old-friend".into(), "a".into()])
    );
}

#[test]
fn reunion_works_in_reverse() {
    let reunion = GroupReunion { fallback_to_fifo: true };
    let waiting = [c("stranger", None), with_history("remembers-a", &["a"])];
    assert_eq!(
        ids(reunion.find_match(&c("a", None), &waiting, 2)),
        Some(vec!["remembers-a".into(), "a".into()])
    );
}

#[test]
fn reunion_falls_back_to_fifo_only_when_allowed() {
    let waiting = [c("stranger", None)];
    let arriving = with_history("a", &["gone"]);
    assert_eq!(
        ids(GroupReunion { fallback_to_fifo: true }.find_match(&arriving, &waiting, 2)),
        Some(vec!["stranger".into(), "a".into()])
    );
    assert_eq!(GroupReunion { fallback_to_fifo: false }.find_match(&arriving, &waiting, 2), None);
}

#[test]
fn reunion_ranks_partners_first() {
    let reunion = GroupReunion { fallback_to_fifo: true };
    let waiting = [c("s1", None), c("friend", None), c("s2", None)];
    let ranked: Vec<String> = reunion
        .rank_candidates(&with_history("a", &["friend"]), &waiting, 2)
        .into_iter()
        .map(|c| c.participant.to_string())
        .collect();
    assert_eq!(ranked, ["friend", "s1", "s2"]);
}

#[test]
fn latency_fifo_keeps_every_pair_of_a_group_within_the_threshold() {
    // "mid" is close enough to "a" but not to "w1": the group skips it.
    let waiting = [c("w1", Some(10)), c("mid", Some(195)), c("w2", Some(50))];
    let latency = LatencyFifo { max_server_rtt_ms: 200 };
    assert_eq!(
        ids(latency.find_match(&c("a", Some(5)), &waiting, 3)),
        Some(vec!["w1".into(), "w2".into(), "a".into()])
    );
    assert_eq!(latency.find_match(&c("a", Some(5)), &waiting[..2], 3), None);
}

#[test]
fn reunion_regroups_previous_partners_and_fills_up_only_when_allowed() {
    let waiting = [c("s1", None), c("b", None), with_history("c", &["a"])];
    let arriving = with_history("a", &["b", "gone"]);
    for fallback_to_fifo in [true, false] {
        assert_eq!(
            ids(GroupReunion { fallback_to_fifo }.find_match(&arriving, &waiting, 3)),
            Some(vec!["b".into(), "c".into(), "a".into()])
        );
    }
    let one_friend = [c("s1", None), c("b", None), c("s2", None)];
    assert_eq!(
        ids(GroupReunion { fallback_to_fifo: true }.find_match(&arriving, &one_friend, 3)),
        Some(vec!["b".into(), "s1".into(), "a".into()])
    );
    assert_eq!(
        GroupReunion { fallback_to_fifo: false }.find_match(&arriving, &one_friend, 3),
        None
    );
}
