//! Identifiers that come from outside (URLs, the network) and end up in file names and logs.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest id accepted. Prolific ids are 24 characters; this leaves room for lab-assigned
/// ids while keeping log lines and file names short.
pub const MAX_PARTICIPANT_ID_LEN: usize = 64;

/// A validated id (participant, game, scene, upload): 1 to 64 characters out of
/// `[A-Za-z0-9_-]`.
///
/// The restriction is what makes ids safe in file names (no `/`, no `..`, nothing a shell or
/// a spreadsheet would interpret).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SafeId(String);

/// Declares an id of one kind: a [`SafeId`] that the compiler keeps apart from the other
/// kinds (a probe id cannot be passed where a game id is meant). Same text on the wire.
macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(SafeId);

        impl $name {
            /// Validates `raw` (see [`SafeId::parse`]).
            pub fn parse(raw: &str) -> Result<Self, IdError> {
                SafeId::parse(raw).map(Self)
            }

            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }
        }

        impl From<SafeId> for $name {
            fn from(id: SafeId) -> Self {
                Self(id)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

typed_id!(
    /// A participant's id (from the study link, or given by the relay).
    ParticipantId
);
typed_id!(
    /// A game the lobby formed: its players, its seed, its data files.
    GameId
);
typed_id!(
    /// A peer-to-peer probe between two waiting participants.
    ProbeId
);
typed_id!(
    /// One upload of one episode file (the client's, so that a re-send is recognised).
    UploadId
);
typed_id!(
    /// A scene of the experiment (also its data directory).
    SceneId
);

/// Why a string is not a valid [`SafeId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("id is empty")]
    Empty,
    #[error("id is longer than {MAX_PARTICIPANT_ID_LEN} characters")]
    TooLong,
    #[error("id may only contain letters, digits, '-' and '_'")]
    BadCharacter,
}

impl SafeId {
    /// Validates `raw` as a participant id.
    pub fn parse(raw: &str) -> Result<Self, IdError> {
        if raw.is_empty() {
            return Err(IdError::Empty);
        }
        if raw.len() > MAX_PARTICIPANT_ID_LEN {
            return Err(IdError::TooLong);
        }
        if !raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err(IdError::BadCharacter);
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SafeId {
    type Error = IdError;

    fn try_from(raw: String) -> Result<Self, IdError> {
        Self::parse(&raw)
    }
}

impl From<SafeId> for String {
    fn from(id: SafeId) -> String {
        id.0
    }
}

impl fmt::Display for SafeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_prolific_style_ids() {
        assert!(ParticipantId::parse("5f1a2b3c4d5e6f7a8b9c0d1e").is_ok());
        assert!(ParticipantId::parse("lab_07-b").is_ok());
    }

    #[test]
    fn refuses_ids_that_could_escape_a_directory() {
        assert_eq!(ParticipantId::parse("../x"), Err(IdError::BadCharacter));
        assert_eq!(ParticipantId::parse("a/b"), Err(IdError::BadCharacter));
        assert_eq!(ParticipantId::parse(""), Err(IdError::Empty));
        assert_eq!(ParticipantId::parse(&"a".repeat(65)), Err(IdError::TooLong));
    }

    #[test]
    fn deserializing_validates() {
        let bad: Result<ParticipantId, _> = serde_json::from_str("\"a b\"");
        assert!(bad.is_err());
        let good: GameId = serde_json::from_str("\"g-1\"").expect("valid");
        assert_eq!(serde_json::to_string(&good).expect("json"), "\"g-1\"");
    }
}
