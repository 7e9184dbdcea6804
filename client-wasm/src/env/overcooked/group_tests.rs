//! Kitchens for three and four chefs: movement among more than two chefs, the shared reward,
//! every player's info columns and state bytes. On wide_room_3:
//!
//! ```text
//! XXPXPXX    player 0 starts at (3,1), player 1 at (1,2), player 2 at (5,2)
//! O  1  O
//! X2   3X
//! XDXSXDX
//! ```

use super::*;

fn kitchen(name: &str) -> Overcooked {
    let mut env = Overcooked::new(Layout::classic(name).expect("layout"), Rules { cook_time: 5 });
    env.reset(3);
    env
}

fn positions(env: &Overcooked) -> Vec<Pos> {
    env.chefs.iter().map(|c| c.pos).collect()
}

#[test]
fn a_kitchen_has_a_chef_per_starting_cell() {
    let three = kitchen("wide_room_3");
    assert_eq!(three.num_players(), 3);
    assert_eq!(positions(&three), [(3, 1), (1, 2), (5, 2)]);
    assert_eq!(kitchen("open_kitchen_4").num_players(), 4);
    assert_eq!(three.player_name(2), "the orange chef");
}

#[test]
fn three_chefs_heading_for_one_cell_all_stay() {
    let mut env = kitchen("wide_room_3");
    env.step(&[STAY, EAST, WEST]);
    assert_eq!(positions(&env), [(3, 1), (2, 2), (4, 2)]);
    env.step(&[SOUTH, EAST, WEST]); // all three into (3,2)
    assert_eq!(positions(&env), [(3, 1), (2, 2), (4, 2)]);
}

#[test]
fn chefs_follow_one_another_unless_the_front_one_is_blocked() {
    let mut env = kitchen("wide_room_3");
    env.step(&[SOUTH, EAST, STAY]);
    assert_eq!(positions(&env), [(3, 2), (2, 2), (5, 2)]);
    // Player 0 leaves (3,2) as player 1 enters it: both move.
    env.step(&[EAST, EAST, STAY]);
    assert_eq!(positions(&env), [(4, 2), (3, 2), (5, 2)]);
    // Player 0 runs into player 2, who stays: player 0 stays, so player 1 behind it stays too.
    env.step(&[EAST, EAST, STAY]);
    assert_eq!(positions(&env), [(4, 2), (3, 2), (5, 2)]);
    assert!(env.chefs.iter().take(2).all(|c| c.facing == Facing::East), "but they turn");
}

#[test]
fn every_chef_shares_the_reward_and_has_its_own_columns() {
    let mut env = kitchen("open_kitchen_4");
    let result = env.step(&[STAY; 4]);
    assert_eq!(result.rewards, vec![0.0; 4]);
    let keys: Vec<String> = result.info.iter().map(|(k, _)| k.to_string()).collect();
    assert_eq!(keys.len(), 20);
    assert!(keys.contains(&"soups_delivered.3".to_owned()), "{keys:?}");
    // Missing actions are "stay": a short action list never panics.
    assert_eq!(env.step(&[NORTH]).rewards.len(), 4);
}

#[test]
fn state_bytes_carry_every_chef_and_only_fit_their_own_kitchen() {
    let mut env = kitchen("open_kitchen_4");
    for actions in [[SOUTH, SOUTH, NORTH, NORTH], [EAST, WEST, EAST, WEST], [INTERACT; 4]] {
        env.step(&actions);
    }
    let mut bytes = Vec::new();
    env.write_state(&mut bytes);
    let mut copy = kitchen("open_kitchen_4");
    copy.read_state(&bytes).expect("its own bytes");
    assert_eq!(copy, env);
    let mut three = kitchen("wide_room_3");
    assert!(three.read_state(&bytes).is_err(), "four chefs' bytes are not a three-chef state");
}
