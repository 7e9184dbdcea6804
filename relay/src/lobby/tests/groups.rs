//! Groups of three: formed when the third arrives, every member told of both others, signaling
//! between any two members (each pair has its own connection), the start once everyone
//! validated, and a member leaving mid-game heard by both others.

use super::*;

fn trio() -> Lobby {
    lobby_with(|c| {
        c.matchmaking.group_size = 3;
        c.game.layout = "wide_room_3".into();
    })
}

fn pid(id: &str) -> ParticipantId {
    ParticipantId::parse(id).expect("id")
}

#[test]
fn the_third_arrival_forms_the_group_and_everyone_hears_of_both_others() {
    let mut lobby = trio();
    let first = join(&mut lobby, 1, "a");
    assert!(first.contains(&Action::Send(ConnId(1), ServerMsg::Waiting { waiting: 1, needed: 3 })));
    let second = join(&mut lobby, 2, "b");
    assert!(
        second.contains(&Action::Send(ConnId(2), ServerMsg::Waiting { waiting: 2, needed: 3 }))
    );
    assert_eq!(lobby.game_of(ConnId(1)), None, "two of three wait");
    let third = join(&mut lobby, 3, "c");
    let paired: Vec<(u64, u8, Vec<String>)> = third
        .iter()
        .filter_map(|a| match a {
            Action::Send(c, ServerMsg::Paired { player_index, peers, .. }) => Some((
                c.0,
                *player_index,
                peers.iter().map(|p| format!("{}@{}", p.participant_id, p.player_index)).collect(),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        paired,
        vec![
            (1, 0, vec!["b@1".into(), "c@2".into()]),
            (2, 1, vec!["a@0".into(), "c@2".into()]),
            (3, 2, vec!["a@0".into(), "b@1".into()]),
        ]
    );
    assert_eq!(lobby.partners_of(ConnId(2)), vec![pid("a"), pid("c")]);
}

#[test]
fn any_two_members_signal_each_other_and_nobody_else() {
    let mut lobby = trio();
    for (conn, id) in [(1, "a"), (2, "b"), (3, "c"), (4, "d")] {
        join(&mut lobby, conn, id);
    }
    let offer = SignalPayload::Offer { sdp: "v=0".into() };
    for (from, to, to_conn) in [(1, "c", 3), (2, "c", 3), (3, "a", 1)] {
        let msg = ClientMsg::Signal { to: pid(to), payload: offer.clone() };
        let out = lobby.message(ConnId(from), msg, 0);
        assert!(
            matches!(&out[..], [Action::Send(c, ServerMsg::Signal { .. })] if c.0 == to_conn),
            "{from} -> {to}: {out:?}"
        );
    }
    let to_d = ClientMsg::Signal { to: pid("d"), payload: offer.clone() };
    assert_eq!(codes(&lobby.message(ConnId(1), to_d, 0)), vec![ErrorCode::NotYourPartner]);
    let from_d = ClientMsg::Signal { to: pid("a"), payload: offer };
    assert_eq!(codes(&lobby.message(ConnId(4), from_d, 0)), vec![ErrorCode::NotYourPartner]);
}

#[test]
fn the_game_starts_once_every_member_validated_and_a_leaver_is_heard_by_both_others() {
    let mut lobby = trio();
    for (conn, id) in [(1, "a"), (2, "b"), (3, "c")] {
        join(&mut lobby, conn, id);
    }
    let game = lobby.game_of(ConnId(1)).expect("grouped").clone();
    let validated =
        |g: &GameId| ClientMsg::Validated { game_id: g.clone(), env: None, rtt_ms: None };
    for conn in [1, 2] {
        lobby.message(ConnId(conn), validated(&game), 100);
    }
    assert!(
        lobby.tick(5_000).iter().all(|a| !matches!(a, Action::Send(_, ServerMsg::Start { .. })))
    );
    let started = lobby.message(ConnId(3), validated(&game), 5_001);
    let starts = started.iter().filter(|a| matches!(a, Action::Send(_, ServerMsg::Start { .. })));
    assert_eq!(starts.count(), 3);
    let left = lobby.disconnected(ConnId(2), 20_000);
    let heard: Vec<u64> = left
        .iter()
        .filter_map(|a| match a {
            Action::Send(c, ServerMsg::PartnerLeft { participant_id })
                if *participant_id == pid("b") =>
            {
                Some(c.0)
            }
            _ => None,
        })
        .collect();
    assert_eq!(heard, vec![1, 3]);
}

#[test]
fn a_member_leaving_before_the_start_sends_both_others_back_to_wait() {
    let mut lobby = trio();
    for (conn, id) in [(1, "a"), (2, "b"), (3, "c")] {
        join(&mut lobby, conn, id);
    }
    let out = lobby.disconnected(ConnId(3), 1_000);
    assert_eq!(repooled(&out), vec![1, 2]);
    assert_eq!(lobby.waiting_count(), 2);
    join(&mut lobby, 4, "d");
    assert!(lobby.game_of(ConnId(4)).is_some(), "a, b and a newcomer form the next group");
}

#[test]
fn with_continue_the_game_goes_on_for_the_two_who_remain() {
    let mut lobby = lobby_with(|c| {
        c.matchmaking.group_size = 3;
        c.game.layout = "wide_room_3".into();
        c.game.on_player_leave = rollgym_protocol::OnPlayerLeave::Continue;
    });
    for (conn, id) in [(1, "a"), (2, "b"), (3, "c")] {
        join(&mut lobby, conn, id);
    }
    let game = lobby.game_of(ConnId(1)).expect("grouped").clone();
    for conn in [1, 2, 3] {
        let validated = ClientMsg::Validated { game_id: game.clone(), env: None, rtt_ms: None };
        lobby.message(ConnId(conn), validated, 100);
    }
    lobby.tick(5_000);
    assert_eq!(lobby.game_state(&game), Some(GameState::Playing));
    let left = lobby.disconnected(ConnId(2), 20_000);
    let heard =
        left.iter().filter(|a| matches!(a, Action::Send(_, ServerMsg::PartnerLeft { .. }))).count();
    assert_eq!(heard, 2);
    assert_eq!(lobby.game_state(&game), Some(GameState::Playing), "the game goes on");
    assert_eq!(lobby.partners_of(ConnId(1)), vec![pid("c")]);
    // The next to leave ends it: one player is not a group.
    lobby.disconnected(ConnId(3), 30_000);
    assert_eq!(lobby.game_state(&game), None);
}
