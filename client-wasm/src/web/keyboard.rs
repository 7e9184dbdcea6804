//! Keyboard input: arrows or WASD move, space or E interacts.
//!
//! Tap mode: a frame's action is the last key pressed since the previous frame, else none.
//! Held mode: while a key is held its action repeats every frame (the latest held key wins).

use std::{cell::RefCell, rc::Rc};

use gloo_events::{EventListener, EventListenerOptions};
use rollgym_protocol::InputMode;
use wasm_bindgen::JsCast;
use web_sys::KeyboardEvent;

use crate::env::overcooked::{EAST, INTERACT, NORTH, SOUTH, WEST};

#[derive(Debug, Default)]
struct Keys {
    /// The last key pressed since the previous sample.
    pressed: Option<u8>,
    /// Keys held down, oldest first.
    held: Vec<u8>,
}

pub(super) struct Keyboard {
    mode: InputMode,
    keys: Rc<RefCell<Keys>>,
    _listeners: [EventListener; 3],
}

impl Keyboard {
    pub(super) fn listen(mode: InputMode) -> Option<Self> {
        let window = web_sys::window()?;
        let keys = Rc::new(RefCell::new(Keys::default()));
        // Not passive: arrow keys and space must not scroll the page.
        let options = EventListenerOptions::enable_prevent_default();
        let down = {
            let keys = keys.clone();
            EventListener::new_with_options(&window, "keydown", options, move |event| {
                let Some(event) = event.dyn_ref::<KeyboardEvent>() else { return };
                let Some(action) = action_of(&event.key()) else { return };
                event.prevent_default();
                let mut keys = keys.borrow_mut();
                keys.pressed = Some(action);
                if !keys.held.contains(&action) {
                    keys.held.push(action);
                }
            })
        };
        let up = {
            let keys = keys.clone();
            EventListener::new(&window, "keyup", move |event| {
                let Some(event) = event.dyn_ref::<KeyboardEvent>() else { return };
                if let Some(action) = action_of(&event.key()) {
                    keys.borrow_mut().held.retain(|a| *a != action);
                }
            })
        };
        // A key released while the window had no focus never sends keyup.
        let blur = {
            let keys = keys.clone();
            EventListener::new(&window, "blur", move |_| keys.borrow_mut().held.clear())
        };
        Some(Self { mode, keys, _listeners: [down, up, blur] })
    }

    /// The action for the next frame, if any, and whether it comes from a key held down.
    pub(super) fn sample(&self) -> Option<(u8, bool)> {
        let mut keys = self.keys.borrow_mut();
        let pressed = keys.pressed.take();
        match self.mode {
            InputMode::Tap => pressed.map(|a| (a, false)),
            InputMode::Held => keys.held.last().map(|a| (*a, true)).or(pressed.map(|a| (a, false))),
        }
    }
}

fn action_of(key: &str) -> Option<u8> {
    Some(match key {
        "ArrowUp" | "w" | "W" => NORTH,
        "ArrowDown" | "s" | "S" => SOUTH,
        "ArrowRight" | "d" | "D" => EAST,
        "ArrowLeft" | "a" | "A" => WEST,
        " " | "e" | "E" => INTERACT,
        _ => return None,
    })
}
