//! One test per rule of Slime Volleyball.

use super::*;

fn slime() -> Slime {
    let mut s = Slime::new(Rules::default());
    s.reset(7);
    s
}

/// A state with the ball in play (no serve wait) at a chosen place.
fn in_play(ball: Body) -> Slime {
    let mut s = slime();
    s.serve_wait = 0;
    s.ball = ball;
    s
}

fn steps(s: &mut Slime, actions: [Action; 2], n: usize) -> Vec<StepResult> {
    (0..n).map(|_| s.step(&actions)).collect()
}

#[test]
fn players_move_and_stay_on_their_own_side() {
    let mut s = slime();
    let start = s.players[0].x;
    s.step(&[RIGHT, LEFT]);
    assert_eq!(s.players[0].x, start + SLIME_SPEED);
    steps(&mut s, [RIGHT, LEFT], 200);
    assert_eq!(s.players[0].x, NET_X - NET_HALF_WIDTH - SLIME_RADIUS, "left stops at the net");
    assert_eq!(s.players[1].x, NET_X + NET_HALF_WIDTH + SLIME_RADIUS, "right stops at the net");
    steps(&mut s, [LEFT, RIGHT], 200);
    assert_eq!(s.players[0].x, SLIME_RADIUS);
    assert_eq!(s.players[1].x, WIDTH - SLIME_RADIUS);
}

#[test]
fn a_jump_rises_falls_back_and_cannot_be_repeated_in_the_air() {
    let mut s = slime();
    s.step(&[JUMP, NONE]);
    assert!(s.players[0].y > 0);
    let mut peak = 0;
    for _ in 0..60 {
        // Holding jump in the air does not jump again.
        s.step(&[JUMP, NONE]);
        peak = peak.max(s.players[0].y);
        if s.players[0].y == 0 {
            break;
        }
    }
    assert_eq!(s.players[0].y, 0, "back on the ground");
    let expected = JUMP_SPEED * JUMP_SPEED / (2 * SLIME_GRAVITY);
    assert!((peak - expected).abs() < JUMP_SPEED, "peak {peak} near {expected}");
}

#[test]
fn combined_actions_move_and_jump() {
    let mut s = slime();
    let x = s.players[1].x;
    s.step(&[NONE, LEFT_JUMP]);
    assert_eq!(s.players[1].x, x - SLIME_SPEED);
    assert!(s.players[1].y > 0);
}

#[test]
fn out_of_range_actions_do_nothing() {
    let mut s = slime();
    let before = s.players;
    s.step(&[NUM_ACTIONS, 200]);
    assert_eq!(s.players, before);
}

#[test]
fn the_ball_waits_before_the_serve_then_falls() {
    let mut s = slime();
    let ball = s.ball;
    steps(&mut s, [NONE, NONE], SERVE_DELAY as usize);
    assert_eq!(s.ball, ball, "frozen while the serve waits");
    s.step(&[NONE, NONE]);
    assert!(s.ball.y < ball.y, "falls once released");
    assert_eq!(s.ball.vy, -BALL_GRAVITY);
}

#[test]
fn a_ball_landing_on_one_side_scores_for_the_other_and_the_loser_serves() {
    let mut s = in_play(Body { x: 5_000, y: BALL_RADIUS + 10, vx: 0, vy: -100 });
    let result = s.step(&[NONE, NONE]);
    assert_eq!(s.points, [0, 1]);
    assert_eq!(result.rewards, vec![-1.0, 1.0]);
    assert_eq!(s.serve_wait, SERVE_DELAY);
    assert!(s.ball.x < NET_X, "the side that lost the point serves");
    assert_eq!(s.rally, 0);
}

#[test]
fn the_ball_bounces_off_a_player_and_counts_a_touch() {
    let mut s = slime();
    let p = s.players[0];
    s.serve_wait = 0;
    s.ball = Body { x: p.x, y: SLIME_RADIUS + BALL_RADIUS + 200, vx: 0, vy: -600 };
    s.step(&[NONE, NONE]);
    assert!(s.ball.vy > 0, "bounced up: {:?}", s.ball);
    assert_eq!(s.touches, [1, 0]);
    assert_eq!(s.rally, 1);
    let dx = i64::from(s.ball.x - p.x);
    let dy = i64::from(s.ball.y - p.y);
    let reach = i64::from(SLIME_RADIUS + BALL_RADIUS);
    assert!(dx * dx + dy * dy >= (reach - 2) * (reach - 2), "pushed out of the player");
}

#[test]
fn the_net_sends_the_ball_back() {
    let mut s = in_play(Body {
        x: NET_X - NET_HALF_WIDTH - BALL_RADIUS - 100,
        y: NET_HEIGHT / 2,
        vx: 800,
        vy: 0,
    });
    s.step(&[NONE, NONE]);
    assert!(s.ball.vx < 0, "bounced back: {:?}", s.ball);
    assert!(s.ball.x < NET_X);
}

#[test]
fn the_top_of_the_net_bounces_the_ball_up() {
    let mut s = in_play(Body { x: NET_X, y: NET_HEIGHT + BALL_RADIUS + 100, vx: 0, vy: -300 });
    s.step(&[NONE, NONE]);
    assert!(s.ball.vy > 0, "{:?}", s.ball);
}

#[test]
fn walls_and_ceiling_keep_the_ball_in() {
    let mut s = in_play(Body { x: BALL_RADIUS + 100, y: 10_000, vx: -800, vy: 0 });
    s.step(&[NONE, NONE]);
    assert!(s.ball.vx > 0 && s.ball.x >= BALL_RADIUS);
    let mut s = in_play(Body { x: 10_000, y: HEIGHT - BALL_RADIUS - 100, vx: 0, vy: 900 });
    s.step(&[NONE, NONE]);
    assert!(s.ball.vy < 0 && s.ball.y <= HEIGHT - BALL_RADIUS);
}

#[test]
fn ball_speed_is_bounded() {
    let mut s = in_play(Body { x: 10_000, y: 20_000, vx: 0, vy: 0 });
    for _ in 0..200 {
        s.step(&[NONE, NONE]);
        assert!(s.ball.vx.abs() <= MAX_BALL_SPEED && s.ball.vy.abs() <= MAX_BALL_SPEED);
    }
}

#[test]
fn the_episode_ends_at_the_winning_score() {
    let mut s = Slime::new(Rules { points_to_win: 2 });
    s.reset(1);
    s.points = [1, 0];
    s.serve_wait = 0;
    s.ball = Body { x: 40_000, y: BALL_RADIUS + 10, vx: 0, vy: -100 };
    let result = s.step(&[NONE, NONE]);
    assert!(result.terminated);
    assert_eq!(s.points, [2, 0]);
    let mut endless = Slime::new(Rules { points_to_win: 0 });
    endless.points = [999, 0];
    assert!(!endless.step(&[NONE, NONE]).terminated, "0 plays until the step limit");
}

#[test]
fn infos_name_points_touches_and_the_rally() {
    let mut s = slime();
    let result = s.step(&[NONE, NONE]);
    let names: Vec<&str> = result.info.iter().map(|(k, _)| k.as_ref()).collect();
    assert_eq!(names, ["points.0", "points.1", "touches.0", "touches.1", "rally"]);
}

#[test]
fn the_same_seed_and_actions_give_the_same_game() {
    let play = |seed: u64| {
        let mut s = Slime::new(Rules::default());
        s.reset(seed);
        let mut hashes = Vec::new();
        for t in 0..600u32 {
            let a = [(t / 7 % 6) as u8, (t / 5 % 6) as u8];
            s.step(&a);
            hashes.push(s.state_hash());
        }
        hashes
    };
    assert_eq!(play(3), play(3));
    assert_ne!(play(3), play(4), "the seed decides the serve");
}

#[test]
fn state_bytes_round_trip_and_reject_bad_input() {
    let mut s = slime();
    steps(&mut s, [RIGHT_JUMP, LEFT], 45);
    let mut bytes = Vec::new();
    s.write_state(&mut bytes);
    let mut other = Slime::new(Rules::default());
    other.read_state(&bytes).expect("reads its own bytes");
    assert_eq!(other, s);
    assert_eq!(other.read_state(&bytes[..bytes.len() - 1]), Err(EnvError::Truncated));
    let mut long = bytes.clone();
    long.push(0);
    assert_eq!(other.read_state(&long), Err(EnvError::Trailing(1)));
    let mut outside = bytes.clone();
    outside[0..4].copy_from_slice(&(-5i32).to_le_bytes());
    assert!(matches!(other.read_state(&outside), Err(EnvError::Invalid(_))));
    assert_eq!(other, s, "a failed read changes nothing");
}

#[test]
fn held_keys_combine_a_direction_with_jump() {
    let s = slime();
    assert_eq!(s.held_action(&[]), None);
    assert_eq!(s.held_action(&[LEFT]), Some(LEFT));
    assert_eq!(s.held_action(&[LEFT, JUMP]), Some(LEFT_JUMP));
    assert_eq!(s.held_action(&[JUMP, RIGHT]), Some(RIGHT_JUMP));
    assert_eq!(s.held_action(&[LEFT, RIGHT]), Some(RIGHT), "the later direction wins");
    assert_eq!(s.held_action(&[JUMP]), Some(JUMP));
}

#[test]
fn the_court_is_drawn_inside_its_view() {
    use crate::env::paint::{Recording, assert_inside};
    let mut s = slime();
    let mut drawn = Recording::default();
    for _ in 0..300 {
        s.step(&[RIGHT_JUMP, LEFT_JUMP]);
        s.render(&mut drawn);
    }
    assert_inside(&drawn, s.view_size(), 0.01);
}
