//! Drawing the kitchen in cell units, recognisably: onions (a bulb with a sprout), dishes (a
//! white plate), soup (a plate of orange), pots with handles, the onions in them and a cooking
//! bar, labelled dispensers and serving window, chefs with a hat in their player's colour, and
//! a "you" marker over this page's chef.

use crate::env::{
    Color, Painter,
    overcooked::{Facing, Item, ONIONS_PER_SOUP, Overcooked, Pot, Rules, Tile},
};

const FLOOR: Color = Color(238, 232, 218);
const COUNTER: Color = Color(176, 141, 102);
const CRATE: Color = Color(140, 106, 72);
const ONION: Color = Color(222, 178, 60);
const SPROUT: Color = Color(90, 160, 60);
const PLATE: Color = Color(250, 250, 250);
const RIM: Color = Color(190, 190, 196);
const SOUP: Color = Color(224, 112, 40);
const POT: Color = Color(70, 70, 78);
const BAR: Color = Color(40, 40, 44);
const SERVING: Color = Color(120, 190, 120);
const INK: Color = Color(30, 30, 30);
const WHITE: Color = Color(255, 255, 255);
/// Player 0 blue, player 1 green, as in the Overcooked-AI renderings; then orange and purple.
const CHEFS: [Color; 4] =
    [Color(52, 110, 220), Color(40, 160, 90), Color(230, 120, 30), Color(150, 70, 190)];

pub(super) fn draw(s: &Overcooked, p: &mut dyn Painter) {
    let layout = s.layout();
    for y in 0..layout.height {
        for x in 0..layout.width {
            let (fx, fy) = (f32::from(x), f32::from(y));
            match layout.tile((x, y)) {
                Tile::Floor => p.rect(fx, fy, 1.0, 1.0, FLOOR),
                Tile::Counter => p.rect(fx, fy, 1.0, 1.0, COUNTER),
                Tile::OnionDispenser => dispenser(p, fx, fy, Item::Onion, "onions"),
                Tile::DishDispenser => dispenser(p, fx, fy, Item::Dish, "dishes"),
                Tile::Serving => {
                    p.rect(fx, fy, 1.0, 1.0, SERVING);
                    p.text(fx + 0.5, fy + 0.5, 0.26, INK, "serve");
                }
                Tile::Pot(i) => {
                    let pot = s.pots.get(usize::from(i)).copied().unwrap_or_default();
                    pot_tile(p, fx, fy, pot, *s.rules());
                }
            }
            if let Some(item) = layout.index((x, y)).and_then(|i| s.counters[i]) {
                item_icon(p, fx + 0.5, fy + 0.5, 0.26, item);
            }
        }
    }
    let you = p.local_player();
    for (index, (chef, color)) in s.chefs.iter().zip(CHEFS).enumerate() {
        let (cx, cy) = (f32::from(chef.pos.0) + 0.5, f32::from(chef.pos.1) + 0.5);
        let (dx, dy) = match chef.facing {
            Facing::North => (0.0, -1.0),
            Facing::South => (0.0, 1.0),
            Facing::East => (1.0, 0.0),
            Facing::West => (-1.0, 0.0),
        };
        // Body, then the hat (white, banded in the player's colour), then a hand facing ahead.
        p.circle(cx, cy + 0.06, 0.32, color);
        p.rect(cx - 0.17, cy - 0.3, 0.34, 0.14, WHITE);
        p.circle(cx, cy - 0.34, 0.15, WHITE);
        p.rect(cx - 0.17, cy - 0.2, 0.34, 0.05, color);
        p.circle(cx + dx * 0.3, cy + 0.06 + dy * 0.3, 0.08, INK);
        if let Some(item) = chef.held {
            item_icon(p, cx + dx * 0.38, cy + 0.08 + dy * 0.38, 0.17, item);
        }
        if you == Some(index) {
            // On the chef's body: never over a neighbouring cell's label.
            p.text(cx, cy + 0.2, 0.2, WHITE, "you");
        }
    }
}

/// A counter with a crate of `item` and its name.
fn dispenser(p: &mut dyn Painter, x: f32, y: f32, item: Item, label: &str) {
    p.rect(x, y, 1.0, 1.0, COUNTER);
    p.rect(x + 0.1, y + 0.08, 0.8, 0.62, CRATE);
    item_icon(p, x + 0.36, y + 0.36, 0.16, item);
    item_icon(p, x + 0.64, y + 0.42, 0.16, item);
    p.text(x + 0.5, y + 0.86, 0.2, WHITE, label);
}

/// A pot with handles, its onions (or soup), and a cooking bar.
fn pot_tile(p: &mut dyn Painter, x: f32, y: f32, pot: Pot, rules: Rules) {
    p.rect(x, y, 1.0, 1.0, COUNTER);
    p.rect(x + 0.08, y + 0.42, 0.84, 0.1, POT);
    p.circle(x + 0.5, y + 0.45, 0.33, POT);
    let (cx, cy) = (x + 0.5, y + 0.45);
    if pot.is_ready(&rules) {
        p.circle(cx, cy, 0.24, SOUP);
        p.text(cx, y + 0.9, 0.2, WHITE, "ready");
        return;
    }
    for i in 0..pot.onions.min(ONIONS_PER_SOUP) {
        let offset = (f32::from(i) - 1.0) * 0.17;
        p.circle(cx + offset, cy, 0.08, ONION);
    }
    if pot.onions == ONIONS_PER_SOUP {
        // Cooking: a bar that fills as the soup cooks.
        let done = f32::from(pot.cooked) / f32::from(rules.cook_time.max(1));
        p.rect(x + 0.15, y + 0.84, 0.7, 0.1, BAR);
        p.rect(x + 0.15, y + 0.84, 0.7 * done.clamp(0.0, 1.0), 0.1, SOUP);
    } else {
        p.text(cx, y + 0.9, 0.2, WHITE, &format!("{}/{}", pot.onions, ONIONS_PER_SOUP));
    }
}

/// An item centred on `(cx, cy)` with radius `r`.
fn item_icon(p: &mut dyn Painter, cx: f32, cy: f32, r: f32, item: Item) {
    match item {
        Item::Onion => {
            p.rect(cx - r * 0.12, cy - r * 1.25, r * 0.24, r * 0.5, SPROUT);
            p.circle(cx, cy, r * 0.8, ONION);
        }
        Item::Dish => {
            p.circle(cx, cy, r, RIM);
            p.circle(cx, cy, r * 0.78, PLATE);
        }
        Item::Soup => {
            p.circle(cx, cy, r, RIM);
            p.circle(cx, cy, r * 0.78, PLATE);
            p.circle(cx, cy, r * 0.55, SOUP);
        }
    }
}
