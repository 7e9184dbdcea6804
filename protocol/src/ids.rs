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

/// A participant's id.
pub type ParticipantId = SafeId;

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
    }
}
