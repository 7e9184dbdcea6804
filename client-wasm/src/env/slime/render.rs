//! Drawing the court in units of 10 px (y down, as painters draw): sky, ground, net, the two
//! players with an eye that follows the ball, and the ball.

use crate::env::{
    Color, Painter,
    slime::{BALL_RADIUS, Body, HEIGHT, NET_HALF_WIDTH, NET_HEIGHT, NET_X, SLIME_RADIUS, Slime},
};

/// Hundredths of a pixel per drawing unit.
const UNIT: f32 = 1_000.0;
const GROUND: f32 = 1.0;
pub(super) const VIEW: (f32, f32) = (48.0, HEIGHT as f32 / UNIT + GROUND);

const SKY: Color = Color(222, 236, 248);
const FLOOR: Color = Color(176, 141, 102);
const NET: Color = Color(90, 90, 96);
const BALL: Color = Color(240, 180, 40);
const WHITE: Color = Color(255, 255, 255);
const INK: Color = Color(30, 30, 30);
/// Player 0 blue, player 1 green, as in Overcooked.
const PLAYERS: [Color; 2] = [Color(52, 110, 220), Color(40, 160, 90)];

fn x(v: i32) -> f32 {
    v as f32 / UNIT
}

fn y(v: i32) -> f32 {
    (HEIGHT - v) as f32 / UNIT
}

pub(super) fn draw(s: &Slime, p: &mut dyn Painter) {
    let (width, height) = VIEW;
    p.rect(0.0, 0.0, width, height, SKY);
    p.rect(0.0, y(0), width, GROUND, FLOOR);
    let net_h = NET_HEIGHT as f32 / UNIT;
    p.rect(x(NET_X - NET_HALF_WIDTH), y(NET_HEIGHT), x(2 * NET_HALF_WIDTH), net_h, NET);
    for (body, color) in s.players.iter().zip(PLAYERS) {
        player(p, body, &s.ball, color);
    }
    p.circle(x(s.ball.x), y(s.ball.y), x(BALL_RADIUS), BALL);
}

fn player(p: &mut dyn Painter, body: &Body, ball: &Body, color: Color) {
    p.half_disc(x(body.x), y(body.y), x(SLIME_RADIUS), color);
    // The eye sits towards the net side of the top and its pupil looks at the ball.
    let towards_net = if body.x < NET_X { 1.0 } else { -1.0 };
    let (ex, ey) = (x(body.x) + towards_net * 1.2, y(body.y) - 1.6);
    p.circle(ex, ey, 0.55, WHITE);
    let (dx, dy) = (x(ball.x) - ex, y(ball.y) - ey);
    let len = (dx * dx + dy * dy).sqrt().max(0.001);
    p.circle(ex + 0.25 * dx / len, ey + 0.25 * dy / len, 0.25, INK);
}
