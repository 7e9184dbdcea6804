//! Keyboard input, with the keys the environment (or the embedding page) names.
//!
//! Tap mode: a frame's action is the last key pressed since the previous frame, else none.
//! Held mode: while keys are held, the environment makes one action of them every frame (by
//! default the latest held key's; Slime Volleyball combines a direction with jump).

use std::{cell::RefCell, rc::Rc};

use gloo_events::{EventListener, EventListenerOptions};
use rollgym_protocol::InputMode;
use wasm_bindgen::JsCast;
use web_sys::KeyboardEvent;

use crate::env::KeyBinding;

#[derive(Debug, Default)]
struct Keys {
    /// The last key pressed since the previous sample.
    pressed: Option<u8>,
    /// Keys held down, oldest first.
    held: Vec<u8>,
    /// When the first key since the previous sample went down (wall clock, for the input
    /// latency; a key repeating while held is not a new press).
    pressed_at: Option<f64>,
}

pub(super) struct Keyboard {
    mode: InputMode,
    keys: Rc<RefCell<Keys>>,
    _listeners: [EventListener; 3],
}

impl Keyboard {
    pub(super) fn listen(mode: InputMode, bindings: Vec<KeyBinding>) -> Option<Self> {
        let window = web_sys::window()?;
        let keys = Rc::new(RefCell::new(Keys::default()));
        let bindings = Rc::new(bindings);
        let action_of = move |key: &str| bindings.iter().find(|b| b.key == key).map(|b| b.action);
        let up_action_of = action_of.clone();
        // Not passive: arrow keys and space must not scroll the page.
        let options = EventListenerOptions::enable_prevent_default();
        let down = {
            let keys = keys.clone();
            EventListener::new_with_options(&window, "keydown", options, move |event| {
                let Some(event) = event.dyn_ref::<KeyboardEvent>() else { return };
                let Some(action) = action_of(&event.key()) else { return };
                event.prevent_default();
                let mut keys = keys.borrow_mut();
                if !event.repeat() {
                    keys.pressed_at.get_or_insert_with(js_sys::Date::now);
                }
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
                if let Some(action) = up_action_of(&event.key()) {
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

    /// When the first key pressed since the last call went down.
    pub(super) fn take_press_time(&self) -> Option<f64> {
        self.keys.borrow_mut().pressed_at.take()
    }

    /// The action for the next frame, if any, and whether it comes from keys held down;
    /// `held_action` makes one action of the keys held (the environment's rule).
    pub(super) fn sample(&self, held_action: impl Fn(&[u8]) -> Option<u8>) -> Option<(u8, bool)> {
        let mut keys = self.keys.borrow_mut();
        let pressed = keys.pressed.take();
        match self.mode {
            InputMode::Tap => pressed.map(|a| (a, false)),
            InputMode::Held => {
                held_action(&keys.held).map(|a| (a, true)).or(pressed.map(|a| (a, false)))
            }
        }
    }
}
