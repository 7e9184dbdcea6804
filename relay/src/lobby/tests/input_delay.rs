//! `input_delay = "auto"`: the relay chooses one delay for the whole game from the round trips
//! the pages report when they validate, and sends it with `start`.

use rollgym_protocol::{AgreedDelay, InputDelay};

use super::*;

/// Starts a game of a and b whose pages report `rtts`; what each page's `start` says.
fn started_with(auto: bool, rtts: [Option<u32>; 2]) -> Vec<Option<AgreedDelay>> {
    let mut lobby = lobby_with(|c| {
        if auto {
            c.game.input_delay = InputDelay::Auto;
            c.game.input_delay_min = 1;
            c.game.input_delay_max = 6;
        }
    });
    join(&mut lobby, 1, "a");
    join(&mut lobby, 2, "b");
    let game = lobby.game_of(ConnId(1)).expect("paired").clone();
    for (conn, rtt_ms) in [1, 2].into_iter().zip(rtts) {
        let validated = ClientMsg::Validated { game_id: game.clone(), env: None, rtt_ms };
        lobby.message(ConnId(conn), validated, 100);
    }
    lobby
        .tick(60_000)
        .into_iter()
        .filter_map(|a| match a {
            Action::Send(_, ServerMsg::Start { input_delay, .. }) => Some(input_delay),
            _ => None,
        })
        .collect()
}

#[test]
fn both_players_get_the_delay_of_the_slower_round_trip() {
    // 30 fps: 150 ms round trip = 75 ms one way, + 17 ms = 3 frames.
    let agreed = Some(AgreedDelay { frames: 3, rtt_ms: Some(150) });
    assert_eq!(started_with(true, [Some(40), Some(150)]), vec![agreed, agreed]);
}

#[test]
fn the_bounds_hold_and_a_missing_round_trip_means_the_minimum() {
    let fast = Some(AgreedDelay { frames: 1, rtt_ms: Some(2) });
    assert_eq!(started_with(true, [Some(2), Some(1)]), vec![fast, fast]);
    let slow = Some(AgreedDelay { frames: 6, rtt_ms: Some(2_000) });
    let zero = Some(AgreedDelay { frames: 1, rtt_ms: Some(0) });
    assert_eq!(started_with(true, [Some(0), Some(0)]), vec![zero, zero]);
    assert_eq!(started_with(true, [Some(2_000), None]), vec![slow, slow]);
    let unknown = Some(AgreedDelay { frames: 1, rtt_ms: None });
    assert_eq!(started_with(true, [None, None]), vec![unknown, unknown]);
}

#[test]
fn a_fixed_delay_is_not_sent() {
    assert_eq!(started_with(false, [Some(150), Some(150)]), vec![None, None]);
}
