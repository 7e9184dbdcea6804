//! The entry checks the relay asks for ([`ScreenRequest`]): the window size, with a live prompt
//! to enlarge it, and the embedding page's own rule (`start({ screen })`); then the facts to
//! report ([`Input::Screened`]). The app keeps a [`Screener`] only while the session is
//! screening; dropping it removes its listener, and a rule still pending is then ignored.

use std::{
    cell::{Cell, RefCell},
    rc::Rc,
};

use gloo_events::EventListener;
use js_sys::{Function, Object, Promise, Reflect};
use rollgym_protocol::{CustomVerdict, ScreenFacts, ScreenRequest, SignalPayload};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::{JsFuture, spawn_local};

use crate::{
    core::session::Input,
    web::{
        app::WeakDispatch,
        peer::{LinkKind, PeerLink},
    },
};

pub(super) struct Screener {
    _resize: Option<EventListener>,
    /// The connection to the relay's own peer, when the request asks for one.
    link: Option<PeerLink>,
    state: Rc<State>,
}

struct State {
    request: ScreenRequest,
    events: WeakDispatch,
    /// The participant was asked to enlarge the window.
    prompted: Cell<bool>,
    /// The page's rule: `None` while it runs.
    verdict: RefCell<Option<Option<CustomVerdict>>>,
    reported: Cell<bool>,
    /// False once the screener is dropped: a late answer of the page's rule is ignored.
    alive: Cell<bool>,
    /// Why this page could not start the connection to the relay's peer.
    webrtc_error: RefCell<Option<String>>,
}

impl Screener {
    pub(super) fn start(
        request: ScreenRequest,
        rule: Option<&Function>,
        events: WeakDispatch,
    ) -> Self {
        let custom = request.custom;
        let state = Rc::new(State {
            request,
            events,
            prompted: Cell::new(false),
            verdict: RefCell::new((!custom).then_some(None)),
            reported: Cell::new(false),
            alive: Cell::new(true),
            webrtc_error: RefCell::new(None),
        });
        let link = state.request.webrtc.then(|| {
            let request = &state.request;
            let (ice, relay_only) = (&request.ice_servers, request.force_relay);
            PeerLink::open(LinkKind::Screen, true, ice, relay_only, state.events.clone())
                .map_err(|err| {
                    let reason = err.as_string().unwrap_or_else(|| format!("{err:?}"));
                    *state.webrtc_error.borrow_mut() = Some(reason);
                })
                .ok()
        });
        let wants_size = state.request.min_width > 0 || state.request.min_height > 0;
        let resize = wants_size.then(web_sys::window).flatten().map(|window| {
            let state = state.clone();
            EventListener::new(&window, "resize", move |_| state.check())
        });
        if custom {
            run_rule(&state, rule);
        }
        state.check();
        Self { _resize: resize, link: link.flatten(), state }
    }

    /// The relay's peer's answer.
    pub(super) fn apply(&self, payload: SignalPayload) {
        if let Some(link) = &self.link {
            link.apply(payload);
        }
    }

    pub(super) fn send(&self, bytes: &[u8]) {
        if let Some(link) = &self.link {
            link.send(bytes);
        }
    }
}

impl Drop for Screener {
    fn drop(&mut self) {
        self.state.alive.set(false);
    }
}

impl State {
    /// Prompts while the window is too small; reports once it is large enough and the page's
    /// rule has answered.
    fn check(&self) {
        if self.reported.get() || !self.alive.get() {
            return;
        }
        let [width, height] = window_size();
        let (min_w, min_h) = (self.request.min_width, self.request.min_height);
        if width < min_w || height < min_h {
            self.prompted.set(true);
            let prompt = format!(
                "{} It needs at least {min_w} × {min_h} pixels; it is {width} × {height} now.",
                self.request.enlarge_message
            );
            self.events.send(Input::ScreenPrompt(Some(prompt)));
            return;
        }
        if self.prompted.get() {
            self.events.send(Input::ScreenPrompt(None));
        }
        let Some(custom) = self.verdict.borrow().clone() else { return };
        self.reported.set(true);
        let webrtc_error = self.webrtc_error.borrow().clone();
        let facts = ScreenFacts { prompted: self.prompted.get(), custom, webrtc_error, ..facts() };
        self.events.send(Input::Screened(Box::new(facts)));
    }

    fn decided(&self, verdict: CustomVerdict) {
        *self.verdict.borrow_mut() = Some(Some(verdict));
        self.check();
    }
}

/// Calls the page's rule with the facts; a promise is awaited. A page without a rule, or a
/// rule that throws, fails it (and says why in the console: the researcher's to fix).
fn run_rule(state: &Rc<State>, rule: Option<&Function>) {
    let failed = |why: &str, err: &JsValue| {
        web_sys::console::error_2(&format!("rollgym: {why}").into(), err);
        CustomVerdict { passed: false, message: None }
    };
    let Some(rule) = rule else {
        let why = "the experiment asks for the page's own screening rule (screening.custom) but start() got no `screen` option";
        *state.verdict.borrow_mut() = Some(Some(failed(why, &JsValue::UNDEFINED)));
        return;
    };
    let answer = match rule.call1(&JsValue::NULL, &facts_object(&facts())) {
        Ok(answer) => answer,
        Err(err) => {
            *state.verdict.borrow_mut() = Some(Some(failed("the screen rule threw", &err)));
            return;
        }
    };
    match answer.dyn_into::<Promise>() {
        Ok(promise) => {
            let state = state.clone();
            spawn_local(async move {
                let verdict = match JsFuture::from(promise).await {
                    Ok(value) => verdict_of(&value),
                    Err(err) => failed("the screen rule's promise was rejected", &err),
                };
                state.decided(verdict);
            });
        }
        Err(value) => *state.verdict.borrow_mut() = Some(Some(verdict_of(&value))),
    }
}

/// `true` admits; `false`, a message, or `{ passed: false, message }` turns away.
fn verdict_of(value: &JsValue) -> CustomVerdict {
    if let Some(passed) = value.as_bool() {
        return CustomVerdict { passed, message: None };
    }
    if let Some(message) = value.as_string() {
        return CustomVerdict { passed: false, message: Some(message) };
    }
    let field = |key: &str| Reflect::get(value, &key.into()).unwrap_or(JsValue::UNDEFINED);
    let passed = value.is_object() && field("passed").as_bool().unwrap_or(false);
    CustomVerdict { passed, message: field("message").as_string() }
}

/// What the browser says about itself now.
fn facts() -> ScreenFacts {
    let Some(window) = web_sys::window() else { return ScreenFacts::default() };
    let navigator = window.navigator();
    let mobile = Reflect::get(&navigator, &"userAgentData".into())
        .ok()
        .filter(JsValue::is_object)
        .and_then(|data| Reflect::get(&data, &"mobile".into()).ok())
        .and_then(|m| m.as_bool());
    let screen = window.screen().ok().map_or([0, 0], |s| {
        [s.width().unwrap_or(0).max(0) as u32, s.height().unwrap_or(0).max(0) as u32]
    });
    ScreenFacts {
        user_agent: navigator.user_agent().unwrap_or_default(),
        mobile,
        touch_points: navigator.max_touch_points().max(0) as u32,
        screen,
        window: window_size(),
        prompted: false,
        custom: None,
        webrtc_error: None,
    }
}

fn window_size() -> [u32; 2] {
    let Some(window) = web_sys::window() else { return [0, 0] };
    let dimension = |v: Result<JsValue, JsValue>| {
        v.ok().and_then(|v| v.as_f64()).map_or(0, |v| v.max(0.0) as u32)
    };
    [dimension(window.inner_width()), dimension(window.inner_height())]
}

/// The facts as the page's rule sees them (camelCase, like the rest of the API).
fn facts_object(facts: &ScreenFacts) -> JsValue {
    let object = Object::new();
    let set = |key: &str, value: JsValue| {
        let _ = Reflect::set(&object, &key.into(), &value);
    };
    let pair = |[a, b]: [u32; 2]| js_sys::Array::of2(&a.into(), &b.into()).into();
    set("userAgent", facts.user_agent.clone().into());
    set("mobile", facts.mobile.map_or(JsValue::NULL, JsValue::from));
    set("touchPoints", facts.touch_points.into());
    set("screen", pair(facts.screen));
    set("window", pair(facts.window));
    object.into()
}
