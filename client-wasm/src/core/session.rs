//! The participant's session: relay messages, pairing, the peer connection's lifecycle, the
//! ping exchange and the game, as a sans-IO state machine.
//!
//! [`Session::handle`] takes one [`Input`] and the current time and returns the [`Command`]s the
//! browser adapter must carry out. It never touches the browser, so every path (a partner
//! leaving, a fatal relay error, garbage on the DataChannel) is tested natively.

use std::collections::BTreeMap;

use rollgym_protocol::{
    ClientMsg, ErrorCode, GameConfig, IceServer, PROTOCOL_VERSION, ParticipantId, PeerInfo, SafeId,
    SceneView, ServerMsg, SignalPayload, Upload,
};
use serde_json::json;

use crate::{
    core::{
        export,
        game::{EpisodePlan, Game, Stage},
        netcode::{NO_ACTION, NetInput, NetSettings, Netcode, PeerEvent},
        peer_msg::{Packet, PeerMsg, finished_packet, netcode_packet},
        probe::{ProbeEvent, ProbeOut, Prober},
        recorder::FrameRow,
        rtt::RttTracker,
        status::{EpisodeSummary, Exit, ExportStatus, Outcome, Phase, SceneStatus, Status},
    },
    env::overcooked::{Layout, Overcooked, Rules},
};

/// Something that happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    RelayOpen,
    Relay(ServerMsg),
    /// The relay sent something that is not a [`ServerMsg`].
    RelayGarbage(String),
    RelayClosed,
    /// Our peer connection produced an offer, answer or ICE candidate for the partner.
    LocalSignal(SignalPayload),
    ChannelOpen,
    ChannelData(Vec<u8>),
    ChannelClosed,
    /// The WebRTC machinery failed (an SDP the browser refused, a failed connection).
    PeerFailed(String),
    /// The ping interval elapsed.
    Tick,
    /// The game clock ticked; the local player's input for the next frame, and the wall-clock
    /// time (ms since the Unix epoch) for the recorded rows.
    Frame(NetInput, f64),
    /// Uploads the relay had not acknowledged before the page was closed or reloaded.
    Restored(Vec<Upload>),
    /// The peer connection's selected candidate type (from getStats).
    ConnectionType(String),
    /// The participant pressed the continue button of a static scene.
    Continue,
    /// Something happened on the probe connection.
    Probe(ProbeEvent),
}

/// Something the browser adapter must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    SendRelay(ClientMsg),
    /// Create the peer connection. The initiator creates the DataChannel and the offer.
    OpenPeer {
        initiator: bool,
        ice_servers: Vec<IceServer>,
        force_relay: bool,
    },
    /// Apply the partner's offer, answer or candidate to the peer connection.
    ApplySignal(SignalPayload),
    SendPeer(Vec<u8>),
    ClosePeer,
    /// Keep this upload in browser storage until the relay acknowledges it.
    Persist(Box<Upload>),
    /// The relay acknowledged (or refused for good) this upload: drop it from storage.
    Forget {
        participant: SafeId,
        upload_id: SafeId,
    },
    /// Open the relay connection again (with backoff): a game runs or data is undelivered.
    Reconnect,
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
}

/// The game being played.
struct Play {
    netcode: Netcode<Overcooked>,
    config: GameConfig,
}

/// One participant's client.
pub struct Session {
    requested_id: Option<ParticipantId>,
    status: Status,
    partner: Option<ParticipantId>,
    channel_open: bool,
    rtt: RttTracker,
    /// Undecodable DataChannel packets, dropped.
    dropped_packets: u64,
    /// The game announced with the pairing, started when the channel opens.
    announced: Option<(GameConfig, u64)>,
    play: Option<Play>,
    /// When the game clock last ticked here.
    last_frame_at: Option<f64>,
    /// Everyone in the game, self included.
    players: Vec<PeerInfo>,
    /// The relay reported the partner's connection closed.
    partner_left_relay: bool,
    /// ggrs has heard nothing from the partner for a while (interrupted, not resumed).
    partner_silent: bool,
    /// When this participant entered the waiting room (local time).
    waiting_since: Option<f64>,
    /// When the relay's "Players found!" countdown ends (local time), until play starts.
    countdown_ends_at: Option<f64>,
    /// The relay said every player is connected and the countdown is over.
    started: bool,
    /// We told the relay our connection is validated.
    validated_sent: bool,
    /// When every episode was over and confirmed here (local time).
    finished_at: Option<f64>,
    /// The partner said every episode is over and confirmed there too.
    partner_finished: bool,
    /// We told the relay we are finished with the current scene.
    advanced: bool,
    /// Uploads not yet acknowledged, by participant and upload id (restored ones may belong
    /// to another tab's participant in this browser).
    unacked: BTreeMap<(SafeId, SafeId), Upload>,
    /// This page went without a clock tick for longer than the focus-loss timeout (it was
    /// frozen); the partner has given up on us, so an ending connection means `PartnerAway`.
    was_frozen: bool,
    /// The peer-to-peer probe the relay asked for, while waiting.
    probe: Option<Prober>,
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
            status: Status::default(),
            partner: None,
            channel_open: false,
            rtt: RttTracker::default(),
            dropped_packets: 0,
            announced: None,
            play: None,
            last_frame_at: None,
            was_frozen: false,
            players: Vec::new(),
            partner_left_relay: false,
            waiting_since: None,
            countdown_ends_at: None,
            started: false,
            validated_sent: false,
            finished_at: None,
            partner_finished: false,
            advanced: false,
            partner_silent: false,
            unacked: BTreeMap::new(),
            probe: None,
        }
    }

    pub fn status(&self) -> &Status {
        &self.status
    }

    pub fn dropped_packets(&self) -> u64 {
        self.dropped_packets
    }

    /// The simulation, once a game runs (for rendering).
    pub fn game(&self) -> Option<&Game<Overcooked>> {
        self.play.as_ref().map(|p| p.netcode.game())
    }

    pub fn game_config(&self) -> Option<&GameConfig> {
        self.play.as_ref().map(|p| &p.config).or(self.announced.as_ref().map(|(c, _)| c))
    }

    pub fn netcode(&self) -> Option<&Netcode<Overcooked>> {
        self.play.as_ref().map(|p| &p.netcode)
    }

    /// A probe runs: its connection must stay open.
    pub fn probing(&self) -> bool {
        self.probe.is_some() && !self.status.phase.is_terminal()
    }

    pub fn handle(&mut self, input: Input, now_ms: f64) -> Vec<Command> {
        match input {
            Input::RelayOpen => {
                // Once known, our id is kept across reconnections.
                let known = self.my_id();
                vec![Command::SendRelay(ClientMsg::Hello {
                    protocol_version: PROTOCOL_VERSION,
                    participant_id: known.or_else(|| self.requested_id.clone()),
                    rejoin: self.play.is_some() || self.status.phase.is_terminal(),
                })]
            }
            Input::Relay(msg) => self.relay_message(msg, now_ms),
            Input::RelayGarbage(err) => {
                self.status.last_error = Some(format!("unreadable message from the server: {err}"));
                Vec::new()
            }
            Input::RelayClosed => self.relay_closed(),
            Input::LocalSignal(payload) => match &self.partner {
                Some(to) if !self.status.phase.is_terminal() => {
                    vec![Command::SendRelay(ClientMsg::Signal { to: to.clone(), payload })]
                }
                _ => Vec::new(),
            },
            Input::ChannelOpen => self.channel_opened(now_ms),
            Input::ChannelData(bytes) => self.peer_packet(&bytes, now_ms),
            Input::ChannelClosed => self.partner_gone(Outcome::PartnerDisconnected),
            Input::PeerFailed(reason) => {
                self.status.last_error = Some(reason);
                Vec::new()
            }
            Input::Probe(event) => self.probe_event(event, now_ms),
            Input::Tick => {
                let mut commands = self.probe_tick(now_ms);
                commands.extend(self.finish_game(now_ms));
                self.update_countdown(now_ms);
                if let (Phase::Waiting, Some(since)) = (self.status.phase, self.waiting_since) {
                    self.status.waited_s = Some(((now_ms - since) / 1000.0).max(0.0) as u32);
                }
                if self.channel_open {
                    commands.push(Command::SendPeer(self.rtt.ping(now_ms).encode()));
                }
                commands
            }
            Input::Frame(input, epoch_ms) => self.frame(input, now_ms, epoch_ms),
            Input::Restored(uploads) => {
                for upload in uploads {
                    let key = (upload.participant_id.clone(), upload.upload_id.clone());
                    self.unacked.entry(key).or_insert(upload);
                }
                Vec::new()
            }
            Input::ConnectionType(kind) => {
                self.status.connection_type = Some(kind);
                Vec::new()
            }
            Input::Continue => match &self.status.scene {
                Some(scene)
                    if self.status.phase == Phase::Scene && !scene.last && !self.advanced =>
                {
                    self.advanced = true;
                    vec![Command::SendRelay(ClientMsg::Advance { from: scene.index })]
                }
                _ => Vec::new(),
            },
        }
    }

    /// Our participant id, once the relay confirmed it.
    fn my_id(&self) -> Option<SafeId> {
        self.status.participant_id.as_deref().and_then(|id| SafeId::parse(id).ok())
    }

    fn current_game_id(&self) -> Option<SafeId> {
        self.status.game_id.as_deref().and_then(|id| SafeId::parse(id).ok())
    }

    /// Whether to reconnect when the relay connection drops: a game runs, data is undelivered,
    /// or the participant is somewhere the relay decides what comes next (a page, the waiting
    /// room, a match not yet started); the relay places a returning participant where it was.
    pub fn needs_relay(&self) -> bool {
        let me = self
            .status
            .participant_id
            .as_deref()
            .or(self.requested_id.as_ref().map(SafeId::as_str));
        let undelivered =
            self.unacked.keys().any(|(owner, _)| me.is_none_or(|me| owner.as_str() == me));
        let placed = matches!(
            self.status.phase,
            Phase::Scene | Phase::Waiting | Phase::Matched | Phase::Countdown
        );
        self.status.phase != Phase::Error && (self.play.is_some() || undelivered || placed)
    }

    fn relay_message(&mut self, msg: ServerMsg, now_ms: f64) -> Vec<Command> {
        match msg {
            ServerMsg::UploadAck { upload_id } => return self.upload_settled(upload_id, None),
            ServerMsg::UploadRefused { upload_id, message, .. } => {
                return self.upload_settled(upload_id, Some(message));
            }
            ServerMsg::Welcome { .. } => {}
            // After a game, the next scene follows; never the finished one again (its data
            // would be played over).
            ServerMsg::Scene { index, .. }
                if self.status.phase == Phase::Done
                    && self.status.scene.as_ref().is_none_or(|s| index > s.index) => {}
            _ if self.status.phase.is_terminal() => return Vec::new(),
            _ => {}
        }
        match msg {
            ServerMsg::UploadAck { .. } | ServerMsg::UploadRefused { .. } => Vec::new(),
            ServerMsg::Welcome { participant_id, .. } => {
                // Deliver whatever is still undelivered (after a reconnect or a reload).
                let mut resend: Vec<Command> = self
                    .unacked
                    .values()
                    .filter(|u| u.participant_id == participant_id)
                    .map(|u| Command::SendRelay(ClientMsg::Upload(Box::new(u.clone()))))
                    .collect();
                // The game ended while the relay was away: the request for the next scene may
                // have been lost with the old connection.
                if let (Phase::Done, true, Some(scene)) =
                    (self.status.phase, self.advanced, &self.status.scene)
                    && !scene.last
                {
                    resend.push(Command::SendRelay(ClientMsg::Advance { from: scene.index }));
                }
                self.status.participant_id = Some(participant_id.to_string());
                if self.status.notice.as_deref() == Some(RECONNECTING) {
                    self.status.notice = None;
                }
                resend
            }
            ServerMsg::Waiting { waiting, needed } => {
                if self.status.phase != Phase::Waiting || self.waiting_since.is_none() {
                    self.waiting_since = Some(now_ms);
                    self.status.waited_s = Some(0);
                }
                self.status.phase = Phase::Waiting;
                self.status.waiting = Some((waiting, needed));
                Vec::new()
            }
            ServerMsg::Paired {
                game_id,
                player_index,
                peers,
                ice_servers,
                force_relay,
                game,
                seed,
                countdown_ms,
            } => {
                // Two-player games: the partner is the one other peer.
                let Some(partner) = peers.first() else {
                    self.fail("The server paired us with nobody.".into());
                    return Vec::new();
                };
                let initiator = player_index < partner.player_index;
                self.probe = None;
                self.partner = Some(partner.participant_id.clone());
                if let Some(me) = self.my_id() {
                    self.players = vec![PeerInfo { participant_id: me, player_index }];
                }
                self.players.extend(peers.iter().cloned());
                self.players.sort_by_key(|p| p.player_index);
                self.announced = Some((*game, seed));
                self.countdown_ends_at = Some(now_ms + f64::from(countdown_ms));
                self.status.notice = None;
                self.status.waited_s = None;
                self.waiting_since = None;
                self.status.phase = Phase::Matched;
                self.status.waiting = None;
                self.status.game_id = Some(game_id);
                self.status.player_index = Some(player_index);
                vec![Command::OpenPeer { initiator, ice_servers, force_relay }]
            }
            ServerMsg::Signal { from, payload } => {
                if self.partner.as_ref() == Some(&from) {
                    vec![Command::ApplySignal(payload)]
                } else {
                    Vec::new()
                }
            }
            ServerMsg::PartnerLeft { participant_id } => {
                if self.partner.as_ref() != Some(&participant_id) {
                    return Vec::new();
                }
                // The partner's relay connection can drop (a network blip) while the game goes
                // on peer to peer, so during a game this counts only together with silence on
                // the channel (ggrs reports an interruption after a second without packets; it
                // only watches for that once synchronized).
                self.partner_left_relay = true;
                let running = self.play.as_ref().is_some_and(|p| p.netcode.is_running());
                if running && !self.partner_silent {
                    Vec::new()
                } else {
                    self.partner_gone(Outcome::PartnerDisconnected)
                }
            }
            ServerMsg::Start { game_id } => {
                if self.status.game_id.as_deref() != Some(game_id.as_str()) {
                    return Vec::new();
                }
                self.started = true;
                if self.play.is_none() {
                    // The connection was lost before the start: this game cannot be played.
                    return self.partner_gone(Outcome::PartnerDisconnected);
                }
                self.countdown_ends_at = None;
                self.status.countdown = None;
                self.refresh_game_status();
                Vec::new()
            }
            ServerMsg::Repool { message } => self.repool(message),
            ServerMsg::Probe { probe_id, peer: _, initiator, ice_servers, force_relay } => {
                if self.status.phase != Phase::Waiting {
                    // Not waiting (any more): the relay's view will catch up; say so.
                    return vec![Command::SendRelay(ClientMsg::ProbeResult {
                        probe_id,
                        rtt_ms: None,
                    })];
                }
                self.probe = Some(Prober::new(probe_id, now_ms));
                self.status.probes += 1;
                vec![Command::OpenProbe { initiator, ice_servers, force_relay }]
            }
            ServerMsg::ProbeSignal { probe_id, payload } => match &self.probe {
                Some(p) if *p.id() == probe_id => vec![Command::ApplyProbeSignal(payload)],
                _ => Vec::new(),
            },
            ServerMsg::ProbeEnd { probe_id } => {
                if self.probe.as_ref().is_some_and(|p| *p.id() == probe_id) {
                    self.probe = None;
                }
                Vec::new()
            }
            ServerMsg::Scene { index, view, last } => self.enter_scene(index, view, last),
            ServerMsg::WaitTimedOut { message, redirect_url, completion_code } => {
                if self.status.phase == Phase::Waiting {
                    self.status.phase = Phase::Excluded;
                    self.status.outcome = Some(Outcome::Timeout);
                    self.status.waiting = None;
                    self.status.exit = Some(Exit { message, completion_code, redirect_url });
                }
                Vec::new()
            }
            ServerMsg::Error { code: ErrorCode::AlreadyFinished, message, .. } => {
                // A reload after the end: a thank-you, not an error.
                self.status.phase = Phase::Excluded;
                self.status.outcome = Some(Outcome::AlreadyFinished);
                self.status.exit =
                    Some(Exit { message, completion_code: None, redirect_url: None });
                Vec::new()
            }
            ServerMsg::Error { message, fatal, .. } => {
                if fatal {
                    self.fail(message);
                } else {
                    self.status.last_error = Some(message);
                }
                Vec::new()
            }
        }
    }

    fn probe_event(&mut self, event: ProbeEvent, now_ms: f64) -> Vec<Command> {
        let Some(probe) = &mut self.probe else { return Vec::new() };
        let out = match event {
            ProbeEvent::LocalSignal(payload) => {
                let probe_id = probe.id().clone();
                return vec![Command::SendRelay(ClientMsg::ProbeSignal { probe_id, payload })];
            }
            ProbeEvent::Open => probe.opened(now_ms),
            ProbeEvent::Data(bytes) => probe.packet(&bytes, now_ms),
            ProbeEvent::Closed | ProbeEvent::Failed(_) => probe.failed(),
        };
        self.probe_commands(out)
    }

    fn probe_tick(&mut self, now_ms: f64) -> Vec<Command> {
        let Some(probe) = &mut self.probe else { return Vec::new() };
        if probe.expired(now_ms) {
            self.probe = None;
            return Vec::new();
        }
        let out = probe.tick(now_ms);
        self.probe_commands(out)
    }

    fn probe_commands(&mut self, out: Vec<ProbeOut>) -> Vec<Command> {
        let Some(probe) = &self.probe else { return Vec::new() };
        out.into_iter()
            .map(|o| match o {
                ProbeOut::Send(bytes) => Command::SendProbe(bytes),
                ProbeOut::Report(rtt_ms) => {
                    self.status.probe_rtt_ms = rtt_ms;
                    Command::SendRelay(ClientMsg::ProbeResult {
                        probe_id: probe.id().clone(),
                        rtt_ms,
                    })
                }
            })
            .collect()
    }

    /// Seconds left in the countdown, for the page; the phase follows.
    fn update_countdown(&mut self, now_ms: f64) {
        let left = self.countdown_ends_at.map(|end| ((end - now_ms) / 1000.0).ceil());
        self.status.countdown = left.filter(|s| *s > 0.0).map(|s| s as u32);
        if !self.started && matches!(self.status.phase, Phase::Matched | Phase::Countdown) {
            self.status.phase =
                if self.status.countdown.is_some() { Phase::Countdown } else { Phase::Matched };
        }
    }

    /// The game did not start: forget it and wait for a new partner (the relay re-queued us).
    fn repool(&mut self, message: String) -> Vec<Command> {
        if !matches!(self.status.phase, Phase::Matched | Phase::Countdown) {
            return Vec::new();
        }
        self.reset_game(Phase::Waiting, Some(message))
    }

    /// A new scene: whatever game there was is over; a static scene is shown, a gym scene
    /// waits for its pairing.
    fn enter_scene(&mut self, index: u32, view: SceneView, last: bool) -> Vec<Command> {
        if matches!(self.status.phase, Phase::Error | Phase::Excluded | Phase::PartnerDisconnected)
        {
            return Vec::new();
        }
        let (status, phase) = match view {
            SceneView::Static { id, title, html, button, completion_code } => (
                SceneStatus {
                    index,
                    id: id.to_string(),
                    kind: "static",
                    title,
                    html,
                    button,
                    completion_code,
                    last,
                },
                Phase::Scene,
            ),
            SceneView::Gym { id } => (
                SceneStatus {
                    index,
                    id: id.to_string(),
                    kind: "gym",
                    title: String::new(),
                    html: String::new(),
                    button: None,
                    completion_code: None,
                    last,
                },
                Phase::Waiting,
            ),
        };
        let commands = self.reset_game(phase, None);
        self.status.scene = Some(status);
        self.advanced = false;
        commands
    }

    /// Once every episode is over and confirmed here, tell the partner (so it may close the
    /// connection) and, when the partner is finished too or has had time to be, move on to the
    /// next scene.
    fn finish_game(&mut self, now_ms: f64) -> Vec<Command> {
        /// How long to keep the connection for a partner that has not confirmed the end yet.
        const GRACE_MS: f64 = 5_000.0;
        if self.status.phase != Phase::Done {
            return Vec::new();
        }
        let finished_at = *self.finished_at.get_or_insert(now_ms);
        let mut commands = Vec::new();
        if self.channel_open {
            commands.push(Command::SendPeer(finished_packet()));
        }
        let scene = self.status.scene.as_ref().filter(|s| !s.last).map(|s| s.index);
        let partner_done = self.partner_finished || now_ms - finished_at >= GRACE_MS;
        if let (Some(from), true, false) = (scene, partner_done, self.advanced) {
            self.advanced = true;
            commands.push(Command::SendRelay(ClientMsg::Advance { from }));
        }
        commands
    }

    /// Forgets the game (if any) and shows `phase`.
    fn reset_game(&mut self, phase: Phase, notice: Option<String>) -> Vec<Command> {
        let had_peer = self.partner.is_some();
        self.play = None;
        self.announced = None;
        self.partner = None;
        self.players.clear();
        self.channel_open = false;
        self.countdown_ends_at = None;
        self.started = false;
        self.validated_sent = false;
        self.partner_left_relay = false;
        self.partner_silent = false;
        self.last_frame_at = None;
        self.finished_at = None;
        self.partner_finished = false;
        self.was_frozen = false;
        self.probe = None;
        self.rtt = RttTracker::default();
        let keep = Status {
            phase,
            participant_id: self.status.participant_id.take(),
            exports: std::mem::take(&mut self.status.exports),
            scene: self.status.scene.take(),
            probes: self.status.probes,
            probe_rtt_ms: self.status.probe_rtt_ms,
            notice,
            ..Status::default()
        };
        self.status = keep;
        if had_peer { vec![Command::ClosePeer] } else { Vec::new() }
    }

    fn relay_closed(&mut self) -> Vec<Command> {
        if self.needs_relay() {
            // The game runs peer to peer and can finish without the relay; data waits in
            // browser storage; everything else waits for the relay to place us again.
            if !self.started && self.status.phase != Phase::Scene {
                self.status.notice = Some(RECONNECTING.into());
            }
            return vec![Command::Reconnect];
        }
        self.fail("Lost the connection to the server.".into());
        if self.partner.is_some() { vec![Command::ClosePeer] } else { Vec::new() }
    }

    fn upload_settled(&mut self, upload_id: SafeId, refusal: Option<String>) -> Vec<Command> {
        let Some(me) = self.my_id() else {
            return Vec::new();
        };
        let Some(upload) = self.unacked.remove(&(me, upload_id.clone())) else { return Vec::new() };
        if let Some(message) = refusal {
            self.status.last_error =
                Some(format!("the server refused data upload {upload_id}: {message}"));
        } else if let Some(export) =
            self.status.exports.iter_mut().find(|e| e.upload_id == upload_id.as_str())
        {
            export.acked = true;
        }
        vec![Command::Forget { participant: upload.participant_id, upload_id }]
    }

    fn channel_opened(&mut self, now_ms: f64) -> Vec<Command> {
        if self.status.phase.is_terminal() {
            return Vec::new();
        }
        self.channel_open = true;
        if let Err(message) = self.start_game() {
            self.fail(message);
            return vec![Command::ClosePeer];
        }
        vec![Command::SendPeer(self.rtt.ping(now_ms).encode())]
    }

    fn start_game(&mut self) -> Result<(), String> {
        let (Some((config, seed)), Some(player)) =
            (self.announced.take(), self.status.player_index)
        else {
            return Err("The game settings are missing.".into());
        };
        let layout = Layout::classic(&config.layout).map_err(|e| e.to_string())?;
        let env = Overcooked::new(layout, Rules { cook_time: config.cook_time });
        let plan = EpisodePlan {
            num_episodes: config.num_episodes,
            max_steps: config.max_steps,
            pause_frames: config.frames(config.between_episodes_ms),
            seed,
            seed_per_episode: config.seed_per_episode,
        };
        let settings = NetSettings {
            fps: config.fps,
            input_delay: config.input_delay,
            max_prediction: config.max_prediction,
            desync_interval: config.desync_interval,
            disconnect_timeout_ms: config.focus_loss_timeout_ms,
        };
        let netcode = Netcode::new(env, plan, settings, usize::from(player))
            .map_err(|e| format!("The game could not start: {e}"))?;
        self.play = Some(Play { netcode, config });
        Ok(())
    }

    fn frame(&mut self, input: NetInput, now_ms: f64, epoch_ms: f64) -> Vec<Command> {
        let phase = self.status.phase;
        let Some(play) = &mut self.play else { return Vec::new() };
        if matches!(phase, Phase::PartnerDisconnected | Phase::Error) {
            return Vec::new();
        }
        if let Some(last) = self.last_frame_at.replace(now_ms) {
            self.was_frozen |= now_ms - last > f64::from(play.config.focus_loss_timeout_ms);
        }
        self.status.focused = input.focused;
        if input.action != NO_ACTION {
            self.status.local_actions += 1;
        }
        if !self.started {
            // Before the start: only the handshake, which validates the connection.
            let events = play.netcode.poll();
            let mut commands = outgoing(&mut play.netcode);
            if play.netcode.is_running() && !self.validated_sent {
                self.validated_sent = true;
                if let Some(game_id) = self.current_game_id() {
                    commands.push(Command::SendRelay(ClientMsg::Validated { game_id }));
                }
            }
            self.update_countdown(now_ms);
            if events.contains(&PeerEvent::Disconnected) {
                commands.extend(self.partner_gone(Outcome::PartnerDisconnected));
            }
            return commands;
        }
        let events = play.netcode.tick(input, epoch_ms);
        let mut commands = outgoing(&mut play.netcode);
        for (end, rows) in play.netcode.take_finished_episodes() {
            commands.extend(self.export(end.episode, rows, Outcome::Complete, false));
        }
        self.refresh_game_status();
        for event in &events {
            match event {
                PeerEvent::Interrupted => self.partner_silent = true,
                PeerEvent::Resumed => self.partner_silent = false,
                PeerEvent::Synchronized | PeerEvent::Disconnected => {}
            }
        }
        if events.contains(&PeerEvent::Disconnected) {
            commands.extend(self.partner_gone(Outcome::PartnerAway));
        } else if self.partner_left_relay && self.partner_silent {
            commands.extend(self.partner_gone(Outcome::PartnerDisconnected));
        }
        commands
    }

    fn refresh_game_status(&mut self) {
        let Some(play) = &self.play else { return };
        let netcode = &play.netcode;
        let game = netcode.game();
        let status = &mut self.status;
        status.frame = game.frame;
        status.confirmed_frame = netcode.confirmed_frame();
        status.episode = game.episode;
        status.rollbacks = netcode.stats().rollbacks;
        status.desyncs = netcode.desyncs().len() as u32;
        // A third of a second without progress is visible to a person.
        status.waiting_for_partner =
            netcode.is_running() && netcode.stats().stall_streak >= (play.config.fps / 3).max(1);
        let confirmed = netcode.confirmed_episodes();
        if status.episodes.len() != confirmed.len() {
            status.episodes = confirmed
                .iter()
                .map(|end| EpisodeSummary {
                    episode: end.episode,
                    last_frame: end.frame,
                    steps: end.steps,
                    state_hash: format!("{:016x}", end.state_hash),
                })
                .collect();
        }
        if status.phase.is_terminal() {
            return;
        }
        status.phase = if !self.started {
            if status.countdown.is_some() { Phase::Countdown } else { Phase::Matched }
        } else if netcode.is_finished() {
            status.outcome = Some(Outcome::Complete);
            Phase::Done
        } else {
            match game.stage {
                Stage::Between { .. } => Phase::BetweenEpisodes,
                // Stage::Done until the last frame is confirmed: still the game's last moments.
                Stage::Playing | Stage::Done => Phase::Playing,
            }
        };
    }

    fn peer_packet(&mut self, bytes: &[u8], now_ms: f64) -> Vec<Command> {
        match Packet::decode(bytes) {
            Ok(Packet::Finished) => {
                self.partner_finished = true;
                Vec::new()
            }
            Ok(Packet::Netcode(payload)) => {
                if let Some(play) = &mut self.play {
                    play.netcode.receive(payload.to_vec());
                }
                Vec::new()
            }
            Ok(Packet::Control(PeerMsg::Ping { seq, sent_at_ms })) => {
                vec![Command::SendPeer(PeerMsg::Pong { seq, sent_at_ms }.encode())]
            }
            Ok(Packet::Control(PeerMsg::Pong { seq, sent_at_ms })) => {
                if self.rtt.pong(seq, sent_at_ms, now_ms).is_some() {
                    self.status.p2p_rtt_ms = self.rtt.median_ms();
                }
                Vec::new()
            }
            Err(_) => {
                self.dropped_packets += 1;
                Vec::new()
            }
        }
    }

    fn partner_gone(&mut self, outcome: Outcome) -> Vec<Command> {
        if !(self.status.phase == Phase::Matched || self.status.phase.in_game()) {
            return Vec::new();
        }
        if !self.started {
            // Before the start nothing is lost: the relay sends us back to the waiting room
            // (the partner left, or the connection was never validated) or places us anew (it
            // restarted). Until then the game is gone but the match stands.
            self.status.notice = Some("The connection to your partner was lost.".into());
            self.play = None;
            self.announced = None;
            self.channel_open = false;
            return vec![Command::ClosePeer];
        }
        let outcome = if self.was_frozen { Outcome::PartnerAway } else { outcome };
        self.status.phase = Phase::PartnerDisconnected;
        self.status.outcome = Some(outcome);
        self.status.waiting_for_partner = false;
        self.channel_open = false;
        let mut commands = vec![Command::ClosePeer];
        let partial = self.play.as_mut().and_then(|p| p.netcode.take_partial_episode());
        if let Some((episode, rows)) = partial {
            commands.extend(self.export(episode, rows, outcome, true));
        }
        commands
    }

    /// Turns an episode's rows into an upload: kept until acknowledged, sent now.
    fn export(
        &mut self,
        episode: u32,
        rows: Vec<FrameRow>,
        outcome: Outcome,
        partial: bool,
    ) -> Vec<Command> {
        let (Some(play), Some(game_id), Some(me)) =
            (&self.play, self.current_game_id(), self.my_id())
        else {
            self.status.last_error = Some(format!(
                "episode {episode}: no game or participant id to store its data under"
            ));
            return Vec::new();
        };
        let Ok(upload_id) = SafeId::parse(&format!("{game_id}-ep{episode}")) else {
            self.status.last_error =
                Some(format!("episode {episode}: game id {game_id} is too long"));
            return Vec::new();
        };
        let sidecar = self.sidecar(play, episode, &rows, outcome, partial);
        let upload = Upload {
            upload_id: upload_id.clone(),
            participant_id: me,
            game_id,
            scene_id: play.config.scene_id.clone(),
            episode,
            csv: export::csv(&rows),
            sidecar,
        };
        self.status.exports.push(ExportStatus {
            episode,
            upload_id: upload_id.to_string(),
            rows: rows.len(),
            partial,
            acked: false,
        });
        self.unacked.insert((upload.participant_id.clone(), upload_id), upload.clone());
        vec![
            Command::Persist(Box::new(upload.clone())),
            Command::SendRelay(ClientMsg::Upload(Box::new(upload))),
        ]
    }

    /// The episode's JSON sidecar (documented in docs/DATA.md).
    fn sidecar(
        &self,
        play: &Play,
        episode: u32,
        rows: &[FrameRow],
        outcome: Outcome,
        partial: bool,
    ) -> serde_json::Value {
        let netcode = &play.netcode;
        let stats = netcode.stats();
        let wire = netcode.wire();
        let (first, last) =
            (rows.first().map_or(0, |r| r.frame), rows.last().map_or(0, |r| r.frame));
        let rollback_events: Vec<_> = stats
            .rollback_events
            .iter()
            .filter(|e| (first..=last).contains(&e.frame))
            .map(|e| json!({ "frame": e.frame, "depth": e.depth }))
            .collect();
        let desyncs: Vec<_> = netcode
            .desyncs()
            .iter()
            .filter(|d| (first..=last).contains(&d.frame))
            .map(|d| {
                let state: String = d.local_state.iter().map(|b| format!("{b:02x}")).collect();
                json!({
                    "frame": d.frame,
                    "local_checksum": format!("{:016x}", d.local_checksum),
                    "remote_checksum": format!("{:016x}", d.remote_checksum),
                    "local_state_hex": state,
                })
            })
            .collect();
        let rtt = self.rtt.summary();
        let config = &play.config;
        json!({
            "format": "rollgym-episode/1",
            "seed": netcode.game().plan().episode_seed(episode),
            "game_seed": netcode.game().plan().seed,
            "player_index": self.status.player_index,
            "participants": self.players,
            "outcome": outcome,
            "partial": partial,
            "rows": rows.len(),
            "unconfirmed_rows": rows.iter().filter(|r| !r.confirmed).count(),
            "first_frame": first,
            "last_frame": last,
            "connection_type": self.status.connection_type,
            "p2p_rtt_ms": rtt.map(|r| json!({ "min": r.min, "median": r.median, "max": r.max, "samples": r.samples })),
            "netcode_bytes": { "sent": wire.bytes_sent, "received": wire.bytes_received },
            "netcode_packets": { "sent": wire.packets_sent, "received": wire.packets_received, "dropped_undecodable": wire.dropped },
            "rollbacks": {
                "in_episode": rollback_events.len(),
                "events": rollback_events,
                "session_total": stats.rollbacks,
                "session_resimulated_frames": stats.resimulated_frames,
                "session_max_depth": stats.max_rollback_depth,
            },
            "desyncs": desyncs,
            "settings": {
                "env": config.env,
                "layout": config.layout,
                "fps": config.fps,
                "max_steps": config.max_steps,
                "num_episodes": config.num_episodes,
                "input_delay": config.input_delay,
                "max_prediction": config.max_prediction,
                "input_mode": config.input_mode,
            },
        })
    }

    fn fail(&mut self, message: String) {
        if self.status.phase.is_terminal() {
            return;
        }
        self.status.phase = Phase::Error;
        self.status.last_error = Some(message);
        self.channel_open = false;
    }
}

/// Shown while the relay connection is being re-established outside a game.
const RECONNECTING: &str = "Reconnecting to the server…";

/// The netcode's packets, framed for the DataChannel.
fn outgoing(netcode: &mut Netcode<Overcooked>) -> Vec<Command> {
    netcode.take_outgoing().iter().map(|p| Command::SendPeer(netcode_packet(p))).collect()
}

#[cfg(test)]
mod tests;
