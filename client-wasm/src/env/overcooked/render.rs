//! Drawing the kitchen in cell units: terrain, items, pots with their progress, chefs.

use crate::env::{
    Color, Painter,
    overcooked::{Facing, Item, ONIONS_PER_SOUP, Overcooked, Tile},
};

const FLOOR: Color = Color(238, 232, 218);
const COUNTER: Color = Color(176, 141, 102);
const ONION: Color = Color(230, 196, 60);
const DISH: Color = Color(250, 250, 250);
const SOUP: Color = Color(224, 112, 40);
const POT: Color = Color(70, 70, 78);
const SERVING: Color = Color(120, 190, 120);
const INK: Color = Color(30, 30, 30);
/// Player 0 blue, player 1 green, as in the Overcooked-AI renderings.
const CHEFS: [Color; 2] = [Color(52, 110, 220), Color(40, 160, 90)];

pub(super) fn draw(s: &Overcooked, p: &mut dyn Painter) {
    let layout = s.layout();
    for y in 0..layout.height {
        for x in 0..layout.width {
            let (fx, fy) = (f32::from(x), f32::from(y));
            match layout.tile((x, y)) {
                Tile::Floor => p.rect(fx, fy, 1.0, 1.0, FLOOR),
                Tile::Counter => p.rect(fx, fy, 1.0, 1.0, COUNTER),
                Tile::OnionDispenser => {
                    p.rect(fx, fy, 1.0, 1.0, COUNTER);
                    p.circle(fx + 0.5, fy + 0.5, 0.3, ONION);
                }
                Tile::DishDispenser => {
                    p.rect(fx, fy, 1.0, 1.0, COUNTER);
                    p.circle(fx + 0.5, fy + 0.5, 0.3, DISH);
                }
                Tile::Serving => {
                    p.rect(fx, fy, 1.0, 1.0, SERVING);
                    p.text(fx + 0.5, fy + 0.5, 0.3, INK, "serve");
                }
                Tile::Pot(i) => {
                    p.rect(fx, fy, 1.0, 1.0, COUNTER);
                    p.circle(fx + 0.5, fy + 0.5, 0.4, POT);
                    let pot = s.pots[usize::from(i)];
                    let label = if pot.is_ready(s.rules()) {
                        "ready".to_owned()
                    } else if pot.onions == ONIONS_PER_SOUP {
                        format!("{}", s.rules().cook_time - pot.cooked)
                    } else {
                        format!("{}/{}", pot.onions, ONIONS_PER_SOUP)
                    };
                    let color = if pot.is_ready(s.rules()) { SOUP } else { DISH };
                    p.text(fx + 0.5, fy + 0.5, 0.3, color, &label);
                }
            }
            if let Some(item) = layout.index((x, y)).and_then(|i| s.counters[i]) {
                p.circle(fx + 0.5, fy + 0.5, 0.22, item_color(item));
            }
        }
    }
    for (chef, color) in s.chefs.iter().zip(CHEFS) {
        let (cx, cy) = (f32::from(chef.pos.0) + 0.5, f32::from(chef.pos.1) + 0.5);
        p.circle(cx, cy, 0.35, color);
        let (dx, dy) = match chef.facing {
            Facing::North => (0.0, -0.3),
            Facing::South => (0.0, 0.3),
            Facing::East => (0.3, 0.0),
            Facing::West => (-0.3, 0.0),
        };
        p.circle(cx + dx, cy + dy, 0.1, INK);
        if let Some(item) = chef.held {
            p.circle(cx + dx * 0.6, cy + dy * 0.6 + 0.05, 0.16, item_color(item));
        }
    }
}

fn item_color(item: Item) -> Color {
    match item {
        Item::Onion => ONION,
        Item::Dish => DISH,
        Item::Soup => SOUP,
    }
}
