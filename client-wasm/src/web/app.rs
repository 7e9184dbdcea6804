//! Owns the session and the browser resources, and runs the event loop: every browser
//! callback becomes an [`Input`], queued and handled one at a time.

use std::{
    cell::RefCell,
    collections::VecDeque,
    rc::{Rc, Weak},
};

use gloo_timers::callback::Interval;
use rollgym_protocol::ParticipantId;
use wasm_bindgen::JsValue;

use crate::{
    core::session::{Command, Input, Session},
    web::{hook::Hook, peer::PeerLink, relay_socket::RelaySocket, screen::Screen},
};

/// Pings to the partner every this many milliseconds.
const PING_INTERVAL_MS: u32 = 500;

thread_local! {
    /// The one running client of this page. Callbacks only hold weak references, so dropping
    /// this releases every listener, timer, socket and peer connection.
    static RUNNING: RefCell<Option<Dispatch>> = const { RefCell::new(None) };
}

pub(super) fn launch() -> Result<(), JsValue> {
    let hook = Hook::install()?;
    let screen = Screen::find()?;
    let requested = match requested_participant_id() {
        Ok(id) => id,
        Err(message) => {
            hook.fail(&message)?;
            screen.fail(&message);
            return Ok(());
        }
    };
    let dispatch = Dispatch(Rc::new(Inner { app: RefCell::new(None), queue: RefCell::default() }));
    let events = dispatch.downgrade();
    let relay = RelaySocket::open(&relay_url()?, events.clone())?;
    let ticker = {
        let events = events.clone();
        Interval::new(PING_INTERVAL_MS, move || events.send(Input::Tick))
    };
    let app = App {
        session: Session::new(requested),
        relay,
        peer: None,
        _ticker: ticker,
        hook,
        screen,
        events,
    };
    app.publish()?;
    *dispatch.0.app.borrow_mut() = Some(app);
    dispatch.0.drain();
    RUNNING.with(|running| *running.borrow_mut() = Some(dispatch));
    Ok(())
}

/// The participant id from `?PROLIFIC_PID=` or `?participant=`, if any.
fn requested_participant_id() -> Result<Option<ParticipantId>, String> {
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

/// `ws://` or `wss://` on the page's own host.
fn relay_url() -> Result<String, JsValue> {
    let location = web_sys::window().ok_or("no window")?.location();
    let scheme = if location.protocol()? == "https:" { "wss" } else { "ws" };
    Ok(format!("{scheme}://{}/ws", location.host()?))
}

struct App {
    session: Session,
    relay: RelaySocket,
    peer: Option<PeerLink>,
    _ticker: Interval,
    hook: Hook,
    screen: Screen,
    events: WeakDispatch,
}

impl App {
    fn handle(&mut self, input: Input) {
        let now = now_ms();
        for command in self.session.handle(input, now) {
            self.execute(command);
        }
        if let Err(err) = self.publish() {
            web_sys::console::warn_2(&"rollgym: cannot update the page".into(), &err);
        }
    }

    fn execute(&mut self, command: Command) {
        match command {
            Command::SendRelay(msg) => self.relay.send(&msg),
            Command::OpenPeer { initiator, ice_servers, force_relay } => {
                match PeerLink::open(initiator, &ice_servers, force_relay, self.events.clone()) {
                    Ok(link) => self.peer = Some(link),
                    Err(err) => {
                        let reason = format!("cannot create the peer connection: {err:?}");
                        self.events.send(Input::PeerFailed(reason));
                    }
                }
            }
            Command::ApplySignal(payload) => {
                if let Some(peer) = &self.peer {
                    peer.apply(payload);
                }
            }
            Command::SendPeer(bytes) => {
                if let Some(peer) = &self.peer {
                    peer.send(&bytes);
                }
            }
            Command::ClosePeer => self.peer = None,
        }
    }

    fn publish(&self) -> Result<(), JsValue> {
        let status = self.session.status();
        self.screen.show(status);
        self.hook.publish(status)
    }
}

fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map(|p| p.now()).unwrap_or(0.0)
}

struct Inner {
    app: RefCell<Option<App>>,
    queue: RefCell<VecDeque<Input>>,
}

/// The strong handle of the running client.
struct Dispatch(Rc<Inner>);

impl Dispatch {
    fn downgrade(&self) -> WeakDispatch {
        WeakDispatch(Rc::downgrade(&self.0))
    }
}

/// What callbacks hold to deliver inputs. Inputs raised while an input is being handled
/// (a command that fails synchronously) are queued and handled right after, in order.
#[derive(Clone)]
pub(super) struct WeakDispatch(Weak<Inner>);

impl WeakDispatch {
    pub(super) fn send(&self, input: Input) {
        let Some(inner) = self.0.upgrade() else {
            return;
        };
        inner.queue.borrow_mut().push_back(input);
        inner.drain();
    }
}

impl Inner {
    /// Handles queued inputs unless a handler further up the stack is already doing so.
    fn drain(&self) {
        let Ok(mut app) = self.app.try_borrow_mut() else {
            return;
        };
        let Some(app) = app.as_mut() else { return };
        loop {
            let next = self.queue.borrow_mut().pop_front();
            let Some(input) = next else { break };
            app.handle(input);
        }
    }
}
