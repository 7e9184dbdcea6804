//! The participant's session: relay messages, pairing, the peer connection's lifecycle and the
//! ping exchange, as a sans-IO state machine.
//!
//! [`Session::handle`] takes one [`Input`] and the current time and returns the [`Command`]s the
//! browser adapter must carry out. It never touches the browser, so every path (a partner
//! leaving, a fatal relay error, garbage on the DataChannel) is tested natively.

use rollgym_protocol::{
    ClientMsg, IceServer, PROTOCOL_VERSION, ParticipantId, ServerMsg, SignalPayload,
};

use crate::core::{
    peer_msg::PeerMsg,
    rtt::RttTracker,
    status::{Phase, Status},
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

/// One participant's client.
#[derive(Debug)]
pub struct Session {
    requested_id: Option<ParticipantId>,
    status: Status,
    partner: Option<ParticipantId>,
    channel_open: bool,
    rtt: RttTracker,
    /// Undecodable DataChannel packets, dropped.
    dropped_packets: u64,
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
        }
    }

    pub fn status(&self) -> &Status {
        &self.status
    }

    pub fn dropped_packets(&self) -> u64 {
        self.dropped_packets
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
            Input::RelayClosed => {
                self.fail("Lost the connection to the server.".into());
                if self.partner.is_some() { vec![Command::ClosePeer] } else { Vec::new() }
            }
            Input::LocalSignal(payload) => match &self.partner {
                Some(to) if !self.status.phase.is_terminal() => {
                    vec![Command::SendRelay(ClientMsg::Signal { to: to.clone(), payload })]
                }
                _ => Vec::new(),
            },
            Input::ChannelOpen => {
                self.channel_open = true;
                vec![Command::SendPeer(self.rtt.ping(now_ms).encode())]
            }
            Input::ChannelData(bytes) => self.peer_packet(&bytes, now_ms),
            Input::ChannelClosed => self.partner_gone(),
            Input::PeerFailed(reason) => {
                self.status.last_error = Some(reason);
                Vec::new()
            }
            Input::Tick if self.channel_open => {
                vec![Command::SendPeer(self.rtt.ping(now_ms).encode())]
            }
            Input::Tick => Vec::new(),
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
            ServerMsg::Paired { game_id, player_index, peers, ice_servers, force_relay } => {
                // Two-player games: the partner is the one other peer.
                let Some(partner) = peers.first() else {
                    self.fail("The server paired us with nobody.".into());
                    return Vec::new();
                };
                let initiator = player_index < partner.player_index;
                self.partner = Some(partner.participant_id.clone());
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
                    self.partner_gone()
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

    fn peer_packet(&mut self, bytes: &[u8], now_ms: f64) -> Vec<Command> {
        match PeerMsg::decode(bytes) {
            Ok(PeerMsg::Ping { seq, sent_at_ms }) => {
                vec![Command::SendPeer(PeerMsg::Pong { seq, sent_at_ms }.encode())]
            }
            Ok(PeerMsg::Pong { seq, sent_at_ms }) => {
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

    fn partner_gone(&mut self) -> Vec<Command> {
        if self.status.phase != Phase::Matched {
            return Vec::new();
        }
        self.status.phase = Phase::PartnerDisconnected;
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
mod tests {
    use rollgym_protocol::{ErrorCode, PeerInfo};

    use super::*;

    fn pid(s: &str) -> ParticipantId {
        ParticipantId::parse(s).expect("valid")
    }

    fn paired(session: &mut Session, me: u8, partner: u8) -> Vec<Command> {
        session.handle(
            Input::Relay(ServerMsg::Paired {
                game_id: "g".into(),
                player_index: me,
                peers: vec![PeerInfo { participant_id: pid("partner"), player_index: partner }],
                ice_servers: Vec::new(),
                force_relay: false,
            }),
            0.0,
        )
    }

    #[test]
    fn says_hello_with_the_url_id() {
        let mut s = Session::new(Some(pid("p1")));
        assert_eq!(
            s.handle(Input::RelayOpen, 0.0),
            vec![Command::SendRelay(ClientMsg::Hello {
                protocol_version: PROTOCOL_VERSION,
                participant_id: Some(pid("p1"))
            })]
        );
    }

    #[test]
    fn lower_player_index_offers() {
        let mut s = Session::new(None);
        assert!(matches!(paired(&mut s, 0, 1)[..], [Command::OpenPeer { initiator: true, .. }]));
        let mut s = Session::new(None);
        assert!(matches!(paired(&mut s, 1, 0)[..], [Command::OpenPeer { initiator: false, .. }]));
        assert_eq!(s.status().phase, Phase::Matched);
        assert_eq!(s.status().player_index, Some(1));
    }

    #[test]
    fn signals_go_to_the_partner_and_only_the_partners_are_applied() {
        let mut s = Session::new(None);
        paired(&mut s, 0, 1);
        let offer = SignalPayload::Offer { sdp: "o".into() };
        assert_eq!(
            s.handle(Input::LocalSignal(offer.clone()), 0.0),
            vec![Command::SendRelay(ClientMsg::Signal {
                to: pid("partner"),
                payload: offer.clone()
            })]
        );
        let from_stranger = ServerMsg::Signal { from: pid("stranger"), payload: offer.clone() };
        assert!(s.handle(Input::Relay(from_stranger), 0.0).is_empty());
        let from_partner = ServerMsg::Signal { from: pid("partner"), payload: offer.clone() };
        assert_eq!(s.handle(Input::Relay(from_partner), 0.0), vec![Command::ApplySignal(offer)]);
    }

    #[test]
    fn ping_pong_sets_the_round_trip() {
        let mut a = Session::new(None);
        let mut b = Session::new(None);
        paired(&mut a, 0, 1);
        paired(&mut b, 1, 0);
        let [Command::SendPeer(ping)] = &a.handle(Input::ChannelOpen, 100.0)[..] else { panic!() };
        let [Command::SendPeer(pong)] = &b.handle(Input::ChannelData(ping.clone()), 0.0)[..] else {
            panic!()
        };
        assert!(a.handle(Input::ChannelData(pong.clone()), 112.0).is_empty());
        assert_eq!(a.status().p2p_rtt_ms, Some(12.0));
    }

    #[test]
    fn garbage_on_the_channel_is_counted_and_dropped() {
        let mut s = Session::new(None);
        paired(&mut s, 0, 1);
        assert!(s.handle(Input::ChannelData(vec![0xff, 0, 1]), 0.0).is_empty());
        assert!(s.handle(Input::ChannelData(Vec::new()), 0.0).is_empty());
        assert_eq!(s.dropped_packets(), 2);
        assert_eq!(s.status().phase, Phase::Matched);
    }

    #[test]
    fn partner_leaving_ends_the_game_once() {
        let mut s = Session::new(None);
        paired(&mut s, 0, 1);
        let left = ServerMsg::PartnerLeft { participant_id: pid("partner") };
        assert_eq!(s.handle(Input::Relay(left), 0.0), vec![Command::ClosePeer]);
        assert_eq!(s.status().phase, Phase::PartnerDisconnected);
        assert!(s.handle(Input::ChannelClosed, 0.0).is_empty(), "already handled");
        assert!(s.handle(Input::Tick, 0.0).is_empty(), "no pings after the end");
    }

    #[test]
    fn fatal_relay_errors_show_their_message() {
        let mut s = Session::new(Some(pid("dup")));
        let error = ServerMsg::Error {
            code: ErrorCode::DuplicateParticipant,
            message: "already connected in another tab".into(),
            fatal: true,
        };
        s.handle(Input::Relay(error), 0.0);
        assert_eq!(s.status().phase, Phase::Error);
        assert_eq!(s.status().last_error.as_deref(), Some("already connected in another tab"));
        // The close that follows keeps the more useful message.
        s.handle(Input::RelayClosed, 0.0);
        assert_eq!(s.status().last_error.as_deref(), Some("already connected in another tab"));
    }

    #[test]
    fn waiting_room_count_is_shown() {
        let mut s = Session::new(None);
        s.handle(Input::Relay(ServerMsg::Waiting { waiting: 1, needed: 2 }), 0.0);
        assert_eq!(s.status().phase, Phase::Waiting);
        assert_eq!(s.status().waiting, Some((1, 2)));
    }
}
