//! Ids the lobby generates.

use rollgym_protocol::{GameId, IdError, ParticipantId, ProbeId};

/// Generates ids that are unique in practice across relay restarts (random 64-bit seed)
/// without making the lobby depend on an entropy source.
#[derive(Debug)]
pub(super) struct IdSource(pub(super) u64);

impl IdSource {
    /// splitmix64: a tiny, well-distributed generator; these ids need uniqueness, not secrecy.
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(super) fn participant_id(&mut self) -> ParticipantId {
        let raw = format!("p-{:016x}", self.next());
        // The format above only produces [a-z0-9-], 18 characters.
        ParticipantId::parse(&raw).unwrap_or_else(|_: IdError| unreachable!("generated id {raw}"))
    }

    pub(super) fn game_id(&mut self) -> GameId {
        let raw = format!("g-{:016x}", self.next());
        GameId::parse(&raw).unwrap_or_else(|_: IdError| unreachable!("generated id {raw}"))
    }

    pub(super) fn probe_id(&mut self) -> ProbeId {
        let raw = format!("q-{:016x}", self.next());
        ProbeId::parse(&raw).unwrap_or_else(|_: IdError| unreachable!("generated id {raw}"))
    }
}
