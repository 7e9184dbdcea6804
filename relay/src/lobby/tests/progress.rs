//! Participants coming back: after a dropped connection, a reload, or a relay restart.

use rollgym_protocol::{EnvStamp, MatchLogRecord, UnstartedReason};

use super::*;

fn recorded(actions: &[Action]) -> Vec<(String, Progress)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::RecordProgress { participant, progress } => {
                Some((participant.to_string(), *progress))
            }
            _ => None,
        })
        .collect()
}

/// The match-log lines in `actions` as a restarted relay reads them back.
pub(super) fn decisions(actions: &[Action]) -> Vec<MatchLogRecord> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::LogMatch(record) => {
                let line = serde_json::to_string(record).ok()?;
                MatchLogRecord::parse(&line).ok()
            }
            _ => None,
        })
        .collect()
}

fn rejoin(lobby: &mut Lobby, conn: u64, id: &str) -> Vec<Action> {
    lobby.connected(ConnId(conn));
    let hello = ClientMsg::Hello {
        protocol_version: PROTOCOL_VERSION,
        participant_id: Some(ParticipantId::parse(id).expect("valid")),
        rejoin: true,
    };
    lobby.message(ConnId(conn), hello, 50_000)
}

/// a (conn 1) and b (conn 2) through the welcome page into round 1, playing.
fn playing_round1(lobby: &mut Lobby) -> Vec<Action> {
    let mut actions = Vec::new();
    for (conn, id) in [(1, "a"), (2, "b")] {
        actions.extend(join(lobby, conn, id));
        actions.extend(lobby.message(ConnId(conn), ClientMsg::Advance { from: 0 }, 0));
    }
    let game = lobby.game_of(ConnId(1)).expect("paired").clone();
    for c in [1, 2] {
        actions.extend(lobby.message(
            ConnId(c),
            ClientMsg::Validated { game_id: game.clone(), env: None, rtt_ms: None },
            0,
        ));
    }
    actions.extend(lobby.tick(10_000));
    actions
}

#[test]
fn progress_is_recorded_when_it_changes_and_not_for_the_first_scene() {
    let mut lobby = scenes_lobby(false);
    assert!(recorded(&join(&mut lobby, 1, "a")).is_empty(), "everyone starts in scene 0");
    let out = lobby.message(ConnId(1), ClientMsg::Advance { from: 0 }, 0);
    assert_eq!(recorded(&out), [("a".into(), Progress { scene: 1, played: false })]);
    join(&mut lobby, 2, "b");
    let out = lobby.message(ConnId(2), ClientMsg::Advance { from: 0 }, 0);
    let game = lobby.game_of(ConnId(1)).expect("paired").clone();
    assert!(recorded(&out).iter().all(|(_, p)| !p.played), "matched is not played");
    for c in [1, 2] {
        lobby.message(
            ConnId(c),
            ClientMsg::Validated { game_id: game.clone(), env: None, rtt_ms: None },
            0,
        );
    }
    let out = lobby.tick(10_000);
    let played = Progress { scene: 1, played: true };
    assert_eq!(recorded(&out), [("a".into(), played), ("b".into(), played)]);
}

#[test]
fn a_reload_shows_a_static_scene_or_a_waiting_room_again() {
    let mut lobby = scenes_lobby(false);
    join(&mut lobby, 1, "a");
    lobby.disconnected(ConnId(1), 0);
    assert_eq!(scene_of(&join(&mut lobby, 2, "a"), 2), Some(0), "the welcome page again");
    lobby.message(ConnId(2), ClientMsg::Advance { from: 0 }, 0);
    lobby.disconnected(ConnId(2), 0);
    let out = join(&mut lobby, 3, "a");
    assert_eq!(scene_of(&out, 3), Some(1), "round 1, not the welcome page");
    assert_eq!(lobby.waiting_count(), 1, "in round 1's waiting room");
}

#[test]
fn a_participant_rejoining_during_its_game_can_go_on_to_the_next_scene() {
    let mut lobby = scenes_lobby(false);
    playing_round1(&mut lobby);
    // a's relay connection drops mid-game; the game goes on peer to peer.
    lobby.disconnected(ConnId(1), 20_000);
    let back = rejoin(&mut lobby, 3, "a");
    assert_eq!(scene_of(&back, 3), None, "nothing shown: the page still plays");
    assert_eq!(lobby.waiting_count(), 0, "not put in a waiting room");
    let out = lobby.message(ConnId(3), ClientMsg::Advance { from: 1 }, 60_000);
    assert_eq!(scene_of(&out, 3), Some(2), "round 2 follows the game");
}

#[test]
fn after_a_relay_restart_progress_is_read_back() {
    let mut before = scenes_lobby(false);
    let journal = recorded(&playing_round1(&mut before));
    let mut after = scenes_lobby(false);
    after.restore_progress(
        journal.into_iter().map(|(id, p)| (ParticipantId::parse(&id).expect("id"), p)),
    );
    // a comes back to deliver data and finish its game, then moves on.
    rejoin(&mut after, 1, "a");
    let out = after.message(ConnId(1), ClientMsg::Advance { from: 1 }, 60_000);
    assert_eq!(scene_of(&out, 1), Some(2));
    // b reloaded its page: its game cannot be resumed, so round 2 it is.
    assert_eq!(scene_of(&join(&mut after, 2, "b"), 2), Some(2));
    // A stranger claiming to rejoin started no game: it starts at the beginning and cannot
    // skip a game.
    assert_eq!(scene_of(&rejoin(&mut after, 3, "stranger"), 3), Some(0));
    let out = after.message(ConnId(3), ClientMsg::Advance { from: 1 }, 60_000);
    assert_eq!(codes(&out), vec![ErrorCode::WrongScene]);
}

#[test]
fn group_reunion_remembers_partners_across_a_restart() {
    let mut before = scenes_lobby(true);
    let actions = playing_round1(&mut before);
    let decisions = decisions(&actions);
    let journal = recorded(&actions);
    let mut after = scenes_lobby(true);
    after.restore_progress(
        journal.into_iter().map(|(id, p)| (ParticipantId::parse(&id).expect("id"), p)),
    );
    after.restore_decisions(decisions);
    // Both come back to finish round 1, then round 2 (reunion, no fallback) pairs them again.
    rejoin(&mut after, 1, "a");
    rejoin(&mut after, 2, "b");
    after.message(ConnId(1), ClientMsg::Advance { from: 1 }, 60_000);
    let out = after.message(ConnId(2), ClientMsg::Advance { from: 1 }, 60_000);
    assert_eq!(game_of_pair(&out), vec![(1, 0), (2, 1)]);
}

#[test]
fn coming_back_after_the_last_game_is_a_thank_you_not_a_new_game() {
    let mut lobby = lobby();
    let game = start_playing(&mut lobby);
    lobby.disconnected(ConnId(1), 70_000);
    let out = join(&mut lobby, 3, "a");
    assert!(matches!(&out[0], Action::Send(ConnId(3), ServerMsg::Welcome { .. })), "welcomed");
    assert_eq!(codes(&out), vec![ErrorCode::AlreadyFinished]);
    assert!(!out.iter().any(|a| matches!(a, Action::Close(_))), "kept open for its data");
    assert_eq!(lobby.waiting_count(), 0);
    let upload = lobby.message(ConnId(3), upload("a", game.as_str(), "overcooked"), 70_000);
    assert!(matches!(&upload[..], [Action::Store { conn: ConnId(3), .. }]), "its data is taken");
}

#[test]
fn progress_past_the_experiments_scenes_counts_as_finished() {
    let mut lobby = lobby();
    lobby.restore_progress([(
        ParticipantId::parse("a").expect("id"),
        Progress { scene: 7, played: false },
    )]);
    assert_eq!(codes(&join(&mut lobby, 1, "a")), vec![ErrorCode::AlreadyFinished]);
}

#[test]
fn rejoining_before_the_game_started_goes_back_to_the_waiting_room() {
    // The relay restarted during the countdown: the game it was validating is gone.
    let mut before = scenes_lobby(false);
    let mut journal = Vec::new();
    for (conn, id) in [(1, "a"), (2, "b")] {
        journal.extend(recorded(&join(&mut before, conn, id)));
        journal.extend(recorded(&before.message(ConnId(conn), ClientMsg::Advance { from: 0 }, 0)));
    }
    assert!(before.game_of(ConnId(1)).is_some(), "matched, not started");
    let mut after = scenes_lobby(false);
    after.restore_progress(
        journal.into_iter().map(|(id, p)| (ParticipantId::parse(&id).expect("id"), p)),
    );
    assert_eq!(scene_of(&rejoin(&mut after, 1, "a"), 1), Some(1), "round 1's waiting room");
    let out = rejoin(&mut after, 2, "b");
    assert_eq!(game_of_pair(&out), vec![(1, 0), (2, 1)], "matched again");
}

#[test]
fn pairs_that_failed_are_still_kept_apart_after_a_restart() {
    let mut before = lobby();
    let mut log = Vec::new();
    // a and b never validate their connection: the game is logged as unstarted.
    log.extend(join(&mut before, 1, "a"));
    log.extend(join(&mut before, 2, "b"));
    log.extend(before.tick(VALIDATION_TIMEOUT_MS + 1));
    let unstarted = |log: &[Action]| -> Vec<UnstartedReason> {
        decisions(log)
            .into_iter()
            .filter_map(|d| match d {
                MatchLogRecord::Unstarted { reason, .. } => Some(reason),
                _ => None,
            })
            .collect()
    };
    assert_eq!(unstarted(&log), [UnstartedReason::NotValidated]);
    // A partner leaving before the start is logged too, but rejects nobody.
    log.extend(join(&mut before, 3, "c"));
    log.extend(join(&mut before, 4, "d"));
    log.extend(before.disconnected(ConnId(4), VALIDATION_TIMEOUT_MS + 2));
    assert_eq!(unstarted(&log), [UnstartedReason::NotValidated, UnstartedReason::PartnerLeft]);

    let mut after = lobby();
    after.restore_decisions(decisions(&log));
    join(&mut after, 1, "a");
    assert!(game_of_pair(&join(&mut after, 2, "b")).is_empty(), "a-b failed before");
    assert_eq!(game_of_pair(&join(&mut after, 3, "d")), vec![(1, 0), (3, 1)], "a-d may");
}

#[test]
fn pairs_stopped_for_different_environments_stay_apart_after_a_restart() {
    let mut before = lobby();
    let mut log = Vec::new();
    log.extend(join(&mut before, 1, "a"));
    log.extend(join(&mut before, 2, "b"));
    let game = before.game_of(ConnId(1)).expect("paired").clone();
    for (conn, version) in [(1, "1"), (2, "2")] {
        let env = Some(EnvStamp { name: "coins".into(), version: version.into() });
        let msg = ClientMsg::Validated { game_id: game.clone(), env, rtt_ms: None };
        log.extend(before.message(ConnId(conn), msg, 100));
    }
    let mut after = lobby();
    after.restore_decisions(decisions(&log));
    join(&mut after, 1, "a");
    assert!(game_of_pair(&join(&mut after, 2, "b")).is_empty(), "a-b ran different versions");
    assert_eq!(game_of_pair(&join(&mut after, 3, "c")), vec![(1, 0), (3, 1)]);
}

#[test]
fn a_wait_interrupted_by_a_lost_connection_goes_on_from_the_first_arrival() {
    let mut lobby = lobby_with(|c| c.waiting_room.timeout_ms = 10_000);
    lobby.connected(ConnId(1));
    lobby.message(ConnId(1), hello("a"), 1_000);
    lobby.disconnected(ConnId(1), 8_000);
    lobby.connected(ConnId(2));
    lobby.message(ConnId(2), hello("a"), 9_000);
    let timed_out = |actions: &[Action]| {
        actions.iter().any(|a| matches!(a, Action::Send(_, ServerMsg::Exit { .. })))
    };
    assert!(!timed_out(&lobby.tick(10_999)));
    assert!(timed_out(&lobby.tick(11_000)), "10 s after the first arrival, not after the return");
}
