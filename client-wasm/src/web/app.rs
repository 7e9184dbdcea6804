//! Owns the session and the browser resources, and runs the event loop: every browser
//! callback becomes a job, queued and handled one at a time.

use std::{
    cell::{Cell, RefCell},
    collections::VecDeque,
    rc::{Rc, Weak},
};

use gloo_timers::callback::{Interval, Timeout};
use rollgym_protocol::IceServer;
use wasm_bindgen::JsValue;

use crate::{
    core::{
        netcode::{NO_ACTION, NetInput},
        probe::ProbeEvent,
        session::{Command, Input, Session},
        status::{Phase, Status},
    },
    env::{DynEnv, Env, KeyBinding},
    web::{
        clock::{self, WorkerClock},
        events::Emitter,
        hook::Hook,
        keyboard::Keyboard,
        options::Options,
        peer::{LinkKind, PeerLink},
        relay_socket::RelaySocket,
        render::{AnimationLoop, GameCanvas},
        screen::Screen,
        screening::Screener,
        storage,
    },
};

/// Pings to the partner every this many milliseconds.
const PING_INTERVAL_MS: u32 = 500;

thread_local! {
    /// Whether a session runs on this page: one at a time (the test hook, the keyboard and
    /// browser storage are the page's).
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
}

/// Marks the page's one session; dropped with the app.
struct ActiveGuard;

impl ActiveGuard {
    fn claim() -> Result<Self, String> {
        if ACTIVE.with(|a| a.replace(true)) {
            return Err("a rollgym session already runs on this page: destroy() it first".into());
        }
        Ok(Self)
    }
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        ACTIVE.with(|a| a.set(false));
    }
}

/// Starts a session in `options.container`. A mistake in the options is an error here; a
/// failure after that (no relay, a page that cannot run the game) is shown on the page and
/// reported through the events, like every other end.
pub(super) fn launch(options: &JsValue) -> Result<Dispatch, JsValue> {
    let guard = ActiveGuard::claim().map_err(|e| js_sys::Error::new(&e))?;
    let options = Options::read(options).map_err(|e| js_sys::TypeError::new(&e))?;
    let hook = Hook::install()?;
    let screen = Screen::build(&options.container)?;
    let canvas = GameCanvas::new(screen.canvas().clone())?;
    let dispatch = Dispatch(Rc::new(Inner { app: RefCell::new(None), queue: RefCell::default() }));
    let events = dispatch.downgrade();
    let relay = RelaySocket::open(&options.relay_url, events.clone())?;
    let ticker = {
        let events = events.clone();
        Interval::new(PING_INTERVAL_MS, move || events.send(Input::Tick))
    };
    let mut session = Session::new(options.participant.clone());
    if let Some(source) = options.env.clone() {
        session = session.with_supplied_env(Box::new(move || Ok(DynEnv::new(source.make()))));
    }
    session.handle(Input::Restored(storage::pending_uploads()), 0.0);
    let continue_button = {
        let events = events.clone();
        gloo_events::EventListener::new(screen.scene_button(), "click", move |_| {
            events.send(Input::Continue);
        })
    };
    let app = App {
        _continue_button: continue_button,
        session,
        relay_url: options.relay_url,
        relay,
        reconnect: None,
        reconnect_attempts: 0,
        peers: Vec::new(),
        probe: None,
        game: None,
        _ticker: ticker,
        hook,
        screen,
        canvas,
        keys: options.keys,
        screen_rule: options.screen,
        screener: None,
        events_out: Emitter::new(options.emit),
        published: None,
        drawn: RefCell::new(Vec::new()),
        events,
        _active: guard,
    };
    app.publish();
    *dispatch.0.app.borrow_mut() = Some(app);
    dispatch.0.drain();
    Ok(dispatch)
}

/// What exists only while a game runs; dropped as a whole when it ends.
struct GameResources {
    _clock: WorkerClock,
    /// Dropped when the game is done: no more input is taken.
    keyboard: Option<Keyboard>,
    _animation: AnimationLoop,
}

struct App {
    _continue_button: gloo_events::EventListener,
    session: Session,
    relay_url: String,
    relay: RelaySocket,
    /// A pending attempt to open the relay connection again.
    reconnect: Option<Timeout>,
    reconnect_attempts: u32,
    /// The game's connections, one per partner, with its player index (a plain list: at most
    /// three, and a map type would add its code to every participant's download).
    peers: Vec<(u8, PeerLink)>,
    /// The connection of a probe before a match; kept only while the session probes.
    probe: Option<PeerLink>,
    game: Option<GameResources>,
    _ticker: Interval,
    hook: Hook,
    screen: Screen,
    canvas: GameCanvas,
    /// The page's own key map, in place of the environment's.
    keys: Option<Vec<KeyBinding>>,
    /// The page's own screening rule.
    screen_rule: Option<js_sys::Function>,
    /// The entry checks; kept only while the session screens.
    screener: Option<Screener>,
    /// The session's events for the embedding page.
    events_out: Emitter,
    /// The status last shown, to skip identical updates (most frames change nothing visible).
    published: Option<Status>,
    /// Frames first shown by animation frames since the last tick, with when (input latency).
    drawn: RefCell<Vec<(i32, f64)>>,
    events: WeakDispatch,
    _active: ActiveGuard,
}

/// One unit of work for the app.
enum Job {
    Input(Input),
    /// The game clock ticked: sample the keyboard and advance the simulation.
    Clock,
    /// Time to open the relay connection again.
    Reconnect,
}

impl App {
    fn run(&mut self, job: Job) {
        let input = match job {
            Job::Input(input) => input,
            Job::Clock => {
                let input = self.sample_input();
                self.note_timings(input.action != NO_ACTION);
                Input::Frame(input, js_sys::Date::now())
            }
            Job::Reconnect => {
                self.reopen_relay();
                return;
            }
        };
        if input == Input::RelayOpen {
            self.reconnect_attempts = 0;
        }
        let had_id = self.session.status().participant_id.is_some();
        let now = now_ms();
        for command in self.session.handle(input, now) {
            self.execute(command);
        }
        if let (false, Some(id)) = (had_id, self.session.status().participant_id.as_deref()) {
            storage::remember_participant(id);
        }
        if !self.session.probing() {
            self.probe = None;
        }
        if !self.session.screening() {
            self.screener = None;
        }
        self.manage_game_resources();
        self.publish();
        let code = self.session.game_config().and_then(|c| c.completion_code.as_deref());
        let released = self.session.partner_released(now);
        self.events_out.poll(self.session.status(), code, released, now);
    }

    fn reopen_relay(&mut self) {
        self.reconnect = None;
        match RelaySocket::open(&self.relay_url, self.events.clone()) {
            Ok(relay) => self.relay = relay,
            Err(err) => {
                web_sys::console::warn_2(&"rollgym: cannot reach the server".into(), &err);
                self.schedule_reconnect();
            }
        }
    }

    /// Backoff: 0.5 s, 1 s, 2 s, 4 s, then every 8 s.
    fn schedule_reconnect(&mut self) {
        if self.reconnect.is_some() {
            return;
        }
        let delay = 500u32 << self.reconnect_attempts.min(4);
        self.reconnect_attempts += 1;
        let events = self.events.clone();
        self.reconnect = Some(Timeout::new(delay, move || events.reconnect()));
    }

    /// Hands the session what the input latency needs (`core/latency.rs`): when this frame's
    /// key went down, and when animation frames first showed each new frame.
    fn note_timings(&mut self, acting: bool) {
        let keyboard = self.game.as_ref().and_then(|g| g.keyboard.as_ref());
        if let Some(at) = keyboard.and_then(Keyboard::take_press_time).filter(|_| acting) {
            self.session.note_key(at);
        }
        for (frame, at) in self.drawn.take() {
            self.session.note_drawn(frame, at);
        }
    }

    fn sample_input(&self) -> NetInput {
        let hidden = web_sys::window().and_then(|w| w.document()).is_some_and(|d| d.hidden());
        let keyboard = self.game.as_ref().and_then(|g| g.keyboard.as_ref());
        let env = self.session.game().map(|g| &g.env);
        let key = keyboard.zip(env).and_then(|(k, env)| k.sample(|held| env.held_action(held)));
        // A hidden tab plays the default action and says it is not focused.
        let (action, held) =
            if hidden { (NO_ACTION, false) } else { key.unwrap_or((NO_ACTION, false)) };
        NetInput { action, focused: !hidden, held, slow: false }
    }

    fn execute(&mut self, command: Command) {
        match command {
            Command::SendRelay(msg) => self.relay.send(&msg.encode()),
            Command::SendRelayText(text) => self.relay.send(&text),
            Command::OpenPeer { partner, initiator, ice_servers, force_relay } => {
                let kind = LinkKind::Game(partner);
                // A replaced connection is closed first (its Drop).
                self.peers.retain(|(p, _)| *p != partner);
                if let Some(link) = self.open_link(kind, initiator, &ice_servers, force_relay) {
                    self.peers.push((partner, link));
                }
            }
            Command::OpenProbe { initiator, ice_servers, force_relay } => {
                // Any earlier probe connection goes first.
                self.probe = None;
                self.probe = self.open_link(LinkKind::Probe, initiator, &ice_servers, force_relay);
            }
            Command::ApplyProbeSignal(payload) => {
                if let Some(probe) = &self.probe {
                    probe.apply(payload);
                }
            }
            Command::SendProbe(bytes) => {
                if let Some(probe) = &self.probe {
                    probe.send(&bytes);
                }
            }
            Command::ApplySignal(partner, payload) => {
                if let Some(peer) = self.peer(partner) {
                    peer.apply(payload);
                }
            }
            Command::RestartIce(partner) => {
                if let Some(peer) = self.peer(partner) {
                    peer.restart_ice();
                }
            }
            Command::SendPeer(partner, bytes) => {
                if let Some(peer) = self.peer(partner) {
                    peer.send(&bytes);
                }
            }
            Command::ClosePeer => self.peers.clear(),
            Command::Persist(upload) => storage::persist(&upload),
            Command::Forget { participant, upload_id } => storage::forget(&participant, &upload_id),
            Command::Reconnect => self.schedule_reconnect(),
            Command::CloseRelay => self.relay.close(),
            Command::Screen(request) => {
                self.screener = None;
                let rule = self.screen_rule.as_ref();
                self.screener = Some(Screener::start(request, rule, self.events.clone()));
            }
            Command::ApplyScreenSignal(payload) => {
                if let Some(screener) = &self.screener {
                    screener.apply(payload);
                }
            }
            Command::SendScreen(bytes) => {
                if let Some(screener) = &self.screener {
                    screener.send(&bytes);
                }
            }
        }
    }

    /// The game's connection to the partner at player index `partner`.
    fn peer(&self, partner: u8) -> Option<&PeerLink> {
        self.peers.iter().find(|(p, _)| *p == partner).map(|(_, link)| link)
    }

    /// Opens a peer connection; a failure reaches the session as that link's failure.
    fn open_link(
        &self,
        kind: LinkKind,
        initiator: bool,
        ice_servers: &[IceServer],
        force_relay: bool,
    ) -> Option<PeerLink> {
        match PeerLink::open(kind, initiator, ice_servers, force_relay, self.events.clone()) {
            Ok(link) => Some(link),
            Err(err) => {
                let reason = format!("cannot create the {} peer connection: {err:?}", kind.label());
                match kind {
                    LinkKind::Game(_) => self.events.send(Input::PeerFailed(reason)),
                    LinkKind::Probe => self.events.send(Input::Probe(ProbeEvent::Failed(reason))),
                    // The screener opens its own link and reports a failure with its facts.
                    LinkKind::Screen => {}
                }
                None
            }
        }
    }

    /// Starts the clock, keyboard and rendering when the game starts; tears them down when it
    /// ends, so nothing of the game is left behind.
    fn manage_game_resources(&mut self) {
        let phase = self.session.status().phase;
        match (&mut self.game, self.session.game_config()) {
            (None, Some(config)) if self.session.netcode().is_some() && !phase.is_terminal() => {
                match WorkerClock::start(config.fps, self.events.clone()) {
                    Ok(clock) => {
                        self.game = Some(GameResources {
                            _clock: clock,
                            keyboard: Keyboard::listen(
                                config.input_mode.unwrap_or_default(),
                                self.keys.clone().unwrap_or_else(|| {
                                    self.session.game().map(|g| g.env.keys()).unwrap_or_default()
                                }),
                            ),
                            _animation: AnimationLoop::start(self.events.clone()),
                        });
                        self.canvas.set_visible(true);
                    }
                    Err(err) => {
                        let detail = err.as_string().unwrap_or_else(|| format!("{err:?}"));
                        self.events.send(Input::Fatal(clock::clock_failure(&detail)));
                    }
                }
            }
            (Some(_), _)
                if matches!(phase, Phase::PartnerDisconnected | Phase::Error)
                    || self.session.netcode().is_none() =>
            {
                self.game = None;
                self.canvas.set_visible(false);
            }
            // Done: keep the clock so the partner can still confirm its last frames, but take
            // no more input.
            (Some(resources), _) if phase == Phase::Done => resources.keyboard = None,
            _ => {}
        }
    }

    fn render(&self) {
        if let (Some(game), Some(config)) = (self.session.game(), self.session.game_config()) {
            self.canvas.draw(game, self.session.status(), config);
            // The first time each frame reaches the screen.
            let shown = game.frame - 1;
            let mut drawn = self.drawn.borrow_mut();
            if drawn.last().is_none_or(|(frame, _)| *frame != shown) && drawn.len() < 64 {
                drawn.push((shown, js_sys::Date::now()));
            }
        }
    }

    fn publish(&self) {
        let status = self.session.status();
        if self.published.as_ref() == Some(status) {
            return;
        }
        let help = self.session.game().map(|g| g.env.help()).unwrap_or_default();
        self.screen.show(status, self.session.game_config(), &help);
        self.events_out.changed(self.published.as_ref(), status);
        if let Err(err) = self.hook.publish(status) {
            web_sys::console::warn_2(&"rollgym: cannot update window.rollgym".into(), &err);
        }
    }
}

fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map(|p| p.now()).unwrap_or(0.0)
}

struct Inner {
    app: RefCell<Option<App>>,
    queue: RefCell<VecDeque<Job>>,
}

impl Inner {
    /// Handles queued jobs unless a handler further up the stack is already doing so.
    fn drain(&self) {
        let Ok(mut app) = self.app.try_borrow_mut() else { return };
        let Some(app) = app.as_mut() else { return };
        loop {
            let next = self.queue.borrow_mut().pop_front();
            let Some(job) = next else { break };
            app.run(job);
            app.published = Some(app.session.status().clone());
        }
    }
}

/// The strong handle of the running client: dropping it ends the session and releases
/// everything it holds.
pub(super) struct Dispatch(Rc<Inner>);

impl Dispatch {
    fn downgrade(&self) -> WeakDispatch {
        WeakDispatch(Rc::downgrade(&self.0))
    }
}

/// What callbacks hold to deliver work. Jobs raised while a job is being handled (a command
/// that fails synchronously) are queued and handled right after, in order.
#[derive(Clone)]
pub(super) struct WeakDispatch(Weak<Inner>);

impl WeakDispatch {
    pub(super) fn send(&self, input: Input) {
        self.push(Job::Input(input));
    }

    pub(super) fn clock_tick(&self) {
        self.push(Job::Clock);
    }

    pub(super) fn reconnect(&self) {
        self.push(Job::Reconnect);
    }

    fn push(&self, job: Job) {
        let Some(inner) = self.0.upgrade() else { return };
        inner.queue.borrow_mut().push_back(job);
        inner.drain();
    }

    /// Draws the current state. Runs only when the app is idle and never handles queued jobs,
    /// so nothing is torn down from inside an animation-frame callback.
    pub(super) fn render(&self) {
        let Some(inner) = self.0.upgrade() else { return };
        if let Ok(app) = inner.app.try_borrow()
            && let Some(app) = app.as_ref()
        {
            app.render();
        }
    }
}
