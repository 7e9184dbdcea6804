//! What the admin console sees and does: the participants table and timelines, running games'
//! health and flags, problems, ending a game and excluding a participant.

use rollgym_protocol::{AdminAction, AdminRecord, GameHealth, OutcomeName};

use super::*;
use crate::lobby::{AdminCommand, AdminError, Flag, UNHEALTHY_PROBLEM_MS};

fn health(game: &GameId, rtt_ms: u32, rollbacks: u64, desyncs: u32) -> ClientMsg {
    ClientMsg::Health(Box::new(GameHealth {
        game_id: game.clone(),
        rtt_ms: Some(rtt_ms),
        connection: Some("host".into()),
        rollbacks,
        frame: 100,
        confirmed_frame: 98,
        episode: 0,
        desyncs,
        stalled: false,
        pending_uploads: 1,
    }))
}

fn exits(actions: &[Action]) -> Vec<(u64, String, String)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(conn, ServerMsg::Exit { outcome, message, .. }) => {
                Some((conn.0, outcome.clone(), message.clone()))
            }
            _ => None,
        })
        .collect()
}

fn id(raw: &str) -> ParticipantId {
    ParticipantId::parse(raw).expect("id")
}

#[test]
fn the_table_and_timeline_follow_a_participant_from_arrival_to_leaving() {
    let mut lobby = lobby();
    let game = start_playing(&mut lobby);
    lobby.disconnected(ConnId(2), 70_000);
    let a = lobby.participant(&id("a")).expect("seen");
    let phases: Vec<&str> = a.timeline.iter().map(|s| s.place.phase).collect();
    assert_eq!(phases, ["waiting", "matched", "playing", "partner_gone"]);
    assert_eq!(a.timeline[2].at_ms, 60_000, "playing since the start");
    assert_eq!(a.timeline[1].place.game.as_ref(), Some(&game));
    let b = lobby.participant(&id("b")).expect("seen");
    assert_eq!(b.row.place.phase, "offline");
    assert_eq!(b.row.since_ms, 70_000);
    let rows = lobby.snapshot(80_000).participants;
    assert_eq!(rows.len(), 2);
    assert!(lobby.participant(&id("stranger")).is_none());
}

#[test]
fn a_games_health_flags_it_and_a_long_spell_is_a_problem() {
    let mut lobby = lobby();
    let game = start_playing(&mut lobby);
    for conn in [1, 2] {
        lobby.message(ConnId(conn), health(&game, 40, 0, 0), 61_000);
    }
    let row = &lobby.snapshot(61_000).games[0];
    assert_eq!((row.flag, row.health.len()), (Flag::Healthy, 2));
    // A slow link from 63 s: degraded, a problem once it lasted long enough.
    lobby.message(ConnId(1), health(&game, 220, 0, 0), 63_000);
    let snapshot = lobby.snapshot(63_500);
    assert_eq!(snapshot.games[0].flag, Flag::Degraded);
    assert_eq!(snapshot.games[0].reasons, ["slow_link"]);
    assert!(snapshot.problems.items.is_empty(), "not long enough yet");
    let later = lobby.snapshot(63_000 + UNHEALTHY_PROBLEM_MS);
    assert_eq!(later.problems.items[0].kind, "unhealthy_game");
    assert_eq!(later.problems.items[0].game.as_ref(), Some(&game));
    // Rollbacks are a rate between reports; a desync makes it failing.
    lobby.message(ConnId(2), health(&game, 40, 30, 1), 65_000);
    let row = &lobby.snapshot(65_000).games[0];
    assert_eq!(row.flag, Flag::Failing);
    assert_eq!(row.reasons, ["desync", "rollbacks", "slow_link"]);
    assert_eq!(lobby.participant(&id("b")).expect("seen").row.pending_uploads, Some(1));
}

#[test]
fn a_page_that_stops_reporting_fails_its_game_and_strangers_reports_are_refused() {
    let mut lobby = lobby();
    let game = start_playing(&mut lobby);
    lobby.message(ConnId(1), health(&game, 40, 0, 0), 61_000);
    let row = &lobby.snapshot(61_000 + crate::lobby::SILENT_AFTER_MS + 1).games[0];
    assert_eq!((row.flag, row.reasons.clone()), (Flag::Failing, vec!["silent"]));
    let other = GameId::parse("someone-elses").expect("id");
    assert_eq!(codes(&lobby.message(ConnId(1), health(&other, 40, 0, 0), 62_000)).len(), 1);
    let mut impossible = health(&game, 40, 0, 0);
    if let ClientMsg::Health(report) = &mut impossible {
        report.confirmed_frame = 500;
    }
    assert_eq!(codes(&lobby.message(ConnId(1), impossible, 62_000)).len(), 1);
}

#[test]
fn ending_a_game_sends_both_players_the_exit_and_books_it() {
    let mut lobby = lobby();
    let game = start_playing(&mut lobby);
    let command = AdminCommand::EndGame { game_id: game.clone(), reason: "frozen".into() };
    let actions = lobby.admin(command, 70_000).expect("ended");
    let ended = exits(&actions);
    assert_eq!(ended.len(), 2);
    assert!(ended.iter().all(|(_, outcome, message)| {
        outcome == OutcomeName::EndedByResearcher.as_str() && !message.is_empty()
    }));
    assert!(actions.iter().any(|a| matches!(a, Action::LogAdmin(AdminRecord { action: AdminAction::EndGame, game_id: Some(g), reason, .. }) if *g == game && reason == "frozen")));
    let snapshot = lobby.snapshot(70_000);
    assert!(snapshot.games.is_empty());
    assert_eq!(snapshot.finished_games[0].id, game);
    assert_eq!(snapshot.finished_games[0].ended_ms - snapshot.finished_games[0].started_ms, 10_000);
    assert_eq!(lobby.participant(&id("a")).expect("seen").row.place.phase, "exited");
    let again =
        lobby.admin(AdminCommand::EndGame { game_id: game.clone(), reason: String::new() }, 71_000);
    assert_eq!(again, Err(AdminError::UnknownGame(game)));
}

#[test]
fn an_excluded_participant_ends_its_game_and_is_turned_away_for_good() {
    let mut lobby = lobby();
    start_playing(&mut lobby);
    let command = AdminCommand::Exclude {
        participant: id("a"),
        message: "You were excluded for not playing.".into(),
        reason: "idle".into(),
    };
    let actions = lobby.admin(command, 70_000).expect("excluded");
    let mut sent = exits(&actions);
    sent.sort();
    assert_eq!(sent[0], (1, "excluded".into(), "You were excluded for not playing.".into()));
    assert_eq!(sent[1].1, OutcomeName::PartnerExcluded.as_str());
    let logged = actions.iter().find_map(|a| match a {
        Action::LogAdmin(record) => Some(record.clone()),
        _ => None,
    });
    let logged = logged.expect("journaled");
    // Back with a new page: turned away with the same message; also after a restart.
    lobby.disconnected(ConnId(1), 71_000);
    let back = exits(&join(&mut lobby, 3, "a"));
    assert_eq!(back, vec![(3, "excluded".into(), "You were excluded for not playing.".into())]);
    let mut restarted = super::lobby();
    restarted.restore_admin([logged]);
    let back = exits(&join(&mut restarted, 1, "a"));
    assert_eq!(back[0].1, "excluded");
    let stranger = AdminCommand::Exclude {
        participant: id("nobody"),
        message: String::new(),
        reason: String::new(),
    };
    assert!(matches!(lobby.admin(stranger, 72_000), Err(AdminError::UnknownParticipant(_))));
}

#[test]
fn stored_files_count_and_a_parity_mismatch_is_a_problem() {
    let mut lobby = lobby();
    let game = start_playing(&mut lobby);
    lobby.stored(&id("a"), &game, 0, Ok(None), 61_000);
    lobby.stored(&id("b"), &game, 0, Ok(Some(false)), 62_000);
    lobby.stored(&id("b"), &game, 1, Err("disk full".into()), 63_000);
    let snapshot = lobby.snapshot(64_000);
    let kinds: Vec<&str> = snapshot.problems.items.iter().map(|p| p.kind).collect();
    assert_eq!(kinds, ["parity_mismatch", "upload_refused"]);
    let b = lobby.participant(&id("b")).expect("seen").row;
    assert_eq!((b.uploads_stored, b.uploads_refused), (1, 1));
    lobby.disconnected(ConnId(1), 65_000);
    let finished = &lobby.snapshot(65_000).finished_games[0];
    assert_eq!(finished.parity.get(&0), Some(&false), "the running game's parity moved along");
}

#[test]
fn a_participant_stuck_on_a_page_is_a_problem() {
    let mut lobby = lobby();
    let game = start_playing(&mut lobby);
    let much_later = 60_000 + 24 * 3_600_000;
    let stuck: Vec<_> = lobby
        .snapshot(much_later)
        .problems
        .items
        .into_iter()
        .filter(|p| p.kind == "stuck")
        .collect();
    assert_eq!(stuck.len(), 2, "{stuck:?}");
    assert_eq!(stuck[0].game.as_ref(), Some(&game));
}

#[test]
fn a_player_without_data_a_minute_after_the_game_is_a_problem() {
    let mut lobby = lobby();
    let game = start_playing(&mut lobby);
    let stored = lobby.message(ConnId(1), upload("a", game.as_str(), "overcooked"), 61_000);
    assert!(matches!(&stored[..], [Action::Store { .. }]), "{stored:?}");
    lobby.disconnected(ConnId(1), 62_000);
    lobby.disconnected(ConnId(2), 62_000);
    let missing = |lobby: &Lobby, now: u64| -> Vec<ParticipantId> {
        let items = lobby.snapshot(now).problems.items;
        items
            .into_iter()
            .filter(|p| p.kind == "data_missing")
            .filter_map(|p| p.participant)
            .collect()
    };
    assert!(missing(&lobby, 62_000 + 30_000).is_empty(), "its page may still be delivering");
    assert_eq!(missing(&lobby, 62_000 + 61_000), vec![id("b")], "a delivered, b did not");
    // b's page comes back and delivers: no longer missing.
    join(&mut lobby, 3, "b");
    lobby.message(ConnId(3), upload("b", game.as_str(), "overcooked"), 130_000);
    assert!(missing(&lobby, 131_000).is_empty());
}
