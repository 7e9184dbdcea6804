//! The study switch and the funnel: a closed study turns newcomers away and lets everyone
//! already in carry on; the switch survives a restart; the funnel counts what happened.

use rollgym_protocol::{AdminAction, AdminRecord, OutcomeName};

use super::*;
use crate::lobby::AdminCommand;

fn set_open(lobby: &mut Lobby, open: bool) -> Vec<Action> {
    lobby.admin(AdminCommand::SetOpen { open, reason: "test".into() }, 0).expect("switch")
}

fn closed_exit(actions: &[Action]) -> bool {
    actions.iter().any(|a| {
        matches!(a, Action::Send(_, ServerMsg::Exit { outcome, .. }) if outcome == OutcomeName::StudyClosed.as_str())
    })
}

#[test]
fn a_closed_study_turns_newcomers_away_and_lets_those_in_carry_on() {
    let mut lobby = lobby();
    join(&mut lobby, 1, "early");
    let logged = set_open(&mut lobby, false);
    assert!(matches!(
        &logged[..],
        [Action::LogAdmin(AdminRecord { action: AdminAction::CloseStudy, .. })]
    ));
    assert!(!lobby.snapshot(0).funnel.open);
    let late = join(&mut lobby, 2, "late");
    assert!(closed_exit(&late), "{late:?}");
    assert!(game_of_pair(&late).is_empty(), "not matched");
    // The early one reloads: still in, and is matched with the next one already in.
    lobby.disconnected(ConnId(1), 10);
    let back = join(&mut lobby, 3, "early");
    assert!(!closed_exit(&back));
    set_open(&mut lobby, true);
    lobby.disconnected(ConnId(2), 20);
    let paired = game_of_pair(&join(&mut lobby, 4, "late"));
    assert_eq!(paired.len(), 2, "reopened: the newcomer is let in and matched");
}

#[test]
fn the_switch_survives_a_restart() {
    let mut lobby = lobby();
    lobby.restore_admin([
        AdminRecord { time_ms: 1, ..AdminRecord::new(AdminAction::CloseStudy, String::new()) },
        AdminRecord { time_ms: 2, ..AdminRecord::new(AdminAction::ReopenStudy, String::new()) },
        AdminRecord { time_ms: 3, ..AdminRecord::new(AdminAction::CloseStudy, String::new()) },
    ]);
    assert!(closed_exit(&join(&mut lobby, 1, "new")));
}

#[test]
fn the_funnel_counts_arrivals_matches_starts_and_waits() {
    let mut lobby = lobby();
    join(&mut lobby, 1, "a");
    lobby.connected(ConnId(2));
    lobby.message(ConnId(2), hello("b"), 400);
    let funnel = lobby.snapshot(0).funnel;
    assert_eq!((funnel.arrived, funnel.matched, funnel.waiting), (2, 2, 0));
    assert_eq!(funnel.wait_p90_ms, Some(400), "a waited 400 ms, b none");
    assert!(funnel.open);
    join(&mut lobby, 3, "c");
    assert_eq!(lobby.snapshot(0).funnel.waiting, 1);
}

fn report(participant: &str, message: &str) -> rollgym_protocol::ClientErrorRecord {
    rollgym_protocol::ClientErrorRecord {
        participant_id: ParticipantId::parse(participant).expect("id"),
        kind: rollgym_protocol::ClientErrorKind::Error,
        message: message.into(),
        source: None,
        time_ms: 5,
    }
}

#[test]
fn client_errors_are_kept_from_known_participants_bounded_and_rate_limited() {
    use crate::lobby::{REPORTS_PER_MINUTE, ReportRefused};
    let mut lobby = lobby();
    assert_eq!(
        lobby.client_error(report("stranger", "x"), 0),
        Err(ReportRefused::UnknownParticipant)
    );
    join(&mut lobby, 1, "a");
    let long = "é".repeat(5000);
    let kept = lobby.client_error(report("a", &long), 0).expect("kept");
    let [Action::LogClientError(record)] = &kept[..] else { panic!("one journal line: {kept:?}") };
    assert_eq!(record.message.chars().count(), rollgym_protocol::MAX_CLIENT_ERROR_CHARS);
    for _ in 1..REPORTS_PER_MINUTE {
        assert!(lobby.client_error(report("a", "again"), 1000).is_ok());
    }
    assert_eq!(lobby.client_error(report("a", "more"), 2000), Err(ReportRefused::TooMany));
    assert!(lobby.client_error(report("a", "a minute later"), 60_000).is_ok());
    let problems = lobby.snapshot(0).problems;
    assert_eq!(problems.client_errors, REPORTS_PER_MINUTE as usize + 1);
    assert_eq!(
        problems.recent_client_errors.last().map(|r| r.message.as_str()),
        Some("a minute later")
    );
}

#[test]
fn the_completion_rate_counts_participants_not_games() {
    let mut lobby = lobby();
    join(&mut lobby, 1, "a");
    join(&mut lobby, 2, "b");
    let id = |s: &str| ParticipantId::parse(s).expect("id");
    let game = |s: &str| GameId::parse(s).expect("id");
    // a completed two games, b one that its partner left.
    lobby.tally_outcome(&id("a"), &game("g1"), rollgym_protocol::Outcome::Complete);
    lobby.tally_outcome(&id("a"), &game("g2"), rollgym_protocol::Outcome::Complete);
    lobby.tally_outcome(&id("b"), &game("g1"), rollgym_protocol::Outcome::PartnerDisconnected);
    let funnel = lobby.snapshot(0).funnel;
    assert_eq!(funnel.outcomes.get("complete"), Some(&2), "participant-games");
    assert_eq!(funnel.completed, 1);
    assert_eq!(funnel.completion_rate, Some(0.5));
}
