//! The lobby core: who is connected, who waits, who is paired with whom.
//!
//! A sans-IO state machine: [`Lobby`] takes events (a connection opened, a message arrived,
//! a connection closed) and returns the [`Action`]s to carry out. It never awaits, never reads
//! a clock and never touches a socket, so it is tested directly, and the async driver in
//! `hub.rs` stays a thin loop.
//!
//! Pairing is arrival order, two by two. Matchmakers, scenes and the game lifecycle come later
//! and will live here too.

use std::collections::{HashMap, VecDeque};

use rollgym_protocol::{
    ClientMsg, ExperimentConfig, IdError, PROTOCOL_VERSION, ParticipantId, PeerInfo, SafeId,
    ServerMsg, SignalPayload, Upload,
};

use crate::error::{RequestError, UploadError};

/// Identifies one WebSocket connection for the lifetime of the relay process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// What the driver must do after an event.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Send(ConnId, ServerMsg),
    /// Refuse the message that caused this event; the driver turns it into an error reply.
    Refuse(ConnId, RequestError),
    /// Close the connection (after any message queued before this action).
    Close(ConnId),
    /// Write an upload to disk, then acknowledge it to the connection.
    Store(ConnId, Box<Upload>),
    /// Answer an upload that can never be stored.
    RefuseUpload(ConnId, SafeId, UploadError),
}

const GROUP_SIZE: usize = 2;

#[derive(Debug)]
enum Phase {
    /// Connected, no `hello` yet.
    Greeting,
    Waiting,
    Paired {
        game_id: String,
        partner: ConnId,
    },
    /// The partner left; nothing more happens until this participant leaves too.
    PartnerGone,
    /// Came back to finish a game or deliver data (`hello` with `rejoin`); never matched.
    Returning,
}

#[derive(Debug)]
struct Conn {
    participant: Option<ParticipantId>,
    phase: Phase,
}

/// All participants of one relay.
#[derive(Debug)]
pub struct Lobby {
    experiment: ExperimentConfig,
    conns: HashMap<ConnId, Conn>,
    /// Live owner of each participant id: a second tab with the same id is refused.
    owners: HashMap<ParticipantId, ConnId>,
    waiting: VecDeque<ConnId>,
    ids: IdSource,
}

impl Lobby {
    /// `id_seed` feeds the generator of participant and game ids; the driver passes real
    /// entropy, tests a constant.
    pub fn new(experiment: ExperimentConfig, id_seed: u64) -> Self {
        Self {
            experiment,
            conns: HashMap::new(),
            owners: HashMap::new(),
            waiting: VecDeque::new(),
            ids: IdSource(id_seed),
        }
    }

    pub fn connected(&mut self, conn: ConnId) {
        self.conns.insert(conn, Conn { participant: None, phase: Phase::Greeting });
    }

    pub fn message(&mut self, conn: ConnId, msg: ClientMsg) -> Vec<Action> {
        let Some(state) = self.conns.get(&conn) else {
            // The connection already closed; its last messages raced the close.
            return Vec::new();
        };
        match (msg, &state.phase) {
            (ClientMsg::Hello { protocol_version, participant_id, rejoin }, Phase::Greeting) => {
                self.hello(conn, protocol_version, participant_id, rejoin)
            }
            (ClientMsg::Hello { .. }, _) => {
                vec![Action::Refuse(conn, RequestError::AlreadyGreeted)]
            }
            (_, Phase::Greeting) => vec![Action::Refuse(conn, RequestError::HelloRequired)],
            (ClientMsg::Signal { to, payload }, _) => self.signal(conn, to, payload),
            (ClientMsg::Upload(upload), _) => self.upload(conn, *upload),
        }
    }

    /// Checks that an upload is this participant's own and for this experiment's scene; the
    /// storage layer validates its content.
    fn upload(&self, conn: ConnId, upload: Upload) -> Vec<Action> {
        let owner = self.conns.get(&conn).and_then(|c| c.participant.as_ref());
        if owner != Some(&upload.participant_id) {
            let err = UploadError::NotYourFile(upload.participant_id.clone());
            return vec![Action::RefuseUpload(conn, upload.upload_id, err)];
        }
        if upload.scene_id != self.experiment.game.scene_id {
            let err = UploadError::Invalid(format!("unknown scene {}", upload.scene_id));
            return vec![Action::RefuseUpload(conn, upload.upload_id, err)];
        }
        vec![Action::Store(conn, Box::new(upload))]
    }

    /// The connection is gone. Cleans up everything it was part of, exactly once.
    pub fn disconnected(&mut self, conn: ConnId) -> Vec<Action> {
        let Some(state) = self.conns.remove(&conn) else {
            return Vec::new();
        };
        if let Some(id) = &state.participant
            && self.owners.get(id) == Some(&conn)
        {
            self.owners.remove(id);
        }
        let mut actions = Vec::new();
        match state.phase {
            Phase::Waiting => self.waiting.retain(|c| *c != conn),
            Phase::Paired { partner, .. } => {
                if let (Some(partner_state), Some(id)) =
                    (self.conns.get_mut(&partner), state.participant)
                {
                    partner_state.phase = Phase::PartnerGone;
                    actions
                        .push(Action::Send(partner, ServerMsg::PartnerLeft { participant_id: id }));
                }
            }
            Phase::Greeting | Phase::PartnerGone | Phase::Returning => {}
        }
        actions
    }

    /// How many participants wait for a partner right now.
    pub fn waiting_count(&self) -> usize {
        self.waiting.len()
    }

    fn hello(
        &mut self,
        conn: ConnId,
        version: u32,
        requested: Option<ParticipantId>,
        rejoin: bool,
    ) -> Vec<Action> {
        if version != PROTOCOL_VERSION {
            let err = RequestError::ProtocolVersion { client: version, relay: PROTOCOL_VERSION };
            return vec![Action::Refuse(conn, err), Action::Close(conn)];
        }
        let participant = match requested {
            Some(id) => id,
            None => self.ids.participant_id(),
        };
        if self.owners.contains_key(&participant) {
            let err = RequestError::DuplicateParticipant(participant);
            return vec![Action::Refuse(conn, err), Action::Close(conn)];
        }
        self.owners.insert(participant.clone(), conn);
        if let Some(state) = self.conns.get_mut(&conn) {
            state.participant = Some(participant.clone());
            state.phase = if rejoin { Phase::Returning } else { Phase::Waiting };
        }
        let mut actions = vec![Action::Send(
            conn,
            ServerMsg::Welcome {
                protocol_version: PROTOCOL_VERSION,
                participant_id: participant,
                experiment: self.experiment.experiment.id.clone(),
            },
        )];
        if rejoin {
            return actions;
        }
        self.waiting.push_back(conn);
        if self.waiting.len() >= GROUP_SIZE {
            actions.extend(self.pair_front());
        } else {
            actions.push(Action::Send(
                conn,
                ServerMsg::Waiting {
                    waiting: self.waiting.len() as u32,
                    needed: GROUP_SIZE as u32,
                },
            ));
        }
        actions
    }

    /// Pairs the two longest-waiting participants; the earlier arrival is player 0.
    fn pair_front(&mut self) -> Vec<Action> {
        let members: Vec<ConnId> = self.waiting.drain(..GROUP_SIZE).collect();
        let game_id = self.ids.game_id();
        let seed = self.experiment.game.seed.unwrap_or_else(|| self.ids.next());
        let peers: Vec<PeerInfo> = members
            .iter()
            .enumerate()
            .filter_map(|(index, c)| {
                let participant_id = self.conns.get(c)?.participant.clone()?;
                Some(PeerInfo { participant_id, player_index: index as u8 })
            })
            .collect();
        let mut actions = Vec::new();
        for (index, &conn) in members.iter().enumerate() {
            let partner = members[1 - index];
            if let Some(state) = self.conns.get_mut(&conn) {
                state.phase = Phase::Paired { game_id: game_id.clone(), partner };
            }
            actions.push(Action::Send(
                conn,
                ServerMsg::Paired {
                    game_id: game_id.clone(),
                    player_index: index as u8,
                    peers: peers
                        .iter()
                        .filter(|p| p.player_index as usize != index)
                        .cloned()
                        .collect(),
                    ice_servers: self.experiment.webrtc.ice_servers.clone(),
                    force_relay: self.experiment.webrtc.force_relay,
                    game: Box::new(self.experiment.game.clone()),
                    seed,
                },
            ));
        }
        tracing::info!(game = %game_id, players = ?peers.iter().map(|p| p.participant_id.as_str()).collect::<Vec<_>>(), "paired");
        actions
    }

    fn signal(&mut self, conn: ConnId, to: ParticipantId, payload: SignalPayload) -> Vec<Action> {
        let Some(Conn { participant: Some(from), phase: Phase::Paired { partner, .. } }) =
            self.conns.get(&conn)
        else {
            return vec![Action::Refuse(conn, RequestError::NotYourPartner(to))];
        };
        let partner_id = self.conns.get(partner).and_then(|p| p.participant.as_ref());
        if partner_id != Some(&to) {
            return vec![Action::Refuse(conn, RequestError::NotYourPartner(to))];
        }
        vec![Action::Send(*partner, ServerMsg::Signal { from: from.clone(), payload })]
    }

    /// The game id of a paired connection (for logs and tests).
    pub fn game_of(&self, conn: ConnId) -> Option<&str> {
        match &self.conns.get(&conn)?.phase {
            Phase::Paired { game_id, .. } => Some(game_id),
            _ => None,
        }
    }
}

/// Generates ids that are unique in practice across relay restarts (random 64-bit seed)
/// without making the lobby depend on an entropy source.
#[derive(Debug)]
struct IdSource(u64);

impl IdSource {
    /// splitmix64: a tiny, well-distributed generator; these ids need uniqueness, not secrecy.
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn participant_id(&mut self) -> ParticipantId {
        let raw = format!("p-{:016x}", self.next());
        // The format above only produces [a-z0-9-], 18 characters.
        ParticipantId::parse(&raw).unwrap_or_else(|_: IdError| unreachable!("generated id {raw}"))
    }

    fn game_id(&mut self) -> String {
        format!("g-{:016x}", self.next())
    }
}

#[cfg(test)]
mod tests {
    use rollgym_protocol::ErrorCode;

    use super::*;

    fn lobby() -> Lobby {
        Lobby::new(crate::config::load(None).expect("bundled config"), 1)
    }

    fn hello(id: &str) -> ClientMsg {
        ClientMsg::Hello {
            protocol_version: PROTOCOL_VERSION,
            participant_id: Some(ParticipantId::parse(id).expect("valid")),
            rejoin: false,
        }
    }

    fn join(lobby: &mut Lobby, conn: u64, id: &str) -> Vec<Action> {
        lobby.connected(ConnId(conn));
        lobby.message(ConnId(conn), hello(id))
    }

    fn codes(actions: &[Action]) -> Vec<ErrorCode> {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Refuse(_, e) => Some(e.code()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn first_arrival_waits_second_pairs_both() {
        let mut lobby = lobby();
        let first = join(&mut lobby, 1, "a");
        assert!(
            first.contains(&Action::Send(ConnId(1), ServerMsg::Waiting { waiting: 1, needed: 2 }))
        );
        let second = join(&mut lobby, 2, "b");
        let paired: Vec<_> = second
            .iter()
            .filter_map(|a| match a {
                Action::Send(c, ServerMsg::Paired { player_index, peers, .. }) => {
                    Some((c.0, *player_index, peers[0].participant_id.to_string()))
                }
                _ => None,
            })
            .collect();
        assert_eq!(paired, vec![(1, 0, "b".to_string()), (2, 1, "a".to_string())]);
        assert_eq!(lobby.waiting_count(), 0);
        assert_eq!(lobby.game_of(ConnId(1)), lobby.game_of(ConnId(2)));
    }

    #[test]
    fn generated_ids_are_distinct() {
        let mut lobby = lobby();
        let mut ids = Vec::new();
        for conn in 0..10 {
            lobby.connected(ConnId(conn));
            let out = lobby.message(
                ConnId(conn),
                ClientMsg::Hello {
                    protocol_version: PROTOCOL_VERSION,
                    participant_id: None,
                    rejoin: false,
                },
            );
            for action in out {
                if let Action::Send(_, ServerMsg::Welcome { participant_id, .. }) = action {
                    ids.push(participant_id);
                }
            }
        }
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 10);
    }

    #[test]
    fn signal_goes_to_partner_only() {
        let mut lobby = lobby();
        join(&mut lobby, 1, "a");
        join(&mut lobby, 2, "b");
        join(&mut lobby, 3, "c");
        let offer = SignalPayload::Offer { sdp: "v=0".into() };
        let to_b = ClientMsg::Signal {
            to: ParticipantId::parse("b").expect("id"),
            payload: offer.clone(),
        };
        let out = lobby.message(ConnId(1), to_b.clone());
        assert_eq!(
            out,
            vec![Action::Send(
                ConnId(2),
                ServerMsg::Signal {
                    from: ParticipantId::parse("a").expect("id"),
                    payload: offer.clone()
                }
            )]
        );
        let to_c = ClientMsg::Signal { to: ParticipantId::parse("c").expect("id"), payload: offer };
        assert_eq!(codes(&lobby.message(ConnId(1), to_c)), vec![ErrorCode::NotYourPartner]);
        assert_eq!(codes(&lobby.message(ConnId(3), to_b)), vec![ErrorCode::NotYourPartner]);
    }

    #[test]
    fn second_tab_with_same_id_is_refused_and_closed() {
        let mut lobby = lobby();
        join(&mut lobby, 1, "a");
        let out = join(&mut lobby, 2, "a");
        assert_eq!(codes(&out), vec![ErrorCode::DuplicateParticipant]);
        assert!(out.contains(&Action::Close(ConnId(2))));
        assert_eq!(lobby.waiting_count(), 1);
        // Once the first tab is gone the id is free again (a reload).
        lobby.disconnected(ConnId(1));
        lobby.disconnected(ConnId(2));
        assert!(codes(&join(&mut lobby, 3, "a")).is_empty());
    }

    #[test]
    fn wrong_protocol_version_is_fatal() {
        let mut lobby = lobby();
        lobby.connected(ConnId(1));
        let out = lobby.message(
            ConnId(1),
            ClientMsg::Hello { protocol_version: 0, participant_id: None, rejoin: false },
        );
        assert_eq!(codes(&out), vec![ErrorCode::ProtocolVersion]);
        assert!(out.contains(&Action::Close(ConnId(1))));
    }

    #[test]
    fn messages_out_of_order_are_refused() {
        let mut lobby = lobby();
        lobby.connected(ConnId(1));
        let signal = ClientMsg::Signal {
            to: ParticipantId::parse("x").expect("id"),
            payload: SignalPayload::Answer { sdp: String::new() },
        };
        assert_eq!(codes(&lobby.message(ConnId(1), signal)), vec![ErrorCode::HelloRequired]);
        lobby.message(ConnId(1), hello("a"));
        assert_eq!(codes(&lobby.message(ConnId(1), hello("a"))), vec![ErrorCode::AlreadyGreeted]);
    }

    #[test]
    fn leaving_is_reported_to_partner_once() {
        let mut lobby = lobby();
        join(&mut lobby, 1, "a");
        join(&mut lobby, 2, "b");
        let out = lobby.disconnected(ConnId(1));
        assert_eq!(
            out,
            vec![Action::Send(
                ConnId(2),
                ServerMsg::PartnerLeft { participant_id: ParticipantId::parse("a").expect("id") }
            )]
        );
        assert!(lobby.disconnected(ConnId(1)).is_empty(), "cleanup runs once");
        assert!(lobby.disconnected(ConnId(2)).is_empty(), "nobody left to tell");
    }

    #[test]
    fn a_returning_participant_is_not_matched() {
        let mut lobby = lobby();
        lobby.connected(ConnId(1));
        let rejoin = ClientMsg::Hello {
            protocol_version: PROTOCOL_VERSION,
            participant_id: Some(ParticipantId::parse("back").expect("id")),
            rejoin: true,
        };
        let out = lobby.message(ConnId(1), rejoin);
        assert!(matches!(out[..], [Action::Send(_, ServerMsg::Welcome { .. })]));
        assert_eq!(lobby.waiting_count(), 0);
        join(&mut lobby, 2, "b");
        assert_eq!(lobby.game_of(ConnId(1)), None);
    }

    fn upload(participant: &str, scene: &str) -> ClientMsg {
        ClientMsg::Upload(Box::new(Upload {
            upload_id: ParticipantId::parse("u1").expect("id"),
            participant_id: ParticipantId::parse(participant).expect("id"),
            game_id: ParticipantId::parse("g1").expect("id"),
            scene_id: ParticipantId::parse(scene).expect("id"),
            episode: 0,
            csv: "episode,t\n".into(),
            sidecar: serde_json::json!({}),
        }))
    }

    #[test]
    fn uploads_are_stored_only_for_their_owner_and_scene() {
        let mut lobby = lobby();
        join(&mut lobby, 1, "a");
        let own = lobby.message(ConnId(1), upload("a", "overcooked"));
        assert!(matches!(own[..], [Action::Store(ConnId(1), _)]));
        let other = lobby.message(ConnId(1), upload("b", "overcooked"));
        assert!(matches!(other[..], [Action::RefuseUpload(_, _, UploadError::NotYourFile(_))]));
        let scene = lobby.message(ConnId(1), upload("a", "elsewhere"));
        assert!(matches!(scene[..], [Action::RefuseUpload(_, _, UploadError::Invalid(_))]));
    }

    #[test]
    fn waiting_participant_leaving_frees_the_slot() {
        let mut lobby = lobby();
        join(&mut lobby, 1, "a");
        lobby.disconnected(ConnId(1));
        assert_eq!(lobby.waiting_count(), 0);
        let out = join(&mut lobby, 2, "b");
        assert!(
            out.contains(&Action::Send(ConnId(2), ServerMsg::Waiting { waiting: 1, needed: 2 }))
        );
    }
}
