//! The relay's error types, and the one place where a refused request becomes a reply.

use std::{io, net::SocketAddr, path::PathBuf};

use rollgym_protocol::{
    ConfigError, DecodeError, ErrorCode, GameId, ParticipantId, ProbeId, SceneId, ServerMsg,
    UploadId,
};

/// A client message the relay refuses. Every variant is answered with
/// [`ServerMsg::Error`] by [`RequestError::reply`]; none of them ends the relay.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RequestError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error("binary messages are not part of the protocol")]
    Binary,
    #[error(
        "this page speaks protocol version {client} but the server speaks {relay}; please reload the page"
    )]
    ProtocolVersion { client: u32, relay: u32 },
    #[error("send hello first")]
    HelloRequired,
    #[error("hello was already received on this connection")]
    AlreadyGreeted,
    #[error("participant {0} is already connected in another tab or window; please continue there")]
    DuplicateParticipant(ParticipantId),
    #[error("{0} is not your partner")]
    NotYourPartner(ParticipantId),
    #[error("you are not in game {0}")]
    NotInGame(GameId),
    #[error("you cannot leave scene {0} now")]
    NotInScene(u32),
    #[error("you are not in probe {0}")]
    NotInProbe(ProbeId),
    #[error("participant {0} has already completed this study; thank you for taking part")]
    AlreadyFinished(ParticipantId),
    #[error("screening facts were not asked for")]
    NotScreening,
    #[error("these frames of a watched game cannot be shown: {0}")]
    InvalidFrames(String),
}

impl RequestError {
    pub fn code(&self) -> ErrorCode {
        match self {
            RequestError::Decode(e) => e.code(),
            RequestError::Binary => ErrorCode::Binary,
            RequestError::ProtocolVersion { .. } => ErrorCode::ProtocolVersion,
            RequestError::HelloRequired => ErrorCode::HelloRequired,
            RequestError::AlreadyGreeted => ErrorCode::AlreadyGreeted,
            RequestError::DuplicateParticipant(_) => ErrorCode::DuplicateParticipant,
            RequestError::NotYourPartner(_) => ErrorCode::NotYourPartner,
            RequestError::NotInGame(_) => ErrorCode::NotInGame,
            RequestError::NotInScene(_) => ErrorCode::WrongScene,
            RequestError::NotInProbe(_) => ErrorCode::NotInProbe,
            RequestError::AlreadyFinished(_) => ErrorCode::AlreadyFinished,
            RequestError::NotScreening => ErrorCode::NotScreening,
            RequestError::InvalidFrames(_) => ErrorCode::InvalidFrames,
        }
    }

    /// Whether the client must stop. The relay closes the connection after replying, except
    /// after `AlreadyFinished`: that participant may still have data to deliver.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            RequestError::ProtocolVersion { .. }
                | RequestError::DuplicateParticipant(_)
                | RequestError::AlreadyFinished(_)
        )
    }

    /// The reply sent to the client. Logged here so every refusal leaves a trace.
    pub fn reply(&self) -> ServerMsg {
        tracing::warn!(code = ?self.code(), error = %self, "refused client message");
        ServerMsg::Error { code: self.code(), message: self.to_string(), fatal: self.is_fatal() }
    }
}

/// Why an upload is refused or failed. `Storage` failures may succeed on a retry; the others
/// never will.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UploadError {
    #[error("this connection may only upload files of its own participant, not {0}")]
    NotYourFile(ParticipantId),
    #[error("invalid upload: {0}")]
    Invalid(String),
    #[error("game {0} is not one of yours")]
    NotYourGame(GameId),
    #[error("game {game} was not played in scene {scene}")]
    WrongScene { game: GameId, scene: SceneId },
    #[error("episode {episode} does not exist: the game has {of}")]
    NoSuchEpisode { episode: u32, of: u32 },
    #[error("{rows} lines is more than an episode can have ({max} with the header)")]
    TooManyRows { rows: usize, max: usize },
    #[error("{bytes} bytes is more than an episode's data can be ({max})")]
    TooLarge { bytes: usize, max: usize },
    #[error("the data could not be written: {0}")]
    Storage(String),
}

impl UploadError {
    pub fn code(&self) -> ErrorCode {
        match self {
            UploadError::NotYourFile(_) => ErrorCode::NotYourFile,
            UploadError::Invalid(_) => ErrorCode::InvalidUpload,
            UploadError::NotYourGame(_) => ErrorCode::NotYourGame,
            UploadError::WrongScene { .. } => ErrorCode::UploadWrongScene,
            UploadError::NoSuchEpisode { .. } => ErrorCode::NoSuchEpisode,
            UploadError::TooManyRows { .. } => ErrorCode::TooManyRows,
            UploadError::TooLarge { .. } => ErrorCode::UploadTooLarge,
            UploadError::Storage(_) => ErrorCode::StorageFailed,
        }
    }

    /// The reply for the uploader. A storage failure is an error reply (the client keeps the
    /// upload and retries); anything else is a refusal (the client drops it).
    pub fn reply(&self, upload_id: UploadId) -> ServerMsg {
        tracing::warn!(upload = %upload_id, code = ?self.code(), error = %self, "upload not stored");
        match self {
            UploadError::Storage(_) => {
                ServerMsg::Error { code: self.code(), message: self.to_string(), fatal: false }
            }
            _ => {
                ServerMsg::UploadRefused { upload_id, code: self.code(), message: self.to_string() }
            }
        }
    }
}

/// Why the relay could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot read experiment file {path}: {source}")]
    ReadConfig { path: PathBuf, source: io::Error },
    #[error("experiment file {path} is not valid TOML for an experiment: {message}")]
    ParseConfig { path: PathBuf, message: String },
    #[error("experiment file {path}: {source}")]
    InvalidConfig { path: PathBuf, source: ConfigError },
    #[error("static directory {0} does not exist (run `make build` first?)")]
    MissingWww(PathBuf),
    #[error("cannot create data directory {path}: {source}")]
    DataDir { path: PathBuf, source: io::Error },
    #[error("cannot read the participants' progress or the match logs in {path}: {source}")]
    ReadJournal { path: PathBuf, source: io::Error },
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: io::Error },
    #[error("{0}")]
    Turn(String),
}
