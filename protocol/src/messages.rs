//! Relay WebSocket messages: JSON text frames, `{"type": "...", ...}` from the client and
//! `{"<type>": {...}}` from the relay.

use serde::{Deserialize, Serialize};

use crate::{
    GameConfig, GameEnds, GameHealth, GameId, MonitoringConfig, OutcomeName, ParticipantId,
    ProbeId, SceneId, SceneView, ScreenFacts, ScreenRequest, Sidecar, SpectateFrames, UploadId,
};

/// Bumped on every incompatible change. The client sends its version in [`ClientMsg::Hello`];
/// the relay refuses any other version with [`ErrorCode::ProtocolVersion`], so a participant with
/// a stale cached page gets a clear "reload" message instead of undefined behaviour.
pub const PROTOCOL_VERSION: u32 = 10;

/// Largest text frame the relay accepts from a client, uploads excepted. SDP offers from
/// Chromium are 1–3 kB.
pub const MAX_CLIENT_MESSAGE_BYTES: usize = 16 * 1024;

/// Largest upload message. A 45-second Overcooked episode is about 100 kB of CSV; this leaves
/// room for episodes of several minutes at 60 fps.
pub const MAX_UPLOAD_BYTES: usize = 8 * 1024 * 1024;

/// Client -> relay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMsg {
    /// First message of every connection.
    Hello {
        protocol_version: u32,
        /// From the page URL (`?PROLIFIC_PID=` or `?participant=`); the relay generates one
        /// when absent.
        #[serde(default)]
        participant_id: Option<ParticipantId>,
        /// A participant coming back (after a dropped connection) to finish a game or deliver
        /// data: not put in the waiting room.
        #[serde(default)]
        rejoin: bool,
    },
    /// WebRTC signaling for the partner `to`; the relay forwards it only within a pair.
    Signal { to: ParticipantId, payload: SignalPayload },
    /// One episode's research data, answered by `upload_ack` once it is on disk.
    Upload(Box<Upload>),
    /// The peer-to-peer connection of `game_id` works in both directions (the netcode has
    /// synchronized with the partner). Play starts once every player said so and the countdown
    /// is over.
    Validated {
        game_id: GameId,
        /// The environment this page runs; the relay starts the game only when every player
        /// runs the same one.
        #[serde(default)]
        env: Option<EnvStamp>,
        /// The shortest DataChannel round trip this page measured (ms), from which the relay
        /// chooses the game's `input_delay = "auto"`.
        #[serde(default)]
        rtt_ms: Option<u32>,
    },
    /// The participant is finished with scene `from` (clicked continue, or its game is over).
    Advance { from: u32 },
    /// WebRTC signaling for the other side of probe `probe_id` (kept apart from game
    /// signaling: a probe is between two waiting participants, not partners).
    ProbeSignal { probe_id: ProbeId, payload: SignalPayload },
    /// The median round trip this side measured on the probe's DataChannel, or `None` if the
    /// connection or every ping failed. The first result of a probe decides it.
    ProbeResult { probe_id: ProbeId, rtt_ms: Option<u32> },
    /// The answer to [`ServerMsg::Screen`]: what the browser says about itself.
    ScreenFacts(Box<ScreenFacts>),
    /// WebRTC signaling for the relay's own peer during screening (an offer, then trickled
    /// candidates).
    ScreenSignal { payload: SignalPayload },
    /// How this page's running game goes (every [`crate::HEALTH_INTERVAL_MS`]), for the admin
    /// console.
    Health(Box<GameHealth>),
    /// The rows of a watched game confirmed since the last batch (sent only between
    /// [`ServerMsg::Watch`] on and off; `crate::spectate`).
    Frames(Box<SpectateFrames>),
}

/// One participant's data of one episode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upload {
    /// Unique per participant; re-sending the same upload is harmless.
    pub upload_id: UploadId,
    /// Must be the uploading connection's own participant id.
    pub participant_id: ParticipantId,
    pub game_id: GameId,
    pub scene_id: SceneId,
    pub episode: u32,
    /// One row per frame of the episode, header first.
    pub csv: String,
    /// The episode's JSON sidecar.
    pub sidecar: Sidecar,
}

/// Relay -> client: `{"<type>": {...}}` (externally tagged, unlike [`ClientMsg`]). The client
/// decodes these in wasm, where serde's internally tagged decoding (which buffers every message
/// to find its tag) cost 40 kB of the page's module; the relay decodes `ClientMsg`, where size
/// does not matter and the flat form is easier to read in logs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ServerMsg {
    /// Answer to a valid [`ClientMsg::Hello`].
    Welcome { protocol_version: u32, participant_id: ParticipantId, experiment: String },
    /// The participant is in the waiting room.
    Waiting { waiting: u32, needed: u32 },
    /// A partner was found. Everyone in `peers` (self excluded) is reachable through
    /// [`ClientMsg::Signal`]; the lower `player_index` makes the WebRTC offer.
    Paired {
        game_id: GameId,
        player_index: u8,
        peers: Vec<PeerInfo>,
        ice_servers: Vec<IceServer>,
        /// Use TURN relay candidates only (`iceTransportPolicy = "relay"`).
        force_relay: bool,
        game: Box<GameConfig>,
        /// The game's reset seed (from the config, or drawn by the relay).
        seed: u64,
        /// The "Players found!" countdown, during which the connection is set up.
        countdown_ms: u32,
        /// What the game watches while it runs (the scene's `[monitoring]`).
        #[serde(default)]
        monitoring: MonitoringConfig,
        /// What each way the game can end gives this player.
        #[serde(default)]
        ends: Box<GameEnds>,
    },
    /// Every player's connection is validated and the countdown is over: play, with
    /// `input_delay` frames when the game's is `"auto"`.
    Start {
        game_id: GameId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        input_delay: Option<crate::AgreedDelay>,
    },
    /// The game did not start (the connection was not validated in time, or the partner left
    /// before the start); the participant is back in the waiting room.
    Repool { message: String },
    /// The scene the participant is in now; `last` when no scene follows.
    Scene { index: u32, view: SceneView, last: bool },
    /// Signaling forwarded from the partner `from`.
    Signal { from: ParticipantId, payload: SignalPayload },
    /// The partner's connection to the relay ended.
    PartnerLeft { participant_id: ParticipantId },
    /// The last client message was refused. After a `fatal` error the client must stop; the
    /// relay closes the connection (except after [`ErrorCode::AlreadyFinished`]).
    Error { code: ErrorCode, message: String, fatal: bool },
    /// The session ends here, without a game (or without another one): nobody was found in
    /// the waiting room in time (`wait_timeout`), a screening rule turned the participant away
    /// (`screened_out`), or loading failed (`loading_failed`). Show the message and the code,
    /// then go to the redirect, if any. `outcome` is an [`OutcomeName`] as text (a plain string
    /// keeps an enum decoder out of the page's module); build it with [`ServerMsg::exit`].
    Exit {
        outcome: String,
        message: String,
        #[serde(default)]
        completion_code: Option<String>,
        #[serde(default)]
        redirect_url: Option<String>,
    },
    /// The upload is stored durably (written, synced and renamed into place).
    UploadAck { upload_id: UploadId },
    /// The upload can never be stored (it is invalid); the client should not retry it.
    UploadRefused { upload_id: UploadId, code: ErrorCode, message: String },
    /// Measure the peer-to-peer round trip to `peer` before being matched with it: open a
    /// probe connection (the `initiator` makes the offer and the DataChannel), exchange pings,
    /// answer with [`ClientMsg::ProbeResult`]. The participant stays in the waiting room.
    Probe {
        probe_id: ProbeId,
        peer: ParticipantId,
        initiator: bool,
        ice_servers: Vec<IceServer>,
        /// As for the game: the probe measures the path the game would take.
        force_relay: bool,
    },
    /// Signaling forwarded from the other side of probe `probe_id`.
    ProbeSignal { probe_id: ProbeId, payload: SignalPayload },
    /// Probe `probe_id` is decided (or abandoned): close its connection.
    ProbeEnd { probe_id: ProbeId },
    /// Before entering the experiment: check these, answer with [`ClientMsg::ScreenFacts`].
    Screen(ScreenRequest),
    /// The relay's own peer's answer during screening.
    ScreenSignal { payload: SignalPayload },
    /// An admin console started (`on`) or stopped watching this game: forward its confirmed
    /// rows with [`ClientMsg::Frames`] from the first row of the current episode, or stop.
    Watch { game_id: GameId, on: bool },
}

/// One entry of the game's other players.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerInfo {
    pub participant_id: ParticipantId,
    pub player_index: u8,
}

/// An `RTCIceServer`. Also the shape of `[[webrtc.ice_servers]]` in the experiment config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// The SDP and ICE messages of one WebRTC negotiation: `{"offer": {"sdp": ...}}` (externally
/// tagged, as the client decodes them in wasm; see [`ServerMsg`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SignalPayload {
    Offer {
        sdp: String,
    },
    Answer {
        sdp: String,
    },
    IceCandidate {
        candidate: String,
        #[serde(default)]
        sdp_mid: Option<String>,
        #[serde(default)]
        sdp_m_line_index: Option<u16>,
    },
}

/// Machine-readable reason of a [`ServerMsg::Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Client and relay speak different protocol versions (usually a stale cached page).
    ProtocolVersion,
    /// The message was not valid JSON or not a known message.
    Malformed,
    /// The message exceeded [`MAX_CLIENT_MESSAGE_BYTES`].
    TooLarge,
    /// Binary frames are not part of the protocol.
    Binary,
    /// A message other than `hello` came before `hello`.
    HelloRequired,
    /// A second `hello` on the same connection.
    AlreadyGreeted,
    /// Another connection is already open with this participant id (a second tab).
    DuplicateParticipant,
    /// A signal addressed to someone who is not this participant's partner.
    NotYourPartner,
    /// A game message for a game this participant is not in.
    NotInGame,
    /// An `advance` from a scene the participant is not in, or cannot leave yet.
    WrongScene,
    /// A probe message for a probe this participant is not in.
    NotInProbe,
    /// The participant has been through every scene already (a reload after the end). The
    /// connection stays open so undelivered data can still arrive.
    AlreadyFinished,
    /// An upload for another participant's files.
    NotYourFile,
    /// An upload whose content is invalid.
    InvalidUpload,
    /// An upload for a game the relay never assigned to this participant.
    NotYourGame,
    /// An upload naming another scene than the one its game was in.
    UploadWrongScene,
    /// An upload for an episode the game does not have.
    NoSuchEpisode,
    /// An upload with more rows than its game's episodes have steps.
    TooManyRows,
    /// An upload larger than its game's episodes can produce.
    UploadTooLarge,
    /// The relay could not write the data (disk full, permissions); retrying may succeed.
    StorageFailed,
    /// The players' pages run different environments (name or version): the game cannot start.
    EnvMismatch,
    /// Screening facts sent when none were asked for (or after the decision).
    NotScreening,
    /// Frames of a watched game that are not whole rows or lie outside the game.
    InvalidFrames,
}

/// An environment's name and version, as a page reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvStamp {
    pub name: String,
    pub version: String,
}

/// Why a text frame is not a [`ClientMsg`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("message of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge { len: usize, max: usize },
    #[error("malformed message: {0}")]
    Malformed(String),
}

impl DecodeError {
    pub fn code(&self) -> ErrorCode {
        match self {
            DecodeError::TooLarge { .. } => ErrorCode::TooLarge,
            DecodeError::Malformed(_) => ErrorCode::Malformed,
        }
    }
}

impl ClientMsg {
    /// Parses one text frame, checking its size before anything else.
    pub fn decode(text: &str) -> Result<Self, DecodeError> {
        if text.len() > MAX_UPLOAD_BYTES {
            return Err(DecodeError::TooLarge { len: text.len(), max: MAX_UPLOAD_BYTES });
        }
        if text.len() > MAX_CLIENT_MESSAGE_BYTES && !is_upload(text) {
            return Err(DecodeError::TooLarge { len: text.len(), max: MAX_CLIENT_MESSAGE_BYTES });
        }
        serde_json::from_str(text).map_err(|e| DecodeError::Malformed(e.to_string()))
    }

    pub fn encode(&self) -> String {
        // Serializing these plain structs to a String cannot fail (no maps with non-string
        // keys, no custom Serialize impls that error).
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Whether a text is an upload message, judged by its `type` alone.
fn is_upload(text: &str) -> bool {
    #[derive(Deserialize)]
    struct Tag<'a> {
        #[serde(rename = "type", borrow)]
        kind: std::borrow::Cow<'a, str>,
    }
    serde_json::from_str::<Tag<'_>>(text).is_ok_and(|tag| tag.kind == "upload")
}

impl ServerMsg {
    /// An [`ServerMsg::Exit`] for `outcome`.
    pub fn exit(
        outcome: OutcomeName,
        message: String,
        completion_code: Option<String>,
        redirect_url: Option<String>,
    ) -> Self {
        ServerMsg::Exit { outcome: outcome.as_str().into(), message, completion_code, redirect_url }
    }

    pub fn decode(text: &str) -> Result<Self, DecodeError> {
        serde_json::from_str(text).map_err(|e| DecodeError::Malformed(e.to_string()))
    }

    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pid(s: &str) -> ParticipantId {
        ParticipantId::parse(s).expect("valid id")
    }

    #[test]
    fn client_messages_round_trip() {
        let msgs = [
            ClientMsg::Hello {
                protocol_version: PROTOCOL_VERSION,
                participant_id: None,
                rejoin: false,
            },
            ClientMsg::Hello { protocol_version: 7, participant_id: Some(pid("p1")), rejoin: true },
            ClientMsg::Signal {
                to: pid("p2"),
                payload: SignalPayload::Offer { sdp: "v=0".into() },
            },
            ClientMsg::ProbeSignal {
                probe_id: ProbeId::parse("q1").expect("id"),
                payload: SignalPayload::Offer { sdp: "v=0".into() },
            },
            ClientMsg::ProbeResult {
                probe_id: ProbeId::parse("q1").expect("id"),
                rtt_ms: Some(42),
            },
            ClientMsg::ProbeResult { probe_id: ProbeId::parse("q1").expect("id"), rtt_ms: None },
            ClientMsg::Signal {
                to: pid("p2"),
                payload: SignalPayload::IceCandidate {
                    candidate: "candidate:1 1 udp 1 127.0.0.1 5000 typ host".into(),
                    sdp_mid: Some("0".into()),
                    sdp_m_line_index: Some(0),
                },
            },
        ];
        for msg in msgs {
            assert_eq!(ClientMsg::decode(&msg.encode()), Ok(msg));
        }
    }

    #[test]
    fn server_messages_round_trip() {
        let msgs = [
            ServerMsg::Welcome {
                protocol_version: 1,
                participant_id: pid("a"),
                experiment: "demo".into(),
            },
            ServerMsg::Waiting { waiting: 1, needed: 2 },
            ServerMsg::Paired {
                game_id: GameId::parse("g1").expect("id"),
                player_index: 1,
                peers: vec![PeerInfo { participant_id: pid("b"), player_index: 0 }],
                ice_servers: vec![IceServer {
                    urls: vec!["turn:127.0.0.1:3478".into()],
                    username: Some("u".into()),
                    credential: Some("c".into()),
                }],
                force_relay: false,
                game: Box::default(),
                seed: u64::MAX,
                countdown_ms: 3000,
                monitoring: MonitoringConfig {
                    tab_exclude_ms: Some(10_000),
                    ..MonitoringConfig::default()
                },
                ends: Box::new(GameEnds::resolve(&Default::default(), &GameConfig::default())),
            },
            ServerMsg::Start { game_id: GameId::parse("g1").expect("id"), input_delay: None },
            ServerMsg::Repool { message: "again".into() },
            ServerMsg::Signal {
                from: pid("b"),
                payload: SignalPayload::Answer { sdp: "x".into() },
            },
            ServerMsg::PartnerLeft { participant_id: pid("b") },
            ServerMsg::Probe {
                probe_id: ProbeId::parse("q1").expect("id"),
                peer: pid("b"),
                initiator: true,
                ice_servers: Vec::new(),
                force_relay: false,
            },
            ServerMsg::ProbeSignal {
                probe_id: ProbeId::parse("q1").expect("id"),
                payload: SignalPayload::Answer { sdp: "x".into() },
            },
            ServerMsg::ProbeEnd { probe_id: ProbeId::parse("q1").expect("id") },
            ServerMsg::Error {
                code: ErrorCode::NotYourPartner,
                message: "no".into(),
                fatal: false,
            },
        ];
        for msg in msgs {
            assert_eq!(ServerMsg::decode(&msg.encode()), Ok(msg));
        }
    }

    #[test]
    fn wire_format_is_tagged_snake_case() {
        let json =
            ClientMsg::Hello { protocol_version: 1, participant_id: None, rejoin: false }.encode();
        assert_eq!(
            json,
            r#"{"type":"hello","protocol_version":1,"participant_id":null,"rejoin":false}"#
        );
        let minimal = ClientMsg::decode(r#"{"type":"hello","protocol_version":1}"#);
        assert_eq!(
            minimal,
            Ok(ClientMsg::Hello { protocol_version: 1, participant_id: None, rejoin: false })
        );
    }

    #[test]
    fn unknown_and_malformed_messages_are_errors() {
        for text in ["", "{", "[]", r#"{"type":"launch_missiles"}"#, r#"{"type":"hello"}"#] {
            assert!(matches!(ClientMsg::decode(text), Err(DecodeError::Malformed(_))), "{text}");
        }
        let extra = r#"{"type":"hello","protocol_version":1,"admin":true}"#;
        assert!(ClientMsg::decode(extra).is_err(), "unknown fields are refused");
        let upload = |sidecar: &str| {
            format!(
                r#"{{"type":"upload","upload_id":"u","participant_id":"a","game_id":"g","scene_id":"s","episode":0,"csv":"episode,t\n","sidecar":{sidecar}}}"#
            )
        };
        let valid = serde_json::to_string(&crate::Sidecar::default()).expect("json");
        assert!(ClientMsg::decode(&upload(&valid)).is_ok(), "{}", upload(&valid));
        for sidecar in ["[1,2]", "{}", r#"{"rows":"many"}"#] {
            assert!(ClientMsg::decode(&upload(sidecar)).is_err(), "sidecar {sidecar} is refused");
        }
    }

    #[test]
    fn only_uploads_may_be_large() {
        let padded = format!(
            r#"{{"type":"signal","to":"a","payload":{{"offer":{{"sdp":"{}"}}}}}}"#,
            "x".repeat(MAX_CLIENT_MESSAGE_BYTES)
        );
        assert_eq!(ClientMsg::decode(&padded).map_err(|e| e.code()), Err(ErrorCode::TooLarge));
        let upload = ClientMsg::Upload(Box::new(Upload {
            upload_id: UploadId::parse("u1").expect("id"),
            participant_id: pid("a"),
            game_id: GameId::parse("g").expect("id"),
            scene_id: SceneId::parse("s").expect("id"),
            episode: 0,
            csv: "x".repeat(MAX_CLIENT_MESSAGE_BYTES * 4),
            sidecar: Sidecar::default(),
        }));
        assert_eq!(ClientMsg::decode(&upload.encode()), Ok(upload));
        let huge = "y".repeat(MAX_UPLOAD_BYTES + 1);
        assert_eq!(ClientMsg::decode(&huge).map_err(|e| e.code()), Err(ErrorCode::TooLarge));
    }
}
