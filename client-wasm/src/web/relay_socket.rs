//! The relay WebSocket. Closing it and removing its listeners happens on Drop.

use gloo_events::EventListener;
use rollgym_protocol::ServerMsg;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{MessageEvent, WebSocket};

use crate::{core::session::Input, web::app::WeakDispatch};

pub(super) struct RelaySocket {
    ws: WebSocket,
    _listeners: [EventListener; 3],
}

impl RelaySocket {
    pub(super) fn open(url: &str, events: WeakDispatch) -> Result<Self, JsValue> {
        let ws = WebSocket::new(url)?;
        let on_open = {
            let events = events.clone();
            EventListener::new(&ws, "open", move |_| events.send(Input::RelayOpen))
        };
        let on_message = {
            let events = events.clone();
            EventListener::new(&ws, "message", move |event| {
                let text = event.dyn_ref::<MessageEvent>().and_then(|e| e.data().as_string());
                let input = match text.map(|t| ServerMsg::decode(&t)) {
                    Some(Ok(msg)) => Input::Relay(msg),
                    Some(Err(err)) => Input::RelayGarbage(err.to_string()),
                    None => Input::RelayGarbage("a non-text frame".into()),
                };
                events.send(input);
            })
        };
        // An `error` event is always followed by `close`, which is what the session needs.
        let on_close = EventListener::new(&ws, "close", move |_| events.send(Input::RelayClosed));
        Ok(Self { ws, _listeners: [on_open, on_message, on_close] })
    }

    /// Sends one encoded message (dropped while the connection is not open: the session
    /// re-sends what matters after a reconnect).
    pub(super) fn send(&self, text: &str) {
        if self.ws.ready_state() != WebSocket::OPEN {
            return;
        }
        if let Err(err) = self.ws.send_with_str(text) {
            web_sys::console::warn_2(&"rollgym: relay send failed".into(), &err);
        }
    }

    /// Closes the connection; its close event still reaches the session.
    pub(super) fn close(&self) {
        let _ = self.ws.close();
    }
}

impl Drop for RelaySocket {
    fn drop(&mut self) {
        let _ = self.ws.close();
    }
}
