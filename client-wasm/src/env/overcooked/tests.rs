//! One test per rule, on the cramped_room kitchen:
//!
//! ```text
//! XXPXX    player 0 starts at (1,2), player 1 at (3,1)
//! O  2O
//! X1  X
//! XDXSX
//! ```

use super::*;

fn kitchen() -> Overcooked {
    let mut env =
        Overcooked::new(Layout::classic("cramped_room").expect("layout"), Rules { cook_time: 5 });
    env.reset(7);
    env
}

/// Player 0 does `script`, player 1 stays; returns player 0's total reward.
fn solo(env: &mut Overcooked, script: &[Action]) -> f32 {
    script.iter().map(|&a| env.step(&[a, STAY]).rewards[0]).sum()
}

#[test]
fn moves_onto_floor_and_turns_against_walls() {
    let mut env = kitchen();
    solo(&mut env, &[NORTH]);
    assert_eq!(env.chefs[0].pos, (1, 1));
    solo(&mut env, &[WEST]);
    assert_eq!(env.chefs[0].pos, (1, 1), "onion dispenser blocks");
    assert_eq!(env.chefs[0].facing, Facing::West, "but the chef turns");
}

#[test]
fn chefs_block_each_other() {
    let mut env = kitchen();
    // Player 0 to (2,1), then east into player 1 at (3,1), who stays.
    solo(&mut env, &[NORTH, EAST, EAST]);
    assert_eq!(env.chefs[0].pos, (2, 1));
    assert_eq!(env.chefs[1].pos, (3, 1));
}

#[test]
fn chefs_cannot_swap() {
    let mut env = kitchen();
    solo(&mut env, &[NORTH, EAST]); // player 0 at (2,1), player 1 at (3,1)
    env.step(&[EAST, WEST]);
    assert_eq!((env.chefs[0].pos, env.chefs[1].pos), ((2, 1), (3, 1)));
}

#[test]
fn chefs_cannot_enter_the_same_cell() {
    let mut env = kitchen();
    solo(&mut env, &[NORTH]); // player 0 at (1,1); (2,1) is between them
    env.step(&[EAST, WEST]);
    assert_eq!((env.chefs[0].pos, env.chefs[1].pos), ((1, 1), (3, 1)));
}

#[test]
fn dispensers_give_only_to_empty_hands() {
    let mut env = kitchen();
    solo(&mut env, &[NORTH, WEST, INTERACT]);
    assert_eq!(env.chefs[0].held, Some(Item::Onion));
    assert_eq!(env.tally[0].onions_picked, 1);
    solo(&mut env, &[INTERACT]);
    assert_eq!(env.tally[0].onions_picked, 1, "hands are full");
}

#[test]
fn counters_take_and_give_items() {
    let mut env = kitchen();
    solo(&mut env, &[NORTH, WEST, INTERACT, SOUTH, WEST]); // at (1,2) facing the counter (0,2)
    assert_eq!(env.chefs[0].facing, Facing::West);
    solo(&mut env, &[INTERACT]);
    assert_eq!(env.chefs[0].held, None);
    let counter = env.layout().index((0, 2)).expect("in grid");
    assert_eq!(env.counters[counter], Some(Item::Onion));
    solo(&mut env, &[INTERACT]);
    assert_eq!(env.chefs[0].held, Some(Item::Onion));
    assert_eq!(env.counters[counter], None);
}

/// From (1,2): fetch an onion and put it in the pot; ends at (2,1) facing the pot.
const POT_ONION: [Action; 6] = [NORTH, WEST, INTERACT, EAST, NORTH, INTERACT];
/// From (2,1): back to the start cell (1,2) facing west.
const BACK: [Action; 2] = [SOUTH, WEST];

#[test]
fn a_full_soup_cooks_is_served_and_rewards_both() {
    let mut env = kitchen();
    for _ in 0..3 {
        assert_eq!(solo(&mut env, &POT_ONION), 0.0);
        solo(&mut env, &BACK);
    }
    assert_eq!(env.pots[0].onions, 3);
    assert!(!env.pots[0].is_ready(env.rules()));
    // Dish from (1,3) below, then back to the pot; that takes longer than cooking (5 steps).
    solo(&mut env, &[SOUTH, INTERACT]);
    assert_eq!(env.chefs[0].held, Some(Item::Dish));
    assert!(env.pots[0].is_ready(env.rules()));
    solo(&mut env, &[NORTH, EAST, NORTH, INTERACT]);
    assert_eq!(env.chefs[0].held, Some(Item::Soup));
    assert_eq!(env.pots[0], Pot::default(), "the pot is empty again");
    let before = env.soups_delivered;
    let result = {
        solo(&mut env, &[SOUTH, EAST]);
        env.step(&[SOUTH, STAY]);
        env.step(&[INTERACT, STAY])
    };
    assert_eq!(result.rewards, vec![SOUP_REWARD, SOUP_REWARD], "shared reward");
    assert_eq!(env.soups_delivered, before + 1);
    assert_eq!(env.chefs[0].held, None);
    assert!(result.info.contains(&("soups_delivered.0".into(), 1)));
    assert!(result.info.contains(&("onions_potted.0".into(), 3)));
}

#[test]
fn a_pot_takes_at_most_three_onions_and_no_dish_before_it_is_ready() {
    let mut env = kitchen();
    for _ in 0..3 {
        solo(&mut env, &POT_ONION);
        solo(&mut env, &BACK);
    }
    solo(&mut env, &POT_ONION[..5]); // a fourth onion in hand, facing the pot
    solo(&mut env, &[INTERACT]);
    assert_eq!(env.pots[0].onions, 3);
    assert_eq!(env.chefs[0].held, Some(Item::Onion));
}

#[test]
fn out_of_range_actions_are_stay() {
    let mut a = kitchen();
    let mut b = kitchen();
    a.step(&[200, 77]);
    b.step(&[STAY, STAY]);
    assert_eq!(a, b);
}

#[test]
fn state_bytes_round_trip_and_garbage_is_refused() {
    let mut env = kitchen();
    solo(&mut env, &POT_ONION);
    let mut bytes = Vec::new();
    env.write_state(&mut bytes);
    let mut other = kitchen();
    other.read_state(&bytes).expect("round trip");
    assert_eq!(other, env);
    assert_eq!(other.state_hash(), env.state_hash());
    assert_eq!(other.read_state(&bytes[..bytes.len() - 1]), Err(EnvError::Truncated));
    let mut long = bytes.clone();
    long.push(0);
    assert_eq!(other.read_state(&long), Err(EnvError::Trailing(1)));
    let mut bad = bytes;
    let last = bad.len() - 1;
    bad[last] = 9;
    assert!(matches!(other.read_state(&bad), Err(EnvError::Invalid(_))));
    assert_eq!(other, env, "a failed load changes nothing");
}

#[test]
fn reset_with_the_same_seed_gives_the_same_state() {
    let mut a = kitchen();
    solo(&mut a, &POT_ONION);
    a.reset(42);
    let mut b = kitchen();
    b.reset(42);
    assert_eq!(a.state_hash(), b.state_hash());
    b.reset(43);
    assert_ne!(a.state_hash(), b.state_hash(), "the seed is part of the state");
}

#[test]
fn every_layout_runs_deterministically() {
    for (name, _) in layout::built_in() {
        let mut a = Overcooked::new(Layout::classic(name).expect("layout"), Rules::default());
        a.reset(1);
        let mut b = a.clone();
        let mut x = 12345u32;
        let mut moved = false;
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let actions: Vec<Action> =
                (0..a.num_players()).map(|i| ((x >> (6 * i)) % 6) as u8).collect();
            assert_eq!(a.step(&actions), b.step(&actions));
            moved |= a.chefs[0].pos != a.layout().starts[0];
        }
        assert_eq!(a.state_hash(), b.state_hash(), "{name}");
        assert!(moved, "{name}: random play moves the chef");
    }
}

#[test]
fn the_kitchen_is_drawn_inside_its_view_with_labels_and_a_you_marker() {
    use crate::env::paint::{Recording, assert_inside};
    for (name, _) in crate::env::overcooked::layout::built_in() {
        let mut env = Overcooked::new(Layout::classic(name).expect("layout"), Rules::default());
        env.chefs[0].held = Some(Item::Soup);
        let mut drawn = Recording { player: Some(1), ..Recording::default() };
        env.render(&mut drawn);
        assert_inside(&drawn, env.view_size(), 0.0);
        for label in ["onions", "dishes", "serve", "you"] {
            assert!(drawn.texts.iter().any(|t| t == label), "{name}: {label} in {:?}", drawn.texts);
        }
        let mut nobody = Recording::default();
        env.render(&mut nobody);
        assert!(!nobody.texts.iter().any(|t| t == "you"), "no marker without a local player");
    }
}
