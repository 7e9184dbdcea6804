//! Environments written in JavaScript, played under the same rollback netcode as the built-in
//! ones.
//!
//! The JavaScript object is one mutable game; rollback needs many snapshots. Each [`JsEnv`]
//! value is one snapshot: the bytes `getState()` returned, shared cheaply (ggrs saves every
//! frame). The object itself holds one state at a time; `live` says which snapshot that is, so
//! a value that is not live is loaded with `setState()` before it steps or draws. The state
//! hash is rollgym's, over those bytes. Anything the page's code throws or returns wrongly is
//! kept as the environment's failure, which ends the game in `error` (never a panic, never a
//! frozen page).

use std::{
    cell::{Cell, RefCell},
    rc::Rc,
};

use js_sys::{Array, Function, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};

use crate::{
    env::{Action, Env, EnvError, EnvIdentity, InfoName, KeyBinding, Painter, StepResult},
    web::render::SceneSurface,
};

/// State bytes beyond this are refused: rollback keeps one snapshot per frame of its window.
const MAX_STATE_BYTES: u32 = 1 << 20;
/// `infos.*` columns an environment may report.
const MAX_INFOS: usize = 64;
const MAX_NAME_LEN: usize = 64;
/// The drawing size of an environment that gives none, in its own pixels.
const DEFAULT_VIEW: (f32, f32) = (600.0, 400.0);

/// A validated JavaScript environment object and what it declared.
#[derive(Clone)]
pub(super) struct JsEnvSource {
    object: Object,
    identity: EnvIdentity,
    num_players: usize,
    num_actions: u8,
    default_action: Action,
    view: (f32, f32),
    keys: Vec<KeyBinding>,
    help: String,
    action_names: Vec<String>,
    methods: Methods,
}

#[derive(Clone)]
struct Methods {
    reset: Function,
    step: Function,
    get_state: Function,
    set_state: Function,
    render: Function,
}

impl JsEnvSource {
    /// Checks the object's shape: every required member, with the right type and range.
    pub(super) fn read(object: &JsValue) -> Result<Self, String> {
        let object: Object = object.dyn_ref::<Object>().cloned().ok_or("env must be an object")?;
        let get = |key: &str| Reflect::get(&object, &key.into()).unwrap_or(JsValue::UNDEFINED);
        let name = get("name").as_string().ok_or("env.name must be a string")?;
        if !rollgym_protocol::is_env_name(&name) {
            return Err(format!(
                "env.name {name:?} must be 1 to {MAX_NAME_LEN} letters, digits, '_', '-' or '.'"
            ));
        }
        let version = match get("version") {
            v if v.as_f64().is_some() => v.as_f64().map(|n| n.to_string()).unwrap_or_default(),
            v => v.as_string().ok_or("env.version must be a string")?,
        };
        if version.is_empty() || version.len() > MAX_NAME_LEN {
            return Err(format!("env.version must be 1 to {MAX_NAME_LEN} characters"));
        }
        let integer = |key: &str, min: f64, max: f64| -> Result<f64, String> {
            let value = get(key).as_f64().filter(|v| v.fract() == 0.0 && (min..=max).contains(v));
            value.ok_or_else(|| format!("env.{key} must be an integer from {min} to {max}"))
        };
        let num_players = integer("numPlayers", 1.0, 8.0)? as usize;
        // 255 is the netcode's "no action".
        let num_actions = integer("numActions", 1.0, 254.0)? as u8;
        let default_action = if get("defaultAction").is_undefined() {
            0
        } else {
            integer("defaultAction", 0.0, f64::from(num_actions) - 1.0)? as u8
        };
        let function = |key: &str| -> Result<Function, String> {
            get(key).dyn_into::<Function>().map_err(|_| format!("env.{key} must be a function"))
        };
        let methods = Methods {
            reset: function("reset")?,
            step: function("step")?,
            get_state: function("getState")?,
            set_state: function("setState")?,
            render: function("render")?,
        };
        let size = |key: &str, default: f32| -> Result<f32, String> {
            match get(key) {
                v if v.is_undefined() => Ok(default),
                v => v
                    .as_f64()
                    .filter(|v| (1.0..=10_000.0).contains(v))
                    .map(|v| v as f32)
                    .ok_or_else(|| format!("env.{key} must be a number from 1 to 10000")),
            }
        };
        let view = (size("viewWidth", DEFAULT_VIEW.0)?, size("viewHeight", DEFAULT_VIEW.1)?);
        let keys = match get("keys") {
            v if v.is_undefined() => Vec::new(),
            v => read_keys(&v, num_actions).map_err(|e| format!("env.keys: {e}"))?,
        };
        let help = get("help").as_string().unwrap_or_default();
        let action_names = match get("actionNames") {
            v if v.is_undefined() => (0..num_actions).map(|a| a.to_string()).collect(),
            v if Array::is_array(&v) && Array::from(&v).length() == u32::from(num_actions) => {
                Array::from(&v).iter().map(|n| n.as_string().unwrap_or_default()).collect()
            }
            _ => return Err(format!("env.actionNames must be an array of {num_actions} strings")),
        };
        Ok(Self {
            object,
            identity: EnvIdentity { name, version },
            num_players,
            num_actions,
            default_action,
            view,
            keys,
            help,
            action_names,
            methods,
        })
    }

    pub(super) fn num_actions(&self) -> u8 {
        self.num_actions
    }

    /// A fresh game of this environment (its state is read at the first `reset`).
    pub(super) fn make(&self) -> JsEnv {
        let shared = Shared {
            source: self.clone(),
            live: Cell::new(0),
            next_id: Cell::new(1),
            failure: RefCell::new(None),
            info_names: RefCell::new(None),
        };
        JsEnv { shared: Rc::new(shared), state: Rc::new(Vec::new()), id: 0 }
    }
}

/// `{ "ArrowLeft": 1, ... }`: keys (`KeyboardEvent.key`) to actions.
pub(super) fn read_keys(value: &JsValue, num_actions: u8) -> Result<Vec<KeyBinding>, String> {
    let object = value.dyn_ref::<Object>().ok_or("must be an object of key: action")?;
    let mut keys = Vec::new();
    for entry in Object::entries(object).iter() {
        let pair = Array::from(&entry);
        let key = pair.get(0).as_string().unwrap_or_default();
        let action = pair.get(1).as_f64().filter(|a| a.fract() == 0.0);
        match action {
            Some(a) if (0.0..f64::from(num_actions)).contains(&a) => {
                keys.push(KeyBinding { key: key.into(), action: a as u8 });
            }
            _ => return Err(format!("{key:?} must map to an action from 0 to {num_actions}")),
        }
    }
    Ok(keys)
}

/// What every snapshot of one game shares: the object and its declarations, which snapshot the
/// object holds, and the first failure.
struct Shared {
    source: JsEnvSource,
    live: Cell<u64>,
    next_id: Cell<u64>,
    failure: RefCell<Option<String>>,
    /// The `infos.*` names, fixed by the first step so that columns line up.
    info_names: RefCell<Option<Vec<InfoName>>>,
}

impl Shared {
    fn fail(&self, message: String) {
        let mut failure = self.failure.borrow_mut();
        if failure.is_none() {
            *failure = Some(message);
        }
    }

    fn failed(&self) -> bool {
        self.failure.borrow().is_some()
    }

    fn fresh_id(&self) -> u64 {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        id
    }

    fn call(&self, what: &str, f: &Function, args: &[JsValue]) -> Option<JsValue> {
        let this = &self.source.object;
        let result = match args {
            [] => f.call0(this),
            [a] => f.call1(this, a),
            [a, b, ..] => f.call2(this, a, b),
        };
        result.map_err(|err| self.fail(format!("{what} threw: {}", describe(&err)))).ok()
    }

    fn get_state(&self) -> Option<Vec<u8>> {
        let value = self.call("getState()", &self.source.methods.get_state, &[])?;
        let Some(bytes) = value.dyn_ref::<Uint8Array>() else {
            self.fail("getState() must return a Uint8Array".into());
            return None;
        };
        if bytes.length() > MAX_STATE_BYTES {
            self.fail(format!(
                "getState() returned {} bytes; at most {MAX_STATE_BYTES}",
                bytes.length()
            ));
            return None;
        }
        Some(bytes.to_vec())
    }
}

/// One snapshot of a JavaScript environment's game.
#[derive(Clone)]
pub(super) struct JsEnv {
    shared: Rc<Shared>,
    state: Rc<Vec<u8>>,
    /// Which state this is; the object holds it when `shared.live` is this id.
    id: u64,
}

impl JsEnv {
    /// Loads this snapshot into the object unless it holds it already.
    fn make_live(&self) -> bool {
        let shared = &self.shared;
        if shared.live.get() == self.id {
            return true;
        }
        let bytes = Uint8Array::from(self.state.as_slice());
        if shared.call("setState()", &shared.source.methods.set_state, &[bytes.into()]).is_none() {
            return false;
        }
        shared.live.set(self.id);
        true
    }

    /// Reads the object's state as this snapshot's new state.
    fn take_state(&mut self) {
        let shared = &self.shared;
        if let Some(state) = shared.get_state() {
            self.state = Rc::new(state);
        }
        self.id = shared.fresh_id();
        shared.live.set(self.id);
    }

    fn idle_result(&self) -> StepResult {
        let names = self.shared.info_names.borrow().clone().unwrap_or_default();
        StepResult {
            rewards: vec![0.0; self.shared.source.num_players],
            terminated: false,
            info: names.into_iter().map(|n| (n, 0)).collect(),
        }
    }

    fn read_result(&self, value: &JsValue) -> StepResult {
        let shared = &self.shared;
        let players = shared.source.num_players;
        let get = |key: &str| Reflect::get(value, &key.into()).unwrap_or(JsValue::UNDEFINED);
        let mut rewards = vec![0.0; players];
        let returned = get("rewards");
        if Array::is_array(&returned) {
            for (slot, reward) in rewards.iter_mut().zip(Array::from(&returned).iter()) {
                *slot = reward.as_f64().filter(|r| r.is_finite()).unwrap_or(0.0) as f32;
            }
        } else if !returned.is_undefined() {
            shared.fail("step() must return { rewards: [number per player], ... }".into());
        }
        let terminated = get("terminated").is_truthy();
        let info = get("info");
        let mut names = shared.info_names.borrow_mut();
        let names = names.get_or_insert_with(|| info_names(&info));
        let info = names
            .iter()
            .map(|name| {
                let value = Reflect::get(&info, &JsValue::from_str(name)).ok();
                let number = value.and_then(|v| v.as_f64()).filter(|v| v.is_finite());
                (name.clone(), number.map_or(0, |v| v.trunc() as i64))
            })
            .collect();
        StepResult { rewards, terminated, info }
    }
}

/// The `info` object's keys, in order, made safe as CSV column names.
fn info_names(info: &JsValue) -> Vec<InfoName> {
    let Some(object) = info.dyn_ref::<Object>() else { return Vec::new() };
    Object::keys(object)
        .iter()
        .filter_map(|k| k.as_string())
        .take(MAX_INFOS)
        .map(|k| {
            let safe: String = k
                .chars()
                .take(MAX_NAME_LEN)
                .map(|c| if c.is_ascii_alphanumeric() || "_-.".contains(c) { c } else { '_' })
                .collect();
            InfoName::Owned(safe)
        })
        .collect()
}

fn describe(err: &JsValue) -> String {
    let text = err
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| err.as_string())
        .unwrap_or_else(|| format!("{err:?}"));
    text.chars().take(300).collect()
}

impl Env for JsEnv {
    fn identity(&self) -> EnvIdentity {
        self.shared.source.identity.clone()
    }

    fn num_players(&self) -> usize {
        self.shared.source.num_players
    }

    fn num_actions(&self) -> u8 {
        self.shared.source.num_actions
    }

    fn default_action(&self) -> Action {
        self.shared.source.default_action
    }

    fn reset(&mut self, seed: u64) {
        let shared = self.shared.clone();
        if shared.failed() {
            return;
        }
        // A JavaScript number holds integers exactly only up to 2^53: the seed is 32 bits.
        let seed = JsValue::from_f64((seed & 0xFFFF_FFFF) as f64);
        if shared.call("reset()", &shared.source.methods.reset, &[seed]).is_some() {
            self.take_state();
        }
    }

    fn step(&mut self, actions: &[Action]) -> StepResult {
        let shared = self.shared.clone();
        if shared.failed() || !self.make_live() {
            return self.idle_result();
        }
        let array: Array = actions.iter().map(|a| JsValue::from(*a)).collect();
        let Some(value) = shared.call("step()", &shared.source.methods.step, &[array.into()])
        else {
            return self.idle_result();
        };
        let result = self.read_result(&value);
        self.take_state();
        result
    }

    fn write_state(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.state);
    }

    fn read_state(&mut self, bytes: &[u8]) -> Result<(), EnvError> {
        self.state = Rc::new(bytes.to_vec());
        // Not what the object holds: loaded before the next step.
        self.id = self.shared.fresh_id();
        Ok(())
    }

    fn view_size(&self) -> (f32, f32) {
        self.shared.source.view
    }

    fn render(&self, painter: &mut dyn Painter) {
        let Some(surface) = painter.surface().and_then(|s| s.downcast_ref::<SceneSurface>()) else {
            return;
        };
        let shared = &self.shared;
        if shared.failed() || !self.make_live() {
            return;
        }
        let (width, height) = shared.source.view;
        let view = Object::new();
        let _ = Reflect::set(&view, &"width".into(), &f64::from(width).into());
        let _ = Reflect::set(&view, &"height".into(), &f64::from(height).into());
        let player = surface.player.map_or(JsValue::NULL, JsValue::from);
        let _ = Reflect::set(&view, &"playerIndex".into(), &player);
        let ctx = &surface.ctx;
        ctx.save();
        let _ = ctx.translate(0.0, surface.top);
        let _ = ctx.scale(surface.scale, surface.scale);
        shared.call("render()", &shared.source.methods.render, &[ctx.clone().into(), view.into()]);
        ctx.restore();
    }

    fn keys(&self) -> Vec<KeyBinding> {
        self.shared.source.keys.clone()
    }

    fn help(&self) -> String {
        self.shared.source.help.clone()
    }

    fn action_names(&self) -> Vec<String> {
        self.shared.source.action_names.clone()
    }

    fn failure(&self) -> Option<String> {
        self.shared.failure.borrow().clone()
    }
}
