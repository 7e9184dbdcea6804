//! Overcooked: chefs cook onion soup together (the rules of the Overcooked-AI benchmark, for
//! the two chefs of its layouts and the three or four of rollgym's group kitchens).
//!
//! Actions: 0 north, 1 south, 2 east, 3 west, 4 stay, 5 interact. A move turns the chef to face
//! that way and moves it if the cell is free floor. If two chefs would end on the same cell or
//! swap cells, neither moves, and a chef moving into the cell of one that stays put does not
//! move either (with two chefs: the benchmark's rule). Interact acts on the faced cell: take an
//! onion or a dish from a dispenser, put down or pick up on a counter, add an onion to a pot (a
//! pot with three onions starts cooking by itself), take a finished soup from a pot with a
//! dish, deliver a soup at the serving window (a reward shared by every player). Interactions
//! resolve before movement, player 0 first, then pots cook one tick.

/// The five info column names of player `$i`.
macro_rules! info_keys {
    ($i:literal) => {
        [
            concat!("onions_picked.", $i),
            concat!("dishes_picked.", $i),
            concat!("onions_potted.", $i),
            concat!("soups_picked.", $i),
            concat!("soups_delivered.", $i),
        ]
    };
}

pub mod layout;
mod render;
mod state_bytes;

use std::sync::Arc;

pub use layout::{Layout, LayoutError, Pos, Tile};

use crate::env::{Action, Env, EnvError, EnvIdentity, InfoName, KeyBinding, Painter, StepResult};

pub const NORTH: Action = 0;
pub const SOUTH: Action = 1;
pub const EAST: Action = 2;
pub const WEST: Action = 3;
pub const STAY: Action = 4;
pub const INTERACT: Action = 5;
const NUM_ACTIONS: u8 = 6;

/// The reward each player gets for every delivered soup.
pub const SOUP_REWARD: f32 = 20.0;
/// Onions a soup needs.
pub const ONIONS_PER_SOUP: u8 = 3;

/// Rule parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// Steps a full pot cooks before the soup is ready.
    pub cook_time: u16,
}

impl Default for Rules {
    fn default() -> Self {
        Self { cook_time: 20 }
    }
}

/// Something a chef holds or a counter carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    Onion,
    Dish,
    Soup,
}

/// Which way a chef faces; also the move directions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Facing {
    North,
    South,
    East,
    West,
}

impl Facing {
    fn of_action(action: Action) -> Option<Self> {
        match action {
            NORTH => Some(Facing::North),
            SOUTH => Some(Facing::South),
            EAST => Some(Facing::East),
            WEST => Some(Facing::West),
            _ => None,
        }
    }

    /// The neighbouring cell; `None` off the top or left edge (a wall either way).
    fn ahead(self, (x, y): Pos) -> Option<Pos> {
        Some(match self {
            Facing::North => (x, y.checked_sub(1)?),
            Facing::South => (x, y.checked_add(1)?),
            Facing::East => (x.checked_add(1)?, y),
            Facing::West => (x.checked_sub(1)?, y),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chef {
    pub pos: Pos,
    pub facing: Facing,
    pub held: Option<Item>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pot {
    pub onions: u8,
    /// Steps cooked so far; cooking starts when the pot is full.
    pub cooked: u16,
}

impl Pot {
    pub fn is_ready(&self, rules: &Rules) -> bool {
        self.onions == ONIONS_PER_SOUP && self.cooked >= rules.cook_time
    }
}

/// Per-player counters reported as info columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    pub onions_picked: u16,
    pub dishes_picked: u16,
    pub onions_potted: u16,
    pub soups_picked: u16,
    pub soups_delivered: u16,
}

/// The whole game state. Cloning it is a snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct Overcooked {
    layout: Arc<Layout>,
    rules: Rules,
    /// One per player, as many as the layout has starting cells.
    pub chefs: Vec<Chef>,
    /// What lies on each cell (only counters carry anything), indexed like the layout.
    pub counters: Vec<Option<Item>>,
    pub pots: Vec<Pot>,
    pub tally: Vec<Tally>,
    pub soups_delivered: u16,
    pub timestep: u32,
    /// The environment's random state. The classic rules draw nothing from it, but it is part
    /// of the state so that rules that do stay correct under rollback.
    pub rng: u64,
}

/// The info columns of each player (static names: no allocation per step).
const INFO_KEYS: [[&str; 5]; layout::MAX_CHEFS] =
    [info_keys!(0), info_keys!(1), info_keys!(2), info_keys!(3)];

impl Overcooked {
    pub fn new(layout: Layout, rules: Rules) -> Self {
        let layout = Arc::new(layout);
        let chef = |&pos: &Pos| Chef { pos, facing: Facing::North, held: None };
        Self {
            chefs: layout.starts.iter().map(chef).collect(),
            counters: vec![None; layout.cells()],
            pots: vec![Pot::default(); usize::from(layout.num_pots)],
            tally: vec![Tally::default(); layout.starts.len()],
            soups_delivered: 0,
            timestep: 0,
            rng: 0,
            rules,
            layout,
        }
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    fn interact(&mut self, player: usize) -> f32 {
        let chef = self.chefs[player];
        let Some(target) = chef.facing.ahead(chef.pos) else { return 0.0 };
        let tally = &mut self.tally[player];
        let held = &mut self.chefs[player].held;
        match self.layout.tile(target) {
            Tile::Floor => {}
            Tile::Counter => {
                let Some(i) = self.layout.index(target) else { return 0.0 };
                let slot = &mut self.counters[i];
                match (held.take(), slot.take()) {
                    (Some(item), None) => *slot = Some(item),
                    (None, Some(item)) => *held = Some(item),
                    (h, s) => {
                        *held = h;
                        *slot = s;
                    }
                }
            }
            Tile::OnionDispenser if held.is_none() => {
                *held = Some(Item::Onion);
                tally.onions_picked += 1;
            }
            Tile::DishDispenser if held.is_none() => {
                *held = Some(Item::Dish);
                tally.dishes_picked += 1;
            }
            Tile::Pot(p) => {
                let pot = &mut self.pots[usize::from(p)];
                match *held {
                    Some(Item::Onion) if pot.onions < ONIONS_PER_SOUP => {
                        pot.onions += 1;
                        *held = None;
                        tally.onions_potted += 1;
                    }
                    Some(Item::Dish) if pot.is_ready(&self.rules) => {
                        *pot = Pot::default();
                        *held = Some(Item::Soup);
                        tally.soups_picked += 1;
                    }
                    _ => {}
                }
            }
            Tile::Serving if *held == Some(Item::Soup) => {
                *held = None;
                tally.soups_delivered += 1;
                self.soups_delivered += 1;
                return SOUP_REWARD;
            }
            Tile::OnionDispenser | Tile::DishDispenser | Tile::Serving => {}
        }
        0.0
    }

    fn walkable(&self, pos: Pos) -> bool {
        self.layout.tile(pos) == Tile::Floor
    }

    /// Turns every chef that moves, then moves those whose way is clear. Chefs that would end
    /// on one cell, or swap cells, all stay; so does a chef moving into a cell whose chef
    /// stays (which may in turn block the one behind it). With two chefs this is the
    /// benchmark's rule: on a conflict neither moves.
    fn resolve_movement(&mut self, actions: &[Action]) {
        let mut targets: Vec<Pos> = self.chefs.iter().map(|c| c.pos).collect();
        for (i, &action) in actions.iter().enumerate() {
            if let Some(facing) = Facing::of_action(action) {
                let chef = &mut self.chefs[i];
                chef.facing = facing;
                if let Some(next) = facing.ahead(chef.pos).filter(|&p| self.walkable(p)) {
                    targets[i] = next;
                }
            }
        }
        let from: Vec<Pos> = self.chefs.iter().map(|c| c.pos).collect();
        let n = from.len();
        // A chef that stays has its own cell as target, so moving into it is a shared target.
        let mut stays: Vec<bool> = (0..n)
            .map(|i| {
                (0..n).any(|j| {
                    j != i
                        && (targets[i] == targets[j]
                            || (targets[i] == from[j] && targets[j] == from[i]))
                })
            })
            .collect();
        let mut changed = true;
        while changed {
            changed = false;
            for i in 0..n {
                let into_stayer = (0..n).any(|j| j != i && stays[j] && targets[i] == from[j]);
                if !stays[i] && into_stayer {
                    stays[i] = true;
                    changed = true;
                }
            }
        }
        for ((chef, target), stay) in self.chefs.iter_mut().zip(targets).zip(stays) {
            if !stay {
                chef.pos = target;
            }
        }
    }
}

impl Env for Overcooked {
    fn identity(&self) -> EnvIdentity {
        EnvIdentity { name: "overcooked".into(), version: "1".into() }
    }

    fn num_players(&self) -> usize {
        self.chefs.len()
    }

    fn num_actions(&self) -> u8 {
        NUM_ACTIONS
    }

    fn default_action(&self) -> Action {
        STAY
    }

    fn reset(&mut self, seed: u64) {
        let fresh = Overcooked::new((*self.layout).clone(), self.rules);
        // Never zero: xorshift would stay at zero forever.
        let rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        *self = Overcooked { rng, layout: self.layout.clone(), ..fresh };
    }

    fn step(&mut self, actions: &[Action]) -> StepResult {
        let action =
            |i: usize| actions.get(i).copied().filter(|a| *a < NUM_ACTIONS).unwrap_or(STAY);
        let joint: Vec<Action> = (0..self.chefs.len()).map(action).collect();
        let mut reward = 0.0;
        for (player, &a) in joint.iter().enumerate() {
            if a == INTERACT {
                reward += self.interact(player);
            }
        }
        self.resolve_movement(&joint);
        let cook_time = self.rules.cook_time;
        for pot in &mut self.pots {
            if pot.onions == ONIONS_PER_SOUP && pot.cooked < cook_time {
                pot.cooked += 1;
            }
        }
        self.timestep += 1;
        // xorshift64*: advanced every step so the RNG is exercised by rollback tests.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let mut info = Vec::with_capacity(5 * self.tally.len());
        for (keys, t) in INFO_KEYS.iter().zip(&self.tally) {
            let values = [
                t.onions_picked,
                t.dishes_picked,
                t.onions_potted,
                t.soups_picked,
                t.soups_delivered,
            ];
            info.extend(
                keys.iter().zip(values).map(|(k, v)| (InfoName::Borrowed(*k), i64::from(v))),
            );
        }
        StepResult { rewards: vec![reward; self.chefs.len()], terminated: false, info }
    }

    fn write_state(&self, out: &mut Vec<u8>) {
        state_bytes::write(self, out);
    }

    fn read_state(&mut self, bytes: &[u8]) -> Result<(), EnvError> {
        state_bytes::read(self, bytes)
    }

    fn view_size(&self) -> (f32, f32) {
        (f32::from(self.layout.width), f32::from(self.layout.height))
    }

    fn render(&self, painter: &mut dyn Painter) {
        render::draw(self, painter);
    }

    /// Arrows or WASD move, space or E interacts.
    fn keys(&self) -> Vec<KeyBinding> {
        let keys = [
            (["ArrowUp", "w", "W"], NORTH),
            (["ArrowDown", "s", "S"], SOUTH),
            (["ArrowRight", "d", "D"], EAST),
            (["ArrowLeft", "a", "A"], WEST),
            ([" ", "e", "E"], INTERACT),
        ];
        keys.iter()
            .flat_map(|(keys, action)| keys.iter().map(|k| KeyBinding::new(k, *action)))
            .collect()
    }

    fn action_names(&self) -> Vec<String> {
        ["north", "south", "east", "west", "stay", "interact"].map(String::from).to_vec()
    }

    fn help(&self) -> String {
        "move: arrow keys or WASD · interact (take, put down, serve): space or E · three onions in a pot make a soup; bring it on a dish to the green window".into()
    }

    fn player_name(&self, player: usize) -> String {
        ["the blue chef", "the green chef", "the orange chef", "the purple chef"]
            .get(player)
            .map_or_else(|| format!("chef {player}"), |s| (*s).to_owned())
    }
}

#[cfg(test)]
mod group_tests;
#[cfg(test)]
mod tests;
