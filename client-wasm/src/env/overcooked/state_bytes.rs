//! The canonical byte form of an Overcooked state: fixed order, little-endian, one byte per
//! enum. The layout and rules are configuration, not state, and are not included.

use crate::env::{
    EnvError,
    bytes::StateReader,
    overcooked::{Chef, Facing, Item, Overcooked, Pot, Tally},
};

pub(super) fn write(s: &Overcooked, out: &mut Vec<u8>) {
    out.extend_from_slice(&s.timestep.to_le_bytes());
    out.extend_from_slice(&s.rng.to_le_bytes());
    out.extend_from_slice(&s.soups_delivered.to_le_bytes());
    for chef in &s.chefs {
        out.extend_from_slice(&[
            chef.pos.0,
            chef.pos.1,
            facing_byte(chef.facing),
            item_byte(chef.held),
        ]);
    }
    for t in &s.tally {
        for v in
            [t.onions_picked, t.dishes_picked, t.onions_potted, t.soups_picked, t.soups_delivered]
        {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    for pot in &s.pots {
        out.push(pot.onions);
        out.extend_from_slice(&pot.cooked.to_le_bytes());
    }
    out.extend(s.counters.iter().map(|c| item_byte(*c)));
}

pub(super) fn read(s: &mut Overcooked, bytes: &[u8]) -> Result<(), EnvError> {
    let mut r = StateReader::new(bytes);
    let mut next = s.clone();
    next.timestep = u32::from_le_bytes(r.take()?);
    next.rng = u64::from_le_bytes(r.take()?);
    next.soups_delivered = u16::from_le_bytes(r.take()?);
    for chef in &mut next.chefs {
        let [x, y, facing, held] = r.take()?;
        *chef = Chef { pos: (x, y), facing: facing_of(facing)?, held: item_of(held)? };
        if s.layout.index(chef.pos).is_none() {
            return Err(EnvError::Invalid("chef outside the kitchen"));
        }
    }
    for t in &mut next.tally {
        let mut v = || r.take().map(u16::from_le_bytes);
        *t = Tally {
            onions_picked: v()?,
            dishes_picked: v()?,
            onions_potted: v()?,
            soups_picked: v()?,
            soups_delivered: v()?,
        };
    }
    for pot in &mut next.pots {
        let [onions] = r.take()?;
        *pot = Pot { onions, cooked: u16::from_le_bytes(r.take()?) };
        if onions > super::ONIONS_PER_SOUP {
            return Err(EnvError::Invalid("pot with more than three onions"));
        }
    }
    for counter in &mut next.counters {
        let [b] = r.take()?;
        *counter = item_of(b)?;
    }
    r.finish()?;
    *s = next;
    Ok(())
}

fn facing_byte(f: Facing) -> u8 {
    match f {
        Facing::North => 0,
        Facing::South => 1,
        Facing::East => 2,
        Facing::West => 3,
    }
}

fn facing_of(b: u8) -> Result<Facing, EnvError> {
    Ok(match b {
        0 => Facing::North,
        1 => Facing::South,
        2 => Facing::East,
        3 => Facing::West,
        _ => return Err(EnvError::Invalid("facing")),
    })
}

fn item_byte(item: Option<Item>) -> u8 {
    match item {
        None => 0,
        Some(Item::Onion) => 1,
        Some(Item::Dish) => 2,
        Some(Item::Soup) => 3,
    }
}

fn item_of(b: u8) -> Result<Option<Item>, EnvError> {
    Ok(match b {
        0 => None,
        1 => Some(Item::Onion),
        2 => Some(Item::Dish),
        3 => Some(Item::Soup),
        _ => return Err(EnvError::Invalid("item")),
    })
}
