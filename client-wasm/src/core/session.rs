//! The participant's session: relay messages, pairing, the peer connection's lifecycle, the
//! ping exchange and the game, as a sans-IO state machine.
//!
//! [`Session::handle`] takes one [`Input`] and the current time and returns the [`Command`]s the
//! browser adapter must carry out. It never touches the browser, so every path (a partner
//! leaving, a fatal relay error, garbage on the DataChannel) is tested natively.

use rollgym_protocol::{
    ClientMsg, GameConfig, IceServer, PROTOCOL_VERSION, ParticipantId, ServerMsg, SignalPayload,
};

use crate::{
    core::{
        game::{EpisodePlan, Game, Stage},
        netcode::{NO_ACTION, NetInput, NetSettings, Netcode, PeerEvent},
        peer_msg::{Packet, PeerMsg, netcode_packet},
        rtt::RttTracker,
        status::{EpisodeSummary, Outcome, Phase, Status},
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
    /// The game clock ticked; the local player's input for the next frame.
    Frame(NetInput),
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
    /// This page went without a clock tick for longer than the focus-loss timeout (it was
    /// frozen); the partner has given up on us, so an ending connection means `PartnerAway`.
    was_frozen: bool,
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

    pub fn handle(&mut self, input: Input, now_ms: f64) -> Vec<Command> {
        match input {
            Input::RelayOpen => vec![Command::SendRelay(ClientMsg::Hello {
                protocol_version: PROTOCOL_VERSION,
                participant_id: self.requested_id.clone(),
            })],
            Input::Relay(msg) => self.relay_message(msg),
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
            Input::Tick if self.channel_open => {
                vec![Command::SendPeer(self.rtt.ping(now_ms).encode())]
            }
            Input::Tick => Vec::new(),
            Input::Frame(input) => self.frame(input, now_ms),
        }
    }

    fn relay_message(&mut self, msg: ServerMsg) -> Vec<Command> {
        if self.status.phase.is_terminal() {
            return Vec::new();
        }
        match msg {
            ServerMsg::Welcome { participant_id, .. } => {
                self.status.participant_id = Some(participant_id.to_string());
                Vec::new()
            }
            ServerMsg::Waiting { waiting, needed } => {
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
            } => {
                // Two-player games: the partner is the one other peer.
                let Some(partner) = peers.first() else {
                    self.fail("The server paired us with nobody.".into());
                    return Vec::new();
                };
                let initiator = player_index < partner.player_index;
                self.partner = Some(partner.participant_id.clone());
                self.announced = Some((*game, seed));
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
                if self.partner.as_ref() == Some(&participant_id) {
                    self.partner_gone(Outcome::PartnerDisconnected)
                } else {
                    Vec::new()
                }
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

    fn relay_closed(&mut self) -> Vec<Command> {
        if self.play.is_some() {
            // The game runs peer to peer; it can finish without the relay.
            self.status.last_error = Some("Lost the connection to the server.".into());
            return Vec::new();
        }
        self.fail("Lost the connection to the server.".into());
        if self.partner.is_some() { vec![Command::ClosePeer] } else { Vec::new() }
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
            countdown_frames: config.frames(config.countdown_ms),
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

    fn frame(&mut self, input: NetInput, now_ms: f64) -> Vec<Command> {
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
        let events = play.netcode.tick(input);
        let mut commands: Vec<Command> = play
            .netcode
            .take_outgoing()
            .iter()
            .map(|p| Command::SendPeer(netcode_packet(p)))
            .collect();
        self.refresh_game_status();
        if events.contains(&PeerEvent::Disconnected) {
            commands.extend(self.partner_gone(Outcome::PartnerAway));
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
        status.phase = if !netcode.is_running() {
            Phase::Matched
        } else if netcode.is_finished() {
            status.outcome = Some(Outcome::Complete);
            Phase::Done
        } else {
            match game.stage {
                Stage::Countdown { .. } => Phase::Countdown,
                Stage::Between { .. } => Phase::BetweenEpisodes,
                // Stage::Done until the last frame is confirmed: still the game's last moments.
                Stage::Playing | Stage::Done => Phase::Playing,
            }
        };
    }

    fn peer_packet(&mut self, bytes: &[u8], now_ms: f64) -> Vec<Command> {
        match Packet::decode(bytes) {
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
        let outcome = if self.was_frozen { Outcome::PartnerAway } else { outcome };
        self.status.phase = Phase::PartnerDisconnected;
        self.status.outcome = Some(outcome);
        self.status.waiting_for_partner = false;
        self.channel_open = false;
        vec![Command::ClosePeer]
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

#[cfg(test)]
mod tests;
