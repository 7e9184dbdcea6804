//! The options of `start()`, read from the object the embedding page passes. Every mistake is
//! reported by name, as a `TypeError` thrown from `start()`, before anything starts.

use js_sys::{Function, Reflect};
use rollgym_protocol::ParticipantId;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::Element;

use crate::{
    env::KeyBinding,
    web::{js_env::JsEnvSource, js_env::read_keys, storage},
};

pub(super) struct Options {
    pub(super) container: Element,
    /// The relay's WebSocket address.
    pub(super) relay_url: String,
    /// From the options, else the page address, else the one this tab had before a reload.
    pub(super) participant: Option<ParticipantId>,
    pub(super) env: Option<JsEnvSource>,
    /// The page's key map, in place of the environment's.
    pub(super) keys: Option<Vec<KeyBinding>>,
    /// `emit(kind, payload)`: how the session's events reach the JavaScript wrapper.
    pub(super) emit: Option<Function>,
    /// The page's own screening rule, `screen(facts)`.
    pub(super) screen: Option<Function>,
}

impl Options {
    pub(super) fn read(value: &JsValue) -> Result<Self, String> {
        let get = |key: &str| {
            if value.is_undefined() || value.is_null() {
                JsValue::UNDEFINED
            } else {
                Reflect::get(value, &key.into()).unwrap_or(JsValue::UNDEFINED)
            }
        };
        let container = match get("container") {
            v if v.is_undefined() || v.is_null() => default_container()?,
            v => v.dyn_into::<Element>().map_err(|_| "options.container must be an element")?,
        };
        let relay_url = match get("relay") {
            v if v.is_undefined() || v.is_null() => same_origin_relay()?,
            v => relay_socket_url(&v.as_string().ok_or("options.relay must be a URL string")?)?,
        };
        let participant = match get("participantId") {
            v if v.is_undefined() || v.is_null() => {
                url_participant()?.or_else(storage::remembered_participant)
            }
            v => {
                let raw = v.as_string().ok_or("options.participantId must be a string")?;
                Some(
                    ParticipantId::parse(&raw)
                        .map_err(|e| format!("options.participantId {raw:?} is not valid: {e}"))?,
                )
            }
        };
        let env = match get("env") {
            v if v.is_undefined() || v.is_null() => None,
            v => Some(JsEnvSource::read(&v).map_err(|e| format!("options.{e}"))?),
        };
        let keys = match get("keys") {
            v if v.is_undefined() || v.is_null() => None,
            v => {
                let max = env.as_ref().map_or(u8::MAX - 1, JsEnvSource::num_actions);
                Some(read_keys(&v, max).map_err(|e| format!("options.keys: {e}"))?)
            }
        };
        let emit = get("emit").dyn_into::<Function>().ok();
        let screen = match get("screen") {
            v if v.is_undefined() || v.is_null() => None,
            v => Some(v.dyn_into::<Function>().map_err(|_| "options.screen must be a function")?),
        };
        Ok(Self { container, relay_url, participant, env, keys, emit, screen })
    }
}

fn default_container() -> Result<Element, String> {
    let document = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
    document.body().map(Element::from).ok_or_else(|| "options.container is required".into())
}

/// `ws://` or `wss://` on the page's own host.
fn same_origin_relay() -> Result<String, String> {
    let location = web_sys::window().ok_or("no window")?.location();
    let protocol = location.protocol().map_err(|_| "unreadable page address")?;
    let host = location.host().map_err(|_| "unreadable page address")?;
    let scheme = if protocol == "https:" { "wss" } else { "ws" };
    Ok(format!("{scheme}://{host}/ws"))
}

/// A relay given as its page address (`https://relay.example.org`) or its WebSocket
/// (`wss://relay.example.org/ws`).
fn relay_socket_url(raw: &str) -> Result<String, String> {
    let url = web_sys::Url::new(raw).map_err(|_| format!("options.relay {raw:?} is not a URL"))?;
    let scheme = match url.protocol().as_str() {
        "http:" | "ws:" => "ws",
        "https:" | "wss:" => "wss",
        other => return Err(format!("options.relay must be http(s) or ws(s), not {other}")),
    };
    let path = match url.pathname().as_str() {
        "" | "/" => "/ws".to_owned(),
        path => path.to_owned(),
    };
    Ok(format!("{scheme}://{}{path}", url.host()))
}

/// The participant id from `?PROLIFIC_PID=` or `?participant=`, if any.
fn url_participant() -> Result<Option<ParticipantId>, String> {
    let search =
        web_sys::window().map(|w| w.location().search().unwrap_or_default()).unwrap_or_default();
    let params =
        web_sys::UrlSearchParams::new_with_str(&search).map_err(|_| "unreadable page address")?;
    let raw = params.get("PROLIFIC_PID").or_else(|| params.get("participant"));
    raw.map(|raw| {
        ParticipantId::parse(&raw)
            .map_err(|e| format!("The participant id in the link is not valid: {e}."))
    })
    .transpose()
}
