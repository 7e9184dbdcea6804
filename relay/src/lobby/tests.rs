//! The lobby's rules, driven directly (no sockets, explicit time).

use rollgym_protocol::{EnvStamp, ErrorCode, SceneId, Sidecar, SignalPayload, UnstartedReason};

use super::*;

fn lobby() -> Lobby {
    Lobby::new(crate::config::load(None).expect("bundled config"), 1)
}

fn hello(id: &str) -> ClientMsg {
    ClientMsg::Hello {
        protocol_version: PROTOCOL_VERSION,
        participant_id: Some(ParticipantId::parse(id).expect("valid")),
        rejoin: false,
    }
}

/// Pairs a (conn 1) and b (conn 2), validates both and runs past the countdown.
fn start_playing(lobby: &mut Lobby) -> GameId {
    join(lobby, 1, "a");
    join(lobby, 2, "b");
    let game = lobby.game_of(ConnId(1)).expect("paired").clone();
    for conn in [1, 2] {
        lobby.message(
            ConnId(conn),
            ClientMsg::Validated { game_id: game.clone(), env: None, rtt_ms: None },
            100,
        );
    }
    let started = lobby.tick(60_000);
    assert_eq!(
        started.iter().filter(|a| matches!(a, Action::Send(_, ServerMsg::Start { .. }))).count(),
        2
    );
    game
}

fn join(lobby: &mut Lobby, conn: u64, id: &str) -> Vec<Action> {
    lobby.connected(ConnId(conn));
    lobby.message(ConnId(conn), hello(id), 0)
}

/// The connections `actions` send back to the waiting room.
fn repooled(actions: &[Action]) -> Vec<u64> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(c, ServerMsg::Repool { .. }) => Some(c.0),
            _ => None,
        })
        .collect()
}

fn codes(actions: &[Action]) -> Vec<ErrorCode> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Refuse(_, e) => Some(e.code()),
            _ => None,
        })
        .collect()
}

#[test]
fn first_arrival_waits_second_pairs_both() {
    let mut lobby = lobby();
    let first = join(&mut lobby, 1, "a");
    assert!(first.contains(&Action::Send(ConnId(1), ServerMsg::Waiting { waiting: 1, needed: 2 })));
    let second = join(&mut lobby, 2, "b");
    let paired: Vec<_> = second
        .iter()
        .filter_map(|a| match a {
            Action::Send(c, ServerMsg::Paired { player_index, peers, .. }) => {
                Some((c.0, *player_index, peers[0].participant_id.to_string()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(paired, vec![(1, 0, "b".to_string()), (2, 1, "a".to_string())]);
    assert_eq!(lobby.waiting_count(), 0);
    assert_eq!(lobby.game_of(ConnId(1)), lobby.game_of(ConnId(2)));
}

#[test]
fn generated_ids_are_distinct() {
    let mut lobby = lobby();
    let mut ids = Vec::new();
    for conn in 0..10 {
        lobby.connected(ConnId(conn));
        let out = lobby.message(
            ConnId(conn),
            ClientMsg::Hello {
                protocol_version: PROTOCOL_VERSION,
                participant_id: None,
                rejoin: false,
            },
            0,
        );
        for action in out {
            if let Action::Send(_, ServerMsg::Welcome { participant_id, .. }) = action {
                ids.push(participant_id);
            }
        }
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 10);
}

#[test]
fn signal_goes_to_partner_only() {
    let mut lobby = lobby();
    join(&mut lobby, 1, "a");
    join(&mut lobby, 2, "b");
    join(&mut lobby, 3, "c");
    let offer = SignalPayload::Offer { sdp: "v=0".into() };
    let to_b =
        ClientMsg::Signal { to: ParticipantId::parse("b").expect("id"), payload: offer.clone() };
    let out = lobby.message(ConnId(1), to_b.clone(), 0);
    assert_eq!(
        out,
        vec![Action::Send(
            ConnId(2),
            ServerMsg::Signal {
                from: ParticipantId::parse("a").expect("id"),
                payload: offer.clone()
            }
        )]
    );
    let to_c = ClientMsg::Signal { to: ParticipantId::parse("c").expect("id"), payload: offer };
    assert_eq!(codes(&lobby.message(ConnId(1), to_c, 0)), vec![ErrorCode::NotYourPartner]);
    assert_eq!(codes(&lobby.message(ConnId(3), to_b, 0)), vec![ErrorCode::NotYourPartner]);
}

#[test]
fn second_tab_with_same_id_is_refused_and_closed() {
    let mut lobby = lobby();
    join(&mut lobby, 1, "a");
    let out = join(&mut lobby, 2, "a");
    assert_eq!(codes(&out), vec![ErrorCode::DuplicateParticipant]);
    assert!(out.contains(&Action::Close(ConnId(2))));
    assert_eq!(lobby.waiting_count(), 1);
    // Once the first tab is gone the id is free again (a reload).
    lobby.disconnected(ConnId(1), 0);
    lobby.disconnected(ConnId(2), 0);
    assert!(codes(&join(&mut lobby, 3, "a")).is_empty());
}

#[test]
fn wrong_protocol_version_is_fatal() {
    let mut lobby = lobby();
    lobby.connected(ConnId(1));
    let out = lobby.message(
        ConnId(1),
        ClientMsg::Hello { protocol_version: 0, participant_id: None, rejoin: false },
        0,
    );
    assert_eq!(codes(&out), vec![ErrorCode::ProtocolVersion]);
    assert!(out.contains(&Action::Close(ConnId(1))));
}

#[test]
fn messages_out_of_order_are_refused() {
    let mut lobby = lobby();
    lobby.connected(ConnId(1));
    let signal = ClientMsg::Signal {
        to: ParticipantId::parse("x").expect("id"),
        payload: SignalPayload::Answer { sdp: String::new() },
    };
    assert_eq!(codes(&lobby.message(ConnId(1), signal, 0)), vec![ErrorCode::HelloRequired]);
    lobby.message(ConnId(1), hello("a"), 0);
    assert_eq!(codes(&lobby.message(ConnId(1), hello("a"), 0)), vec![ErrorCode::AlreadyGreeted]);
}

#[test]
fn leaving_is_reported_to_partner_once() {
    let mut lobby = lobby();
    start_playing(&mut lobby);
    let out = lobby.disconnected(ConnId(1), 0);
    assert_eq!(
        out,
        vec![Action::Send(
            ConnId(2),
            ServerMsg::PartnerLeft { participant_id: ParticipantId::parse("a").expect("id") }
        )]
    );
    assert!(lobby.disconnected(ConnId(1), 0).is_empty(), "cleanup runs once");
    assert!(lobby.disconnected(ConnId(2), 0).is_empty(), "nobody left to tell");
}

#[test]
fn a_participant_returning_to_its_running_game_is_not_matched() {
    let mut lobby = lobby();
    start_playing(&mut lobby);
    // a's relay connection drops; its game goes on peer to peer.
    lobby.disconnected(ConnId(1), 0);
    lobby.connected(ConnId(3));
    let rejoin = ClientMsg::Hello {
        protocol_version: PROTOCOL_VERSION,
        participant_id: Some(ParticipantId::parse("a").expect("id")),
        rejoin: true,
    };
    let out = lobby.message(ConnId(3), rejoin, 0);
    assert!(matches!(out[..], [Action::Send(_, ServerMsg::Welcome { .. })]));
    assert_eq!(lobby.waiting_count(), 0);
    join(&mut lobby, 4, "c");
    assert_eq!(lobby.game_of(ConnId(3)), None);
}

/// An upload of episode 0 of `game` with a well-formed two-line CSV.
fn upload(participant: &str, game: &str, scene: &str) -> ClientMsg {
    ClientMsg::Upload(Box::new(Upload {
        upload_id: UploadId::parse("u1").expect("id"),
        participant_id: ParticipantId::parse(participant).expect("id"),
        game_id: GameId::parse(game).expect("id"),
        scene_id: SceneId::parse(scene).expect("id"),
        episode: 0,
        csv: "episode,t\n0,0\n".into(),
        sidecar: Sidecar::default(),
    }))
}

#[test]
fn waiting_participant_leaving_frees_the_slot() {
    let mut lobby = lobby();
    join(&mut lobby, 1, "a");
    lobby.disconnected(ConnId(1), 0);
    assert_eq!(lobby.waiting_count(), 0);
    let out = join(&mut lobby, 2, "b");
    assert!(out.contains(&Action::Send(ConnId(2), ServerMsg::Waiting { waiting: 1, needed: 2 })));
}

fn lobby_with(edit: impl FnOnce(&mut ExperimentConfig)) -> Lobby {
    let mut config = crate::config::load(None).expect("bundled config");
    edit(&mut config);
    Lobby::new(config, 1)
}

fn game_of_pair(actions: &[Action]) -> Vec<(u64, u8)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(c, ServerMsg::Paired { player_index, .. }) => Some((c.0, *player_index)),
            _ => None,
        })
        .collect()
}

#[test]
fn waiting_too_long_times_out_with_the_configured_message() {
    let mut lobby = lobby_with(|c| {
        c.waiting_room.timeout_ms = 5_000;
        c.waiting_room.timeout_completion_code = Some("WAITED".into());
    });
    lobby.connected(ConnId(1));
    lobby.message(ConnId(1), hello("a"), 1_000);
    assert!(lobby.tick(5_999).is_empty(), "not yet");
    let out = lobby.tick(6_000);
    assert!(matches!(
        &out[..],
        [Action::Send(ConnId(1), ServerMsg::Exit { outcome, completion_code: Some(code), .. })]
            if code == "WAITED" && outcome == "wait_timeout"
    ));
    assert_eq!(lobby.waiting_count(), 0);
    // Someone arriving later is not paired with the timed-out participant.
    assert!(game_of_pair(&join(&mut lobby, 2, "b")).is_empty());
}

#[test]
fn latency_fifo_keeps_high_round_trips_apart() {
    let mut lobby = lobby_with(|c| {
        c.matchmaking.kind = rollgym_protocol::MatchmakerKind::LatencyFifo;
        c.matchmaking.max_server_rtt_ms = 100;
    });
    for (conn, rtt) in [(1, 300), (2, 20), (3, 30)] {
        lobby.connected(ConnId(conn));
        for _ in 0..5 {
            lobby.rtt_sample(ConnId(conn), rtt);
        }
    }
    assert_eq!(lobby.rtt_of(ConnId(1)), Some(300));
    lobby.message(ConnId(1), hello("slow"), 0);
    assert!(
        game_of_pair(&lobby.message(ConnId(2), hello("fast1"), 0)).is_empty(),
        "20 + 300 > 100"
    );
    let paired = game_of_pair(&lobby.message(ConnId(3), hello("fast2"), 0));
    assert_eq!(paired, vec![(2, 0), (3, 1)], "the two fast ones, earlier arrival first");
    assert_eq!(lobby.waiting_count(), 1, "the slow one still waits");
}

#[test]
fn server_round_trip_is_the_median_of_the_last_twenty() {
    let mut lobby = lobby();
    lobby.connected(ConnId(1));
    for rtt in [1000; 10] {
        lobby.rtt_sample(ConnId(1), rtt);
    }
    for rtt in [10; 20] {
        lobby.rtt_sample(ConnId(1), rtt);
    }
    assert_eq!(lobby.rtt_of(ConnId(1)), Some(10), "old samples fall out of the window");
}

#[test]
fn every_match_is_logged_with_round_trips() {
    let mut lobby = lobby();
    join(&mut lobby, 1, "a");
    lobby.rtt_sample(ConnId(1), 42);
    let out = join(&mut lobby, 2, "b");
    // As written to the match log.
    let logs: Vec<serde_json::Value> = out
        .iter()
        .filter_map(|a| match a {
            Action::LogMatch(record) => serde_json::to_value(record).ok(),
            _ => None,
        })
        .collect();
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0]["matchmaker"], "fifo");
    assert_eq!(logs[0]["participants"][0]["participant_id"], "a");
    assert_eq!(logs[0]["participants"][0]["server_rtt_ms"], 42);
}

fn reunion_lobby(fallback_to_fifo: bool) -> Lobby {
    lobby_with(|c| {
        c.matchmaking.kind = rollgym_protocol::MatchmakerKind::GroupReunion;
        c.matchmaking.fallback_to_fifo = fallback_to_fifo;
    })
}

#[test]
fn group_reunion_pairs_previous_partners_ahead_of_the_queue() {
    let mut lobby = reunion_lobby(false);
    // a and b played together in an earlier game.
    let id = |s: &str| ParticipantId::parse(s).expect("id");
    lobby.history.insert(id("a"), vec![id("b")]);
    lobby.history.insert(id("b"), vec![id("a")]);
    // Now a stranger and a wait; b arrives and is reunited with a.
    join(&mut lobby, 3, "stranger");
    join(&mut lobby, 4, "a");
    assert_eq!(lobby.waiting_count(), 2, "no previous partner waiting, no fallback");
    assert_eq!(game_of_pair(&join(&mut lobby, 5, "b")), vec![(4, 0), (5, 1)]);
    assert_eq!(lobby.waiting_count(), 1, "the stranger still waits");
}

#[test]
fn group_reunion_falls_back_to_arrival_order() {
    let mut lobby = reunion_lobby(true);
    join(&mut lobby, 1, "a");
    join(&mut lobby, 2, "b");
    lobby.disconnected(ConnId(1), 0);
    lobby.disconnected(ConnId(2), 0);
    join(&mut lobby, 3, "stranger");
    assert_eq!(game_of_pair(&join(&mut lobby, 4, "a")), vec![(3, 0), (4, 1)], "b is not waiting");
}

fn validated(lobby: &mut Lobby, conn: u64, now: u64) -> Vec<Action> {
    let game = lobby.game_of(ConnId(conn)).expect("paired").clone();
    lobby.message(
        ConnId(conn),
        ClientMsg::Validated { game_id: game, env: None, rtt_ms: None },
        now,
    )
}

fn starts(actions: &[Action]) -> Vec<u64> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(c, ServerMsg::Start { .. }) => Some(c.0),
            _ => None,
        })
        .collect()
}

#[test]
fn play_starts_when_both_validated_and_the_countdown_is_over() {
    let mut lobby = lobby();
    join(&mut lobby, 1, "a");
    join(&mut lobby, 2, "b"); // matched at time 0; countdown 3 s (bundled config)
    let game = lobby.game_of(ConnId(1)).expect("paired").to_owned();
    assert_eq!(lobby.game_state(&game), Some(GameState::Validating));
    assert!(starts(&validated(&mut lobby, 1, 500)).is_empty(), "b has not validated");
    assert!(starts(&validated(&mut lobby, 2, 800)).is_empty(), "the countdown runs until 3 s");
    assert!(starts(&lobby.tick(2_999)).is_empty());
    assert_eq!(starts(&lobby.tick(3_000)), vec![1, 2]);
    assert_eq!(lobby.game_state(&game), Some(GameState::Playing));
    assert!(starts(&lobby.tick(4_000)).is_empty(), "started once");
}

#[test]
fn players_running_different_environments_are_stopped_before_play_and_told_both_names() {
    let mut lobby = lobby();
    join(&mut lobby, 1, "a");
    join(&mut lobby, 2, "b");
    let game = lobby.game_of(ConnId(1)).expect("paired").to_owned();
    let stamp = |version: &str| Some(EnvStamp { name: "catch".into(), version: version.into() });
    let msg =
        |version| ClientMsg::Validated { game_id: game.clone(), env: stamp(version), rtt_ms: None };
    assert!(lobby.message(ConnId(1), msg("1.0"), 100).is_empty());
    let out = lobby.message(ConnId(2), msg("1.1"), 200);
    let errors: Vec<(u64, String)> = out
        .iter()
        .filter_map(|a| match a {
            Action::Send(
                c,
                ServerMsg::Error { code: ErrorCode::EnvMismatch, message, fatal: true },
            ) => Some((c.0, message.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(errors.iter().map(|(c, _)| *c).collect::<Vec<_>>(), vec![1, 2]);
    assert!(
        errors[0].1.contains(
            "\"catch\" version \"1.0\", but your partner's runs \"catch\" version \"1.1\""
        ),
        "{}",
        errors[0].1
    );
    let logged = out.iter().any(|a| {
        matches!(
            a,
            Action::LogMatch(MatchLogRecord::Unstarted {
                reason: UnstartedReason::EnvMismatch,
                ..
            })
        )
    });
    assert!(logged, "the researcher sees why the game never started");
    assert_eq!(lobby.game_state(&game), None, "no game");
    assert!(starts(&lobby.tick(10_000)).is_empty(), "never started");
    // The same environment on both pages starts as usual.
    let mut lobby = self::lobby();
    join(&mut lobby, 1, "a");
    join(&mut lobby, 2, "b");
    let game = lobby.game_of(ConnId(1)).expect("paired").to_owned();
    for c in [1, 2] {
        let env = stamp("1.0");
        lobby.message(
            ConnId(c),
            ClientMsg::Validated { game_id: game.clone(), env, rtt_ms: None },
            100,
        );
    }
    assert_eq!(starts(&lobby.tick(3_000)), vec![1, 2]);
}

#[test]
fn a_validation_for_another_game_is_refused() {
    let mut lobby = lobby();
    join(&mut lobby, 1, "a");
    join(&mut lobby, 2, "b");
    let out = lobby.message(
        ConnId(1),
        ClientMsg::Validated {
            game_id: GameId::parse("g-other").expect("id"),
            env: None,
            rtt_ms: None,
        },
        0,
    );
    assert_eq!(codes(&out), vec![ErrorCode::NotInGame]);
}

#[test]
fn an_unvalidated_pair_goes_back_to_the_waiting_room_and_is_not_matched_again() {
    let mut lobby = lobby();
    join(&mut lobby, 1, "a");
    join(&mut lobby, 2, "b");
    validated(&mut lobby, 1, 100); // b never manages
    let out = lobby.tick(VALIDATION_TIMEOUT_MS);
    let repooled = repooled(&out);
    assert_eq!(repooled, vec![1, 2]);
    assert_eq!(lobby.waiting_count(), 2, "both wait again, not with each other: {out:?}");
    assert_eq!(lobby.game_of(ConnId(1)), None);
    // A newcomer is matched with the first of them.
    let out = join(&mut lobby, 3, "c");
    assert_eq!(game_of_pair(&out), vec![(1, 0), (3, 1)]);
}

#[test]
fn a_partner_leaving_before_the_start_sends_the_other_back_to_waiting() {
    let mut lobby = lobby();
    join(&mut lobby, 1, "a");
    join(&mut lobby, 2, "b");
    let out = lobby.disconnected(ConnId(2), 1_000);
    assert!(out.iter().any(|a| matches!(a, Action::Send(ConnId(1), ServerMsg::Repool { .. }))));
    assert_eq!(lobby.waiting_count(), 1);
    // Leaving voluntarily is not a failed connection: a and b may meet again.
    assert_eq!(game_of_pair(&join(&mut lobby, 3, "b")), vec![(1, 0), (3, 1)]);
}

#[test]
fn a_disconnect_in_each_phase_leaves_nothing_behind() {
    // Waiting.
    let mut lobby = lobby();
    join(&mut lobby, 1, "a");
    lobby.disconnected(ConnId(1), 0);
    assert_eq!(lobby.waiting_count(), 0);
    // Countdown / validating: covered above. Playing: the partner is told, the game is gone.
    let game = start_playing(&mut lobby);
    lobby.disconnected(ConnId(2), 0);
    assert_eq!(lobby.game_state(&game), None);
    lobby.disconnected(ConnId(1), 0);
    // The ids are free again, but a and b have played the experiment's one game: coming back,
    // they are told so (and may deliver data). Newcomers form a new pair normally.
    assert_eq!(codes(&join(&mut lobby, 5, "a")), vec![ErrorCode::AlreadyFinished]);
    join(&mut lobby, 6, "c");
    assert_eq!(game_of_pair(&join(&mut lobby, 7, "d")), vec![(6, 0), (7, 1)]);
}

fn scenes_lobby(reunion_second: bool) -> Lobby {
    let toml = format!(
        r#"
[experiment]
id = "scenes"
[[scenes]]
kind = "static"
id = "welcome"
title = "Welcome"
html = "<p>hi</p>"
button = "Start"
[[scenes]]
kind = "gym"
id = "round1"
[[scenes]]
kind = "gym"
id = "round2"
[scenes.matchmaking]
kind = "{}"
fallback_to_fifo = false
[[scenes]]
kind = "static"
id = "thanks"
title = "Thank you"
completion_code = "DONE"
"#,
        if reunion_second { "group_reunion" } else { "fifo" }
    );
    let config = crate::config::parse(&toml, std::path::Path::new("scenes.toml")).expect("valid");
    Lobby::new(config, 7)
}

fn scene_of(actions: &[Action], conn: u64) -> Option<u32> {
    actions.iter().find_map(|a| match a {
        Action::Send(c, ServerMsg::Scene { index, .. }) if c.0 == conn => Some(*index),
        _ => None,
    })
}

/// Plays a started game to its end from the lobby's point of view.
/// Every member of these games validates at `now`, then the countdowns end (lobby time only
/// moves forward, so all games validate before the one tick).
fn play_through(lobby: &mut Lobby, games: &[[u64; 2]], now: u64) {
    for conns in games {
        let game = lobby.game_of(ConnId(conns[0])).expect("paired").clone();
        for c in conns {
            lobby.message(
                ConnId(*c),
                ClientMsg::Validated { game_id: game.clone(), env: None, rtt_ms: None },
                now,
            );
        }
    }
    lobby.tick(now + 10_000);
}

#[test]
fn participants_go_through_the_scenes_in_order() {
    let mut lobby = scenes_lobby(false);
    let first = join(&mut lobby, 1, "a");
    assert_eq!(scene_of(&first, 1), Some(0));
    assert_eq!(lobby.waiting_count(), 0, "a static scene is not a waiting room");
    // Leaving a scene one is not in is refused.
    assert_eq!(
        codes(&lobby.message(ConnId(1), ClientMsg::Advance { from: 2 }, 0)),
        vec![ErrorCode::WrongScene]
    );
    assert_eq!(scene_of(&lobby.message(ConnId(1), ClientMsg::Advance { from: 0 }, 0), 1), Some(1));
    assert_eq!(lobby.waiting_count(), 1, "the gym scene's waiting room");
    // The game must be under way before its scene can be left.
    join(&mut lobby, 2, "b");
    let out = lobby.message(ConnId(2), ClientMsg::Advance { from: 0 }, 0);
    assert!(game_of_pair(&out).len() == 2, "paired on entering the gym scene");
    assert_eq!(
        codes(&lobby.message(ConnId(1), ClientMsg::Advance { from: 1 }, 0)),
        vec![ErrorCode::WrongScene]
    );
    play_through(&mut lobby, &[[1, 2]], 100);
    assert_eq!(
        scene_of(&lobby.message(ConnId(1), ClientMsg::Advance { from: 1 }, 20_000), 1),
        Some(2)
    );
    // b finishing later is not told that a "left": a moved on.
    let out = lobby.disconnected(ConnId(1), 20_000);
    assert!(out.iter().all(|a| !matches!(a, Action::Send(_, ServerMsg::PartnerLeft { .. }))));
}

#[test]
fn group_reunion_re_pairs_partners_in_a_later_gym_scene() {
    let mut lobby = scenes_lobby(true);
    for (conn, id) in [(1, "a"), (2, "b"), (3, "c"), (4, "d")] {
        join(&mut lobby, conn, id);
        lobby.message(ConnId(conn), ClientMsg::Advance { from: 0 }, 0);
    }
    assert_eq!(lobby.game_of(ConnId(1)), lobby.game_of(ConnId(2)), "round 1: a-b");
    assert_eq!(lobby.game_of(ConnId(3)), lobby.game_of(ConnId(4)), "round 1: c-d");
    play_through(&mut lobby, &[[1, 2], [3, 4]], 100);
    // Round 2 arrivals interleave: a, c, d, b. With reunion and no fallback, a waits for b.
    let mut pairs = Vec::new();
    for conn in [1, 3, 4, 2] {
        pairs.extend(game_of_pair(&lobby.message(
            ConnId(conn),
            ClientMsg::Advance { from: 1 },
            30_000,
        )));
    }
    assert_eq!(lobby.game_of(ConnId(3)), lobby.game_of(ConnId(4)), "round 2: c-d again");
    assert_eq!(lobby.game_of(ConnId(1)), lobby.game_of(ConnId(2)), "round 2: a-b again");
    assert_eq!(pairs.len(), 4);
}

mod admission;
mod console;
mod groups;
mod input_delay;
mod probe;
mod progress;
mod properties;
mod screening;
mod spectate;
mod study;

#[test]
fn the_snapshot_counts_where_everyone_is() {
    let mut lobby = scenes_lobby(false);
    lobby.connected(ConnId(9)); // not greeted yet
    join(&mut lobby, 1, "a");
    for (conn, id) in [(2, "b"), (3, "c"), (4, "d")] {
        join(&mut lobby, conn, id);
        lobby.message(ConnId(conn), ClientMsg::Advance { from: 0 }, 0);
    }
    let snapshot = lobby.snapshot(0);
    assert_eq!(snapshot.experiment, "scenes");
    assert_eq!(snapshot.connected, 5);
    let counts: Vec<_> = snapshot
        .scenes
        .iter()
        .map(|s| (s.id.as_str(), s.kind, s.here, s.waiting, s.games_validating))
        .collect();
    assert_eq!(
        counts,
        [
            ("welcome", "static", 1, 0, 0),
            ("round1", "gym", 3, 1, 1),
            ("round2", "gym", 0, 0, 0),
            ("thanks", "static", 0, 0, 0),
        ]
    );
    assert_eq!(snapshot.progress_recorded, 3);
}
