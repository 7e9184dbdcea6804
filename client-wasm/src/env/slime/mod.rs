//! Slime Volleyball: two half-disc players, one ball, one net. Fast and continuous, so it is
//! where rollback matters most.
//!
//! Physics are integers in hundredths of a pixel on a 480 × 240 px court (y up, the ground at
//! 0), with fixed steps, so both peers compute bit-identical states without relying on float
//! behaviour. Each step: the players move (left, right, jump; gravity), then the ball falls,
//! bounces off the walls, the ceiling, the net and the players (the ball's velocity relative
//! to the player is reflected about the contact normal), and a ball that touches the ground
//! scores a point for the other side. After a point the ball waits [`SERVE_DELAY`] steps above
//! the side that lost it. The episode ends when a side reaches `points_to_win`.
//!
//! Actions: 0 none, 1 left, 2 right, 3 jump, 4 left + jump, 5 right + jump.

mod render;
#[cfg(test)]
mod tests;

use crate::env::{
    Action, Env, EnvError, EnvIdentity, InfoName, InputMode, KeyBinding, Painter, StepResult,
    bytes::StateReader,
};

pub const NONE: Action = 0;
pub const LEFT: Action = 1;
pub const RIGHT: Action = 2;
pub const JUMP: Action = 3;
pub const LEFT_JUMP: Action = 4;
pub const RIGHT_JUMP: Action = 5;
const NUM_ACTIONS: u8 = 6;

/// Court size, in hundredths of a pixel.
pub const WIDTH: i32 = 48_000;
pub const HEIGHT: i32 = 24_000;
pub const NET_X: i32 = WIDTH / 2;
pub const NET_HALF_WIDTH: i32 = 400;
pub const NET_HEIGHT: i32 = 4_000;
pub const SLIME_RADIUS: i32 = 3_000;
pub const BALL_RADIUS: i32 = 900;
/// Per step.
pub const SLIME_SPEED: i32 = 500;
pub const JUMP_SPEED: i32 = 1_300;
pub const SLIME_GRAVITY: i32 = 100;
pub const BALL_GRAVITY: i32 = 50;
pub const MAX_BALL_SPEED: i32 = 1_500;
/// Height the ball waits at before a serve.
pub const SERVE_HEIGHT: i32 = 16_000;
/// Steps the ball waits before a serve.
pub const SERVE_DELAY: u32 = 30;

/// Rule parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// Points that win an episode; 0 plays until the step limit.
    pub points_to_win: u16,
}

impl Default for Rules {
    fn default() -> Self {
        Self { points_to_win: 5 }
    }
}

/// A point, or the position and velocity of a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Body {
    pub x: i32,
    pub y: i32,
    pub vx: i32,
    pub vy: i32,
}

/// The whole state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slime {
    rules: Rules,
    pub players: [Body; 2],
    pub ball: Body,
    pub points: [u16; 2],
    /// Ball touches per player this episode.
    pub touches: [u32; 2],
    /// Touches since the last serve.
    pub rally: u32,
    /// Steps until the waiting ball is released; 0 while it is in play.
    pub serve_wait: u32,
    rng: u64,
}

const INFO_NAMES: [&str; 5] = ["points.0", "points.1", "touches.0", "touches.1", "rally"];

impl Slime {
    pub fn new(rules: Rules) -> Self {
        let mut slime = Self {
            rules,
            players: [Body::default(); 2],
            ball: Body::default(),
            points: [0; 2],
            touches: [0; 2],
            rally: 0,
            serve_wait: 0,
            rng: 1,
        };
        slime.reset(0);
        slime
    }

    pub fn rules(&self) -> Rules {
        self.rules
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    /// The ball waits above the middle of `side`'s half, with a small random drift.
    fn place_serve(&mut self, side: usize) {
        let x = if side == 0 { NET_X / 2 } else { NET_X + NET_X / 2 };
        let drift = (self.next_random() % 201) as i32 - 100;
        self.ball = Body { x, y: SERVE_HEIGHT, vx: drift, vy: 0 };
        self.serve_wait = SERVE_DELAY;
        self.rally = 0;
    }

    fn move_player(&mut self, player: usize, action: Action) {
        let (left, right, jump) = match action {
            LEFT => (true, false, false),
            RIGHT => (false, true, false),
            JUMP => (false, false, true),
            LEFT_JUMP => (true, false, true),
            RIGHT_JUMP => (false, true, true),
            _ => (false, false, false),
        };
        let (min_x, max_x) = if player == 0 {
            (SLIME_RADIUS, NET_X - NET_HALF_WIDTH - SLIME_RADIUS)
        } else {
            (NET_X + NET_HALF_WIDTH + SLIME_RADIUS, WIDTH - SLIME_RADIUS)
        };
        let p = &mut self.players[player];
        let dx = match (left, right) {
            (true, false) => -SLIME_SPEED,
            (false, true) => SLIME_SPEED,
            _ => 0,
        };
        let x = (p.x + dx).clamp(min_x, max_x);
        p.vx = x - p.x;
        p.x = x;
        if jump && p.y == 0 {
            p.vy = JUMP_SPEED;
        }
        p.y += p.vy;
        if p.y <= 0 {
            p.y = 0;
            p.vy = 0;
        } else {
            p.vy -= SLIME_GRAVITY;
        }
    }

    /// Bounces the ball off one player; true when the ball was hit (moving into the player).
    fn collide_with_player(&mut self, player: usize) -> bool {
        let p = self.players[player];
        let b = &mut self.ball;
        let (dx, dy) = (i64::from(b.x - p.x), i64::from(b.y - p.y));
        let reach = i64::from(SLIME_RADIUS + BALL_RADIUS);
        let dist2 = dx * dx + dy * dy;
        // The player is the upper half of a disc: only a ball above its centre touches it.
        if dy <= 0 || dist2 >= reach * reach || dist2 == 0 {
            return false;
        }
        let dist = (dist2 as u64).isqrt().max(1) as i64;
        b.x = p.x + (reach * dx / dist) as i32;
        b.y = p.y + (reach * dy / dist) as i32;
        let (rvx, rvy) = (i64::from(b.vx - p.vx), i64::from(b.vy - p.vy));
        // The relative speed along the normal: negative when the ball moves into the player.
        let along = (dx * rvx + dy * rvy) / dist;
        if along >= 0 {
            return false;
        }
        let vx = i64::from(b.vx) - 2 * dx * along / dist;
        let vy = i64::from(b.vy) - 2 * dy * along / dist;
        b.vx = clamp_speed(vx);
        b.vy = clamp_speed(vy);
        true
    }

    fn collide_with_net(&mut self) {
        let b = &mut self.ball;
        if (b.x - NET_X).abs() >= NET_HALF_WIDTH + BALL_RADIUS || b.y >= NET_HEIGHT + BALL_RADIUS {
            return;
        }
        if b.y > NET_HEIGHT {
            // On the top of the net.
            b.y = NET_HEIGHT + BALL_RADIUS;
            b.vy = b.vy.abs();
        } else if b.x < NET_X {
            b.x = NET_X - NET_HALF_WIDTH - BALL_RADIUS;
            b.vx = -b.vx.abs();
        } else {
            b.x = NET_X + NET_HALF_WIDTH + BALL_RADIUS;
            b.vx = b.vx.abs();
        }
    }

    /// Moves the ball one step; returns the side that scored, if the ball landed.
    fn move_ball(&mut self) -> Option<usize> {
        let b = &mut self.ball;
        b.vy = clamp_speed(i64::from(b.vy - BALL_GRAVITY));
        b.x += b.vx;
        b.y += b.vy;
        if b.x < BALL_RADIUS {
            b.x = BALL_RADIUS;
            b.vx = b.vx.abs();
        } else if b.x > WIDTH - BALL_RADIUS {
            b.x = WIDTH - BALL_RADIUS;
            b.vx = -b.vx.abs();
        }
        if b.y > HEIGHT - BALL_RADIUS {
            b.y = HEIGHT - BALL_RADIUS;
            b.vy = -b.vy.abs();
        }
        self.collide_with_net();
        for player in 0..2 {
            if self.collide_with_player(player) {
                self.touches[player] += 1;
                self.rally += 1;
            }
        }
        let b = &self.ball;
        if b.y <= BALL_RADIUS {
            // Landed on one side: the other side scores.
            return Some(if b.x < NET_X { 1 } else { 0 });
        }
        None
    }
}

fn clamp_speed(v: i64) -> i32 {
    v.clamp(-i64::from(MAX_BALL_SPEED), i64::from(MAX_BALL_SPEED)) as i32
}

impl Env for Slime {
    fn identity(&self) -> EnvIdentity {
        EnvIdentity { name: "slime_volleyball".into(), version: "1".into() }
    }

    fn num_players(&self) -> usize {
        2
    }

    fn num_actions(&self) -> u8 {
        NUM_ACTIONS
    }

    fn default_action(&self) -> Action {
        NONE
    }

    fn reset(&mut self, seed: u64) {
        // Never zero: xorshift would stay at zero forever.
        self.rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        self.players = [
            Body { x: NET_X / 2, ..Body::default() },
            Body { x: NET_X + NET_X / 2, ..Body::default() },
        ];
        self.points = [0; 2];
        self.touches = [0; 2];
        let first = (self.next_random() & 1) as usize;
        self.place_serve(first);
    }

    fn step(&mut self, actions: &[Action]) -> StepResult {
        for player in 0..2 {
            let action = actions.get(player).copied().filter(|a| *a < NUM_ACTIONS);
            self.move_player(player, action.unwrap_or(NONE));
        }
        let mut rewards = vec![0.0; 2];
        if self.serve_wait > 0 {
            self.serve_wait -= 1;
        } else if let Some(scorer) = self.move_ball() {
            self.points[scorer] = self.points[scorer].saturating_add(1);
            rewards[scorer] = 1.0;
            rewards[1 - scorer] = -1.0;
            // The side that lost the point serves.
            self.place_serve(1 - scorer);
        }
        let goal = self.rules.points_to_win;
        let terminated = goal > 0 && self.points.iter().any(|p| *p >= goal);
        let values = [
            i64::from(self.points[0]),
            i64::from(self.points[1]),
            i64::from(self.touches[0]),
            i64::from(self.touches[1]),
            i64::from(self.rally),
        ];
        let info = INFO_NAMES.iter().zip(values).map(|(k, v)| (InfoName::Borrowed(k), v)).collect();
        StepResult { rewards, terminated, info }
    }

    fn write_state(&self, out: &mut Vec<u8>) {
        for body in self.players.iter().chain([&self.ball]) {
            for v in [body.x, body.y, body.vx, body.vy] {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        for v in [
            u32::from(self.points[0]),
            u32::from(self.points[1]),
            self.touches[0],
            self.touches[1],
            self.rally,
            self.serve_wait,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&self.rng.to_le_bytes());
    }

    fn read_state(&mut self, bytes: &[u8]) -> Result<(), EnvError> {
        let mut r = StateReader::new(bytes);
        let mut next = self.clone();
        for body in next.players.iter_mut().chain([&mut next.ball]) {
            *body = Body { x: r.i32()?, y: r.i32()?, vx: r.i32()?, vy: r.i32()? };
        }
        let point = |v: u32| u16::try_from(v).map_err(|_| EnvError::Invalid("points"));
        next.points = [point(r.u32()?)?, point(r.u32()?)?];
        next.touches = [r.u32()?, r.u32()?];
        next.rally = r.u32()?;
        next.serve_wait = r.u32()?;
        next.rng = r.u64()?;
        r.finish()?;
        if next.rng == 0 {
            return Err(EnvError::Invalid("zero random state"));
        }
        let inside = |b: &Body| (0..=WIDTH).contains(&b.x) && (0..=HEIGHT * 2).contains(&b.y);
        if !next.players.iter().chain([&next.ball]).all(inside) {
            return Err(EnvError::Invalid("a body outside the court"));
        }
        *self = next;
        Ok(())
    }

    fn view_size(&self) -> (f32, f32) {
        render::VIEW
    }

    fn render(&self, painter: &mut dyn Painter) {
        render::draw(self, painter);
    }

    fn keys(&self) -> Vec<KeyBinding> {
        vec![
            KeyBinding::new("ArrowLeft", LEFT),
            KeyBinding::new("a", LEFT),
            KeyBinding::new("A", LEFT),
            KeyBinding::new("ArrowRight", RIGHT),
            KeyBinding::new("d", RIGHT),
            KeyBinding::new("D", RIGHT),
            KeyBinding::new("ArrowUp", JUMP),
            KeyBinding::new("w", JUMP),
            KeyBinding::new("W", JUMP),
            KeyBinding::new(" ", JUMP),
        ]
    }

    /// Left and right: the later one wins; jump combines with either.
    fn held_action(&self, held: &[Action]) -> Option<Action> {
        let side = held.iter().rev().copied().find(|a| *a == LEFT || *a == RIGHT);
        let jump = held.contains(&JUMP);
        match (side, jump) {
            (Some(LEFT), true) => Some(LEFT_JUMP),
            (Some(RIGHT), true) => Some(RIGHT_JUMP),
            (Some(side), false) => Some(side),
            (_, true) => Some(JUMP),
            (_, false) => None,
        }
    }

    fn default_input_mode(&self) -> InputMode {
        InputMode::Held
    }

    fn action_names(&self) -> Vec<String> {
        ["none", "left", "right", "jump", "left_jump", "right_jump"].map(String::from).to_vec()
    }

    fn help(&self) -> String {
        "move: ← → or A D · jump: ↑, W or space (hold the keys)".into()
    }

    fn player_name(&self, player: usize) -> String {
        ["Blue (left)", "Green (right)"]
            .get(player)
            .map_or_else(|| format!("{player}"), |s| (*s).to_owned())
    }

    fn score_text(&self, _score: f32) -> String {
        format!("Blue {}  :  {} Green", self.points[0], self.points[1])
    }
}
