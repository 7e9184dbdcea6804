//! The participant's session: relay messages, pairing, the peer connection's lifecycle, the
//! ping exchange and the game, as a sans-IO state machine.
//!
//! [`Session::handle`] takes one [`Input`] and the current time and returns the [`Command`]s the
//! browser adapter must carry out. It never touches the browser, so every path (a partner
//! leaving, a fatal relay error, garbage on the DataChannel) is tested natively.

use std::collections::BTreeMap;

use rollgym_protocol::{
    AgreedDelay, ClientMsg, EnvStamp, ErrorCode, Exclusion, GameConfig, GameHealth, GameId,
    IceServer, OutcomeConfig, OutcomeName, PROTOCOL_VERSION, ParticipantId, PeerInfo, ProbeId,
    SceneView, ScreenFacts, ScreenRequest, ServerMsg, SignalPayload, Upload, UploadId,
};

use self::place::{Kickoff, Lobby, Match, Place};
pub use self::reconnect::{IceState, RESTART_EVERY_MS};
use crate::{
    core::{
        export,
        game::{EpisodePlan, Game, Stage},
        netcode::{NO_ACTION, NetInput, NetSettings, Netcode, PeerAddr, PeerEvent},
        peer_msg::{Packet, PeerMsg, bundled, finished_packet, netcode_bundle},
        pending::PendingUpload,
        probe::{ProbeEvent, ProbeOut, Prober},
        recorder::FrameRow,
        status::{EpisodeSummary, Exit, ExportStatus, Outcome, Phase, SceneStatus, Status},
    },
    env::{DynEnv, Env},
};

/// Makes the environment the page supplies (a JavaScript one) for a game that names it.
pub type SuppliedEnv = Box<dyn Fn() -> Result<DynEnv, String>>;

/// Something that happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    RelayOpen,
    Relay(ServerMsg),
    /// The relay sent something that is not a [`ServerMsg`].
    RelayGarbage(String),
    RelayClosed,
    /// The peer connection to the partner at this player index produced an offer, answer or
    /// ICE candidate for it. (A game has one connection per partner, named by its index.)
    LocalSignal(u8, SignalPayload),
    ChannelOpen(u8),
    ChannelData(u8, Vec<u8>),
    ChannelClosed(u8),
    /// The WebRTC machinery failed (an SDP the browser refused, a failed connection).
    PeerFailed(String),
    /// The page cannot go on (its game clock cannot run): the session ends in `error` with
    /// this message, and its connections close.
    Fatal(String),
    /// The ping interval elapsed.
    Tick,
    /// The game clock ticked; the local player's input for the next frame, and the wall-clock
    /// time (ms since the Unix epoch) for the recorded rows.
    Frame(NetInput, f64),
    /// Uploads the relay had not acknowledged before the page was closed or reloaded.
    Restored(Vec<PendingUpload>),
    /// A partner's peer connection's selected candidate type (from getStats).
    ConnectionType(u8, String),
    /// A partner's game connection's path changed (`iceConnectionState`).
    IceState(u8, IceState),
    /// The participant pressed the continue button of a static scene.
    Continue,
    /// Something happened on the probe connection.
    Probe(ProbeEvent),
    /// The entry checks need the participant to act (enlarge the window): show this, or stop
    /// showing it (`None`).
    ScreenPrompt(Option<String>),
    /// The entry checks are done: what the browser says about itself.
    Screened(Box<ScreenFacts>),
    /// The screening connection produced an offer or a candidate for the relay's peer.
    ScreenSignal(SignalPayload),
    /// The relay's peer sent this on the screening connection: it goes straight back.
    ScreenEcho(Vec<u8>),
}

/// Something the browser adapter must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    SendRelay(ClientMsg),
    /// Send a message already encoded (an upload, kept as its wire text until acknowledged).
    SendRelayText(String),
    /// Create the peer connection to the partner at player index `partner`. The initiator
    /// (the lower index of the two) creates the DataChannel and the offer.
    OpenPeer {
        partner: u8,
        initiator: bool,
        ice_servers: Vec<IceServer>,
        force_relay: bool,
    },
    /// Apply a partner's offer, answer or candidate to the connection to it.
    ApplySignal(u8, SignalPayload),
    /// Make a new offer with fresh ICE credentials to this partner (skipped while an offer
    /// awaits its answer): the connection lost its path mid-game.
    RestartIce(u8),
    SendPeer(u8, Vec<u8>),
    /// Close the connections to every partner.
    ClosePeer,
    /// Keep this upload in browser storage until the relay acknowledges it.
    Persist(Box<PendingUpload>),
    /// The relay acknowledged (or refused for good) this upload: drop it from storage.
    Forget {
        participant: ParticipantId,
        upload_id: UploadId,
    },
    /// Open the relay connection again (with backoff): a game runs or data is undelivered.
    Reconnect,
    /// Close the relay connection: this page cannot take part any more.
    CloseRelay,
    /// Create the probe connection (replacing any other). It is closed by the adapter as soon
    /// as [`Session::probing`] is false.
    OpenProbe {
        initiator: bool,
        ice_servers: Vec<IceServer>,
        force_relay: bool,
    },
    /// Apply the other side's offer, answer or candidate to the probe connection.
    ApplyProbeSignal(SignalPayload),
    SendProbe(Vec<u8>),
    /// Run the entry checks the relay asked for, then report [`Input::Screened`]. The adapter
    /// stops them as soon as the phase is no longer `screening`.
    Screen(ScreenRequest),
    /// Apply the relay's peer's answer to the screening connection.
    ApplyScreenSignal(SignalPayload),
    /// Send on the screening connection.
    SendScreen(Vec<u8>),
}

/// The game being played.
struct Play {
    netcode: Netcode<DynEnv>,
    config: GameConfig,
    /// The relay's choice for `input_delay = "auto"`, from the start on.
    agreed_delay: Option<AgreedDelay>,
}

/// One participant's client.
pub struct Session {
    requested_id: Option<ParticipantId>,
    /// Our participant id, once the relay confirmed it (the status shows it as text).
    me: Option<ParticipantId>,
    /// What the page shows: a projection of the session, never read back as its state.
    status: Status,
    place: Place,
    /// Undecodable DataChannel packets, dropped.
    dropped_packets: u64,
    /// We told the relay we are finished with the current scene.
    advanced: bool,
    /// Uploads not yet acknowledged, by participant and upload id (restored ones may belong
    /// to another tab's participant in this browser).
    unacked: BTreeMap<(ParticipantId, UploadId), PendingUpload>,
    /// The page's own environment, for a game whose `env` is not a built-in one.
    supplied: Option<SuppliedEnv>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("status", &self.status).finish_non_exhaustive()
    }
}

impl Session {
    /// `requested_id` comes from the page URL; `None` lets the relay assign one.
    pub fn new(requested_id: Option<ParticipantId>) -> Self {
        Self {
            requested_id,
            me: None,
            status: Status::default(),
            place: Place::default(),
            dropped_packets: 0,
            advanced: false,
            unacked: BTreeMap::new(),
            supplied: None,
        }
    }

    /// Plays `supplied` in a game whose `env` is not built in.
    pub fn with_supplied_env(mut self, supplied: SuppliedEnv) -> Self {
        self.supplied = Some(supplied);
        self
    }

    pub fn status(&self) -> &Status {
        &self.status
    }

    pub fn dropped_packets(&self) -> u64 {
        self.dropped_packets
    }

    /// The simulation, once a game runs (for rendering).
    pub fn game(&self) -> Option<&Game<DynEnv>> {
        self.play().map(|p| p.netcode.game())
    }

    pub fn game_config(&self) -> Option<&GameConfig> {
        let matched = self.matched()?;
        matched.play.as_ref().map(|p| &p.config).or(matched.announced.as_ref().map(|(c, _)| c))
    }

    pub fn netcode(&self) -> Option<&Netcode<DynEnv>> {
        self.play().map(|p| &p.netcode)
    }

    /// A probe runs: its connection must stay open.
    pub fn probing(&self) -> bool {
        self.lobby().is_some_and(|l| l.probe.is_some()) && !self.status.phase.is_terminal()
    }

    /// The match, from the pairing on.
    /// A key the game listens to went down at `at_ms` (wall clock): the next frame carries it.
    pub fn note_key(&mut self, at_ms: f64) {
        if let Some(play) = self.matched_mut().and_then(|m| m.play.as_mut()) {
            play.netcode.latency_mut().pressed(at_ms);
        }
    }

    /// An animation frame drew the state after `frame` at `at_ms` (wall clock).
    pub fn note_drawn(&mut self, frame: i32, at_ms: f64) {
        if let Some(play) = self.matched_mut().and_then(|m| m.play.as_mut()) {
            play.netcode.latency_mut().drawn(frame, at_ms);
        }
    }

    fn matched(&self) -> Option<&Match> {
        match &self.place {
            Place::Game(matched) => Some(matched),
            Place::Lobby(_) => None,
        }
    }

    fn matched_mut(&mut self) -> Option<&mut Match> {
        match &mut self.place {
            Place::Game(matched) => Some(matched),
            Place::Lobby(_) => None,
        }
    }

    fn lobby(&self) -> Option<&Lobby> {
        match &self.place {
            Place::Lobby(lobby) => Some(lobby),
            Place::Game(_) => None,
        }
    }

    fn lobby_mut(&mut self) -> Option<&mut Lobby> {
        match &mut self.place {
            Place::Lobby(lobby) => Some(lobby),
            Place::Game(_) => None,
        }
    }

    /// The game, once the channel to the partner opened.
    fn play(&self) -> Option<&Play> {
        self.matched()?.play.as_ref()
    }

    /// The relay started the game: frames count.
    fn started(&self) -> bool {
        self.matched().is_some_and(Match::started)
    }

    pub fn handle(&mut self, input: Input, now_ms: f64) -> Vec<Command> {
        let commands = self.on_input(input, now_ms);
        self.count_sent(&commands);
        commands
    }

    /// Adds what goes to each partner to its link's tally.
    fn count_sent(&mut self, commands: &[Command]) {
        let Place::Game(m) = &mut self.place else { return };
        let mut changed = false;
        for command in commands {
            if let Command::SendPeer(to, bytes) = command
                && let Some(link) = m.link_mut(*to)
            {
                link.sent[0] += bytes.len() as u64;
                link.sent[1] += 1;
                changed = true;
            }
        }
        if changed {
            self.status.sent_to_partners = m.links.iter().map(|l| l.sent).collect();
        }
    }

    fn on_input(&mut self, input: Input, now_ms: f64) -> Vec<Command> {
        match input {
            Input::RelayOpen => vec![self.hello()],
            Input::Relay(msg) => self.relay_message(msg, now_ms),
            Input::RelayGarbage(err) => {
                self.status.last_error = Some(format!("unreadable message from the server: {err}"));
                Vec::new()
            }
            Input::RelayClosed => self.relay_closed(),
            Input::LocalSignal(partner, payload) => self.local_signal(partner, payload),
            Input::ChannelOpen(partner) => self.channel_opened(partner, now_ms),
            Input::ChannelData(partner, bytes) => self.peer_packet(partner, &bytes, now_ms),
            Input::ChannelClosed(partner) => self.channel_closed(partner, now_ms),
            Input::PeerFailed(reason) => {
                self.status.last_error = Some(reason);
                Vec::new()
            }
            Input::Fatal(message) => self.fatal(message),
            Input::Probe(event) => self.probe_event(event, now_ms),
            Input::ScreenPrompt(prompt) => {
                if self.status.phase == Phase::Screening {
                    self.status.notice = prompt;
                }
                Vec::new()
            }
            Input::Screened(facts) if self.status.phase == Phase::Screening => {
                self.status.notice = None;
                vec![Command::SendRelay(ClientMsg::ScreenFacts(facts))]
            }
            Input::Screened(_) => Vec::new(),
            Input::ScreenSignal(payload) if self.screening() => {
                vec![Command::SendRelay(ClientMsg::ScreenSignal { payload })]
            }
            Input::ScreenEcho(bytes) if self.screening() => vec![Command::SendScreen(bytes)],
            Input::ScreenSignal(_) | Input::ScreenEcho(_) => Vec::new(),
            Input::Tick => self.tick(now_ms),
            Input::Frame(input, epoch_ms) => self.frame(input, now_ms, epoch_ms),
            Input::Restored(uploads) => {
                for upload in uploads {
                    let key = (upload.participant_id.clone(), upload.upload_id.clone());
                    self.unacked.entry(key).or_insert(upload);
                }
                Vec::new()
            }
            Input::ConnectionType(partner, kind) => {
                if let Some(link) = self.matched_mut().and_then(|m| m.link_mut(partner)) {
                    link.connection_type = Some(kind);
                }
                self.status.connection_type = self.matched().and_then(Match::connection_types);
                Vec::new()
            }
            Input::Continue => self.continue_scene(),
            Input::IceState(partner, state) => self.ice_state(partner, state, now_ms),
        }
    }

    /// Our connection to `partner` has an offer, answer or candidate for it: via the relay.
    fn local_signal(&self, partner: u8, payload: SignalPayload) -> Vec<Command> {
        let to = self.matched().and_then(|m| m.links.iter().find(|l| l.index == partner));
        match to {
            Some(link) if !self.status.phase.is_terminal() => {
                let to = link.participant.clone();
                vec![Command::SendRelay(ClientMsg::Signal { to, payload })]
            }
            _ => Vec::new(),
        }
    }

    /// Once known, our id is kept across reconnections.
    fn hello(&self) -> Command {
        Command::SendRelay(ClientMsg::Hello {
            protocol_version: PROTOCOL_VERSION,
            participant_id: self.my_id().or_else(|| self.requested_id.clone()),
            rejoin: self.play().is_some() || self.status.phase.is_terminal(),
        })
    }

    /// Ends the session for good. The relay then hears at once that this participant is gone
    /// and sends its partner back to the waiting room instead of waiting for a validation.
    fn fatal(&mut self, message: String) -> Vec<Command> {
        if self.status.phase.is_terminal() {
            return Vec::new();
        }
        self.fail(message);
        vec![Command::ClosePeer, Command::CloseRelay]
    }

    /// The ping interval: probe pings, the end of a game, the countdown, time waited, and a
    /// ping to every partner.
    fn tick(&mut self, now_ms: f64) -> Vec<Command> {
        let mut commands = self.probe_tick(now_ms);
        commands.extend(self.settle_departure(now_ms));
        commands.extend(self.reconnect_tick(now_ms));
        commands.extend(self.finish_game(now_ms));
        self.update_countdown(now_ms);
        let since = self.lobby().and_then(|l| l.waiting_since);
        if let (Phase::Waiting, Some(since)) = (self.status.phase, since) {
            self.status.waited_s = Some(((now_ms - since) / 1000.0).max(0.0) as u32);
        }
        if let Some(m) = self.matched_mut() {
            for link in m.links.iter_mut().filter(|l| l.open) {
                commands.push(Command::SendPeer(link.index, link.rtt.ping(now_ms).encode()));
            }
        }
        commands
    }

    /// The participant clicked the continue button of a static scene.
    fn continue_scene(&mut self) -> Vec<Command> {
        match &self.status.scene {
            Some(scene) if self.status.phase == Phase::Scene && !scene.last && !self.advanced => {
                self.advanced = true;
                vec![Command::SendRelay(ClientMsg::Advance { from: scene.index })]
            }
            _ => Vec::new(),
        }
    }

    /// Our participant id, once the relay confirmed it.
    fn my_id(&self) -> Option<ParticipantId> {
        self.me.clone()
    }

    /// Whether the entry checks run (the adapter keeps its screener only while they do).
    pub fn screening(&self) -> bool {
        self.status.phase == Phase::Screening
    }

    /// Whether to reconnect when the relay connection drops: a game runs, data is undelivered,
    /// or the participant is somewhere the relay decides what comes next (a page, the waiting
    /// room, a match not yet started); the relay places a returning participant where it was.
    pub fn needs_relay(&self) -> bool {
        let me = self.me.as_ref().or(self.requested_id.as_ref());
        let undelivered = self.unacked.keys().any(|(owner, _)| me.is_none_or(|me| owner == me));
        let placed = matches!(
            self.status.phase,
            Phase::Screening | Phase::Scene | Phase::Waiting | Phase::Matched | Phase::Countdown
        );
        self.status.phase != Phase::Error && (self.play().is_some() || undelivered || placed)
    }

    /// Whether the page may close now without costing the partner its game: outside a
    /// finished game always; after one, once the partner said it finished too or had time to.
    pub fn partner_released(&self, now_ms: f64) -> bool {
        !self.game_over_here() || self.matched().is_none_or(|m| m.partner_released(now_ms))
    }

    fn fail(&mut self, message: String) {
        if self.status.phase.is_terminal() {
            return;
        }
        self.status.phase = Phase::Error;
        self.status.last_error = Some(message);
        if let Some(m) = self.matched_mut() {
            m.links.iter_mut().for_each(|l| l.open = false);
        }
    }
}

/// Shown while the relay connection is being re-established outside a game.
const RECONNECTING: &str = "Reconnecting to the server…";

/// The netcode's packets, one DataChannel message per partner: what ggrs sends a partner in a
/// tick (its input, acknowledgements, reports) travels in one datagram.
fn outgoing(netcode: &mut Netcode<DynEnv>) -> Vec<Command> {
    let epoch = netcode.epoch();
    let packets = netcode.take_outgoing();
    let mut by_partner: Vec<(u8, Vec<&[u8]>)> = Vec::new();
    for (to, packet) in &packets {
        match by_partner.iter_mut().find(|(p, _)| *p == to.0) {
            Some((_, parts)) => parts.push(packet),
            None => by_partner.push((to.0, vec![packet])),
        }
    }
    by_partner
        .into_iter()
        .map(|(to, parts)| Command::SendPeer(to, netcode_bundle(&parts, epoch)))
        .collect()
}

mod data;
mod departure;
mod place;
mod play;
mod probing;
mod reconnect;
mod relay;
mod spectate;

#[cfg(all(test, not(target_arch = "wasm32")))]
mod properties;
#[cfg(test)]
mod tests;
