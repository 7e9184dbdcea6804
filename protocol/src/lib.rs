//! rollgym-protocol: everything the relay and the browser client say to each other.
//!
//! The relay WebSocket carries JSON text frames, one message per frame, each a serde
//! tagged enum ([`ClientMsg`] upstream, [`ServerMsg`] downstream). The types are defined
//! here once and compiled into both the relay (native) and the client (wasm32), so the
//! two sides cannot drift apart.
//!
//! This crate does no IO.

mod agent;
mod config;
pub mod episode;
mod game;
mod health;
mod ids;
mod input_delay;
mod lobby;
mod messages;
mod monitoring;
mod records;
mod scene;
mod screening;
mod spectate;

pub use agent::{BROWSER_NAMES, BrowserRule, Compare, browser_of, device_of};
pub use config::{ConfigError, ExperimentConfig, ExperimentMeta, TurnConfig, WebRtcConfig};
pub use episode::{Outcome, Sidecar, StoredSidecar};
pub use game::{
    BUILT_IN_ENVS, GameConfig, GameConfigError, InputMode, OVERCOOKED_LAYOUTS, OnPlayerLeave,
    is_env_name,
};
pub use health::{CONNECTION_TYPES, GameHealth, HEALTH_INTERVAL_MS};
pub use ids::{
    GameId, IdError, MAX_PARTICIPANT_ID_LEN, ParticipantId, ProbeId, SafeId, SceneId, UploadId,
};
pub use input_delay::{AgreedDelay, InputDelay, MAX_INPUT_DELAY};
pub use lobby::{
    DEFAULT_GROUP_SIZE, MAX_GROUP_SIZE, MatchmakerKind, MatchmakingConfig, RttSource,
    WaitingRoomConfig,
};
pub use messages::{
    ClientMsg, DecodeError, EnvStamp, ErrorCode, IceServer, MAX_CLIENT_MESSAGE_BYTES,
    MAX_UPLOAD_BYTES, PROTOCOL_VERSION, PeerInfo, ServerMsg, SignalPayload, Upload,
};
pub use monitoring::{Exclusion, ExclusionReason, GameEnds, MonitoringConfig, MonitoringError};
pub use records::{
    AdminAction, AdminRecord, AdmittingProbe, ClientErrorKind, ClientErrorRecord,
    LoggedParticipant, MAX_CLIENT_ERROR_CHARS, MatchLogRecord, ProbeResult, UnstartedReason,
};
pub use scene::{GymScene, Scene, SceneConfig, SceneView};
pub use screening::{
    CustomVerdict, Device, LoadingConfig, MAX_CUSTOM_MESSAGE_LEN, MAX_USER_AGENT_LEN,
    OutcomeConfig, OutcomeName, OutcomesConfig, PeerReport, ScreenFacts, ScreenRequest, ScreenRule,
    ScreeningConfig, ScreeningMessages, ScreeningRecord, TooFewSamples,
};
pub use spectate::{MAX_SPECTATE_ROWS, SPECTATE_INTERVAL_MS, SpectateFrames, SpectateStart};
