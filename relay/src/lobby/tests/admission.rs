//! Upload admission: only a player's own data of its game, in its scene, within the game's size.

use rollgym_protocol::{ErrorCode, Sidecar};

use super::*;

/// The refusal codes (or `None` for a store) of one upload.
fn verdict(lobby: &mut Lobby, conn: u64, msg: ClientMsg) -> Option<ErrorCode> {
    match &lobby.message(ConnId(conn), msg, 100_000)[..] {
        [Action::Store { .. }] => None,
        [Action::RefuseUpload(_, _, err)] => Some(err.code()),
        other => panic!("unexpected {other:?}"),
    }
}

fn edited(msg: ClientMsg, edit: impl FnOnce(&mut Upload)) -> ClientMsg {
    let ClientMsg::Upload(mut upload) = msg else { unreachable!("an upload") };
    edit(&mut upload);
    ClientMsg::Upload(upload)
}

#[test]
fn a_players_own_data_of_its_game_is_stored_with_the_games_players() {
    let mut lobby = lobby();
    let game = start_playing(&mut lobby);
    let out = lobby.message(ConnId(1), upload("a", game.as_str(), "overcooked"), 100_000);
    let [Action::Store { conn: ConnId(1), players, .. }] = &out[..] else { panic!("{out:?}") };
    let names: Vec<&str> = players.iter().map(ParticipantId::as_str).collect();
    assert_eq!(names, ["a", "b"]);
}

#[test]
fn anything_but_a_players_own_data_of_its_game_is_refused() {
    let mut lobby = lobby();
    let game = start_playing(&mut lobby);
    join(&mut lobby, 3, "visitor");
    let cases = [
        (1, upload("b", game.as_str(), "overcooked"), ErrorCode::NotYourFile),
        (3, upload("visitor", game.as_str(), "overcooked"), ErrorCode::NotYourGame),
        (3, upload("visitor", "g-invented", "overcooked"), ErrorCode::NotYourGame),
        (1, upload("a", "g-invented", "overcooked"), ErrorCode::NotYourGame),
        (1, upload("a", game.as_str(), "elsewhere"), ErrorCode::UploadWrongScene),
        (
            1,
            edited(upload("a", game.as_str(), "overcooked"), |u| u.episode = 1),
            ErrorCode::NoSuchEpisode,
        ),
    ];
    for (conn, msg, code) in cases {
        assert_eq!(verdict(&mut lobby, conn, msg.clone()), Some(code), "{msg:?}");
    }
}

#[test]
fn an_upload_is_bounded_by_what_its_game_can_produce() {
    let mut lobby = lobby_with(|c| c.game.max_steps = 3);
    let game = start_playing(&mut lobby);
    let rows = |n: usize| format!("episode,t\n{}", "0,0\n".repeat(n));
    let with_csv = |csv: String| edited(upload("a", game.as_str(), "overcooked"), |u| u.csv = csv);
    assert_eq!(verdict(&mut lobby, 1, with_csv(rows(3))), None, "max_steps rows");
    assert_eq!(verdict(&mut lobby, 1, with_csv(rows(4))), Some(ErrorCode::TooManyRows));
    let wide = format!("episode,t\n0,{}\n", "9".repeat(4 * MAX_ROW_BYTES));
    assert_eq!(verdict(&mut lobby, 1, with_csv(wide)), Some(ErrorCode::UploadTooLarge));
    let sidecar = Sidecar { format: "x".repeat(MAX_SIDECAR_BYTES), ..Sidecar::default() };
    let big = edited(upload("a", game.as_str(), "overcooked"), |u| u.sidecar = sidecar);
    assert_eq!(verdict(&mut lobby, 1, big), Some(ErrorCode::UploadTooLarge));
}

#[test]
fn a_restarted_lobby_admits_the_data_of_games_formed_before() {
    let mut before = lobby();
    join(&mut before, 1, "a");
    let out = join(&mut before, 2, "b");
    let game = before.game_of(ConnId(1)).expect("paired").clone();
    // A restarted relay draws other ids (its seed is random).
    let mut after = Lobby::new(crate::config::load(None).expect("bundled config"), 2);
    after.restore_decisions(super::progress::decisions(&out));
    join(&mut after, 7, "b");
    assert_eq!(verdict(&mut after, 7, upload("b", game.as_str(), "overcooked")), None);
    join(&mut after, 8, "c");
    assert_eq!(
        verdict(&mut after, 8, upload("c", game.as_str(), "overcooked")),
        Some(ErrorCode::NotYourGame)
    );
}
