//! Watching a game live: the first watcher turns its first player's page's feed on, the last
//! one turns it off, rows are checked and kept for later watchers, and watchers hear the end.

use rollgym_protocol::{SpectateFrames, episode::Settings};

use super::*;
use crate::lobby::AdminError;

fn batch(game: &GameId, episode: u32, t: u32, rows: usize) -> SpectateFrames {
    SpectateFrames {
        game_id: game.clone(),
        episode,
        t,
        frame: 90 + t as i32,
        seed: (t == 0).then_some(42),
        actions: vec![1; rows * 2],
        state_hash: u64::from(t) + rows as u64,
    }
}

fn frames(game: &GameId, episode: u32, t: u32, rows: usize) -> ClientMsg {
    ClientMsg::Frames(Box::new(batch(game, episode, t, rows)))
}

fn watch_messages(actions: &[Action]) -> Vec<(u64, bool)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(conn, ServerMsg::Watch { on, .. }) => Some((conn.0, *on)),
            _ => None,
        })
        .collect()
}

fn pushed(actions: &[Action]) -> Vec<(u32, u32)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Spectate(batch) => Some((batch.episode, batch.t)),
            _ => None,
        })
        .collect()
}

#[test]
fn the_first_watcher_turns_the_feed_on_and_the_last_turns_it_off() {
    let mut lobby = lobby();
    let game = start_playing(&mut lobby);
    let (start, actions) = lobby.watch(&game).expect("running");
    assert_eq!(watch_messages(&actions), [(1, true)], "the first player's page feeds");
    assert_eq!(start.start.settings, Settings::from(&lobby.experiment.game));
    assert_eq!(start.start.players.len(), 2);
    assert!(start.so_far.is_none());
    let (_, second) = lobby.watch(&game).expect("running");
    assert!(watch_messages(&second).is_empty(), "already on");
    assert!(lobby.unwatch(&game).is_empty(), "one still watches");
    assert_eq!(watch_messages(&lobby.unwatch(&game)), [(1, false)]);
    assert!(lobby.unwatch(&game).is_empty(), "not watched any more");
    let unknown = GameId::parse("nope").expect("id");
    assert!(matches!(lobby.watch(&unknown), Err(AdminError::UnknownGame(_))));
}

#[test]
fn rows_are_pushed_and_kept_so_a_later_watcher_starts_at_the_episodes_reset() {
    let mut lobby = lobby();
    let game = start_playing(&mut lobby);
    lobby.watch(&game).expect("running");
    assert_eq!(pushed(&lobby.message(ConnId(1), frames(&game, 0, 0, 40), 61_000)), [(0, 0)]);
    assert_eq!(pushed(&lobby.message(ConnId(1), frames(&game, 0, 40, 6), 61_200)), [(0, 40)]);
    let (later, _) = lobby.watch(&game).expect("running");
    let so_far = later.so_far.expect("the episode so far");
    assert_eq!((so_far.t, so_far.seed, so_far.actions.len()), (0, Some(42), 92));
    assert_eq!(so_far.state_hash, 46, "the newest batch's hash");
    // A batch that does not continue them (sent before a watch restarted) is dropped.
    assert!(pushed(&lobby.message(ConnId(1), frames(&game, 0, 20, 6), 61_400)).is_empty());
    // The partner's page is not the feed.
    assert!(pushed(&lobby.message(ConnId(2), frames(&game, 0, 46, 6), 61_400)).is_empty());
}

#[test]
fn malformed_or_foreign_frames_are_refused() {
    let mut lobby = lobby();
    let game = start_playing(&mut lobby);
    lobby.watch(&game).expect("running");
    let half_a_row = ClientMsg::Frames(Box::new(SpectateFrames {
        actions: vec![1, 2, 3],
        ..batch(&game, 0, 0, 1)
    }));
    let unseeded =
        ClientMsg::Frames(Box::new(SpectateFrames { seed: None, ..batch(&game, 0, 0, 1) }));
    let max_steps = lobby.experiment.game.max_steps;
    for bad in [
        half_a_row,
        unseeded,
        frames(&game, 0, max_steps - 2, 6),
        frames(&game, lobby.experiment.game.num_episodes, 0, 6),
    ] {
        assert_eq!(codes(&lobby.message(ConnId(1), bad, 61_000)), [ErrorCode::InvalidFrames]);
    }
    let elsewhere = GameId::parse("elsewhere").expect("id");
    assert_eq!(
        codes(&lobby.message(ConnId(1), frames(&elsewhere, 0, 0, 6), 61_000)),
        [ErrorCode::NotInGame]
    );
}

#[test]
fn watchers_hear_when_the_game_is_over() {
    let mut lobby = lobby();
    let game = start_playing(&mut lobby);
    lobby.watch(&game).expect("running");
    let actions = lobby.disconnected(ConnId(2), 70_000);
    assert!(actions.contains(&Action::SpectateEnd(game.clone())), "{actions:?}");
    assert!(lobby.unwatch(&game).is_empty(), "nothing left to turn off");
    assert!(!lobby.tick(80_000).contains(&Action::SpectateEnd(game)), "once");
}

#[test]
fn when_the_feeding_player_moves_on_first_its_partner_feeds_without_repeating_rows() {
    let mut lobby = lobby();
    let game = start_playing(&mut lobby);
    lobby.watch(&game).expect("running");
    lobby.message(ConnId(1), frames(&game, 0, 0, 10), 61_000);
    let scene = lobby.conns[&ConnId(1)].scene as u32;
    let moved_on = lobby.message(ConnId(1), ClientMsg::Advance { from: scene }, 62_000);
    assert_eq!(watch_messages(&moved_on), [(2, true)], "{moved_on:?}");
    // The new feeder starts at the episode's first row; only the rows not seen yet go out.
    let actions = lobby.message(ConnId(2), frames(&game, 0, 0, 16), 62_100);
    let new: Vec<_> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Spectate(batch) => {
                Some((batch.t, batch.frame, batch.seed, batch.actions.len()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(new, [(10, 100, None, 12)]);
}
