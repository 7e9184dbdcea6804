//! The relay's error types, and the one place where a refused request becomes a reply.

use std::{io, net::SocketAddr, path::PathBuf};

use rollgym_protocol::{ConfigError, DecodeError, ErrorCode, ParticipantId, ServerMsg};

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
        }
    }

    /// Whether the relay closes the connection after replying.
    pub fn is_fatal(&self) -> bool {
        matches!(self, RequestError::ProtocolVersion { .. } | RequestError::DuplicateParticipant(_))
    }

    /// The reply sent to the client. Logged here so every refusal leaves a trace.
    pub fn reply(&self) -> ServerMsg {
        tracing::warn!(code = ?self.code(), error = %self, "refused client message");
        ServerMsg::Error { code: self.code(), message: self.to_string(), fatal: self.is_fatal() }
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
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: io::Error },
}
