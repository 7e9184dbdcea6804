//! Binary messages on the game DataChannel.
//!
//! Byte 0 is the message type; multi-byte fields are little-endian. Every decoder is total:
//! bytes from the partner are untrusted, so a short, long or unknown packet is an error value,
//! never a panic.

/// One DataChannel message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PeerMsg {
    /// `sent_at_ms` is the sender's `performance.now()`, echoed back unchanged in the pong, so
    /// the sender measures a round trip on its own clock only.
    Ping {
        seq: u32,
        sent_at_ms: f64,
    },
    Pong {
        seq: u32,
        sent_at_ms: f64,
    },
}

const PING: u8 = 0x01;
const PONG: u8 = 0x02;
/// A ggrs packet follows (encoded by the netcode's wire socket).
const NETCODE: u8 = 0x10;
/// Several ggrs packets for one partner from one tick, each as a little-endian u16 length and
/// its bytes: one DataChannel message (one datagram's headers) instead of one per packet.
const NETCODE_BUNDLE: u8 = 0x11;
/// After a group went on without a member, the netcode is a new ggrs session: its packets
/// carry these tags (0x12, 0x13); a page drops the old session's and keeps the new one's
/// until it goes on too (`Netcode::receive_in`).
const NEXT_SESSION: u8 = 0x02;
/// The most packets a bundle may carry (ggrs sends a handful per tick).
const MAX_BUNDLED: usize = 32;
/// "Every episode is over and confirmed here": the partner may tear the connection down.
const FINISHED: u8 = 0x03;
/// "This member of the group left; I stopped, having confirmed up to this frame".
const LEFT: u8 = 0x04;
/// The same, answering a partner's `LEFT` (never answered itself, so no two pages loop).
const LEFT_ANSWER: u8 = 0x05;
const PING_LEN: usize = 1 + 4 + 8;

/// Any packet on the game channel: our own control messages, or the netcode's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Packet<'a> {
    Control(PeerMsg),
    /// A netcode packet of ggrs session `epoch` (0, or 1 after a group went on without a member).
    Netcode {
        epoch: u8,
        payload: &'a [u8],
    },
    /// Netcode packets bundled by [`netcode_bundle`], checked well-formed; read them with
    /// [`bundled`].
    Bundle {
        epoch: u8,
        body: &'a [u8],
    },
    Finished,
    /// A member of the group left: the sender stopped with every frame up to `confirmed`
    /// confirmed (a group's departure, `session/departure.rs`).
    /// `answer`: sent in reply to the partner's own (the channel loses packets: a page asks
    /// again until it heard every remaining partner).
    Left {
        player: u8,
        confirmed: i32,
        answer: bool,
    },
}

impl<'a> Packet<'a> {
    pub fn decode(bytes: &'a [u8]) -> Result<Self, PeerMsgError> {
        match bytes.split_first() {
            Some((&tag, rest)) if tag == NETCODE || tag == NETCODE + NEXT_SESSION => {
                Ok(Packet::Netcode { epoch: u8::from(tag != NETCODE), payload: rest })
            }
            Some((&tag, rest)) if tag == NETCODE_BUNDLE || tag == NETCODE_BUNDLE + NEXT_SESSION => {
                let parts = bundled(rest);
                let used: usize = parts.iter().map(|p| p.len() + 2).sum();
                if used != rest.len() || parts.is_empty() || parts.len() > MAX_BUNDLED {
                    return Err(PeerMsgError::BadBundle);
                }
                Ok(Packet::Bundle { epoch: u8::from(tag != NETCODE_BUNDLE), body: rest })
            }
            Some((&FINISHED, [])) => Ok(Packet::Finished),
            Some((&tag, [player, frame @ ..])) if tag == LEFT || tag == LEFT_ANSWER => {
                let frame: [u8; 4] = frame.try_into().map_err(|_| PeerMsgError::BadLength {
                    kind: tag,
                    expected: 6,
                    got: bytes.len(),
                })?;
                let confirmed = i32::from_le_bytes(frame);
                Ok(Packet::Left { player: *player, confirmed, answer: tag == LEFT_ANSWER })
            }
            _ => PeerMsg::decode(bytes).map(Packet::Control),
        }
    }
}

/// The one-byte "finished" packet.
pub fn finished_packet() -> Vec<u8> {
    vec![FINISHED]
}

/// The packets of a bundle's body, as far as it is well-formed.
pub fn bundled(mut body: &[u8]) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    while let Some((len, rest)) = body.split_first_chunk::<2>() {
        let len = usize::from(u16::from_le_bytes(*len));
        let Some((part, rest)) = rest.split_at_checked(len) else { break };
        parts.push(part);
        body = rest;
    }
    parts
}

/// Frames the netcode packets of one tick for one partner as one DataChannel message, for ggrs
/// session `epoch` (0 or 1).
pub fn netcode_bundle(payloads: &[&[u8]], epoch: u8) -> Vec<u8> {
    if let [one] = payloads {
        return netcode_packet(one, epoch);
    }
    let mut out = Vec::with_capacity(1 + payloads.iter().map(|p| p.len() + 2).sum::<usize>());
    out.push(NETCODE_BUNDLE + NEXT_SESSION * epoch.min(1));
    for payload in payloads {
        // ggrs packets are far below 64 KiB; a longer one could not be framed and is dropped.
        let Ok(len) = u16::try_from(payload.len()) else { continue };
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(payload);
    }
    out
}

/// The "member left" packet; `answer` when replying to a partner's.
pub fn left_packet(player: u8, confirmed: i32, answer: bool) -> Vec<u8> {
    let mut out = vec![if answer { LEFT_ANSWER } else { LEFT }, player];
    out.extend_from_slice(&confirmed.to_le_bytes());
    out
}

/// Frames a netcode packet of ggrs session `epoch` (0 or 1) for the channel.
pub fn netcode_packet(payload: &[u8], epoch: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 1);
    out.push(NETCODE + NEXT_SESSION * epoch.min(1));
    out.extend_from_slice(payload);
    out
}

/// Why a DataChannel packet was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PeerMsgError {
    #[error("empty packet")]
    Empty,
    #[error("unknown packet type {0:#04x}")]
    UnknownType(u8),
    #[error("a bundle of netcode packets that does not add up")]
    BadBundle,
    #[error("packet type {kind:#04x} should be {expected} bytes, got {got}")]
    BadLength { kind: u8, expected: usize, got: usize },
}

impl PeerMsg {
    pub fn encode(&self) -> Vec<u8> {
        let (kind, seq, sent_at_ms) = match *self {
            PeerMsg::Ping { seq, sent_at_ms } => (PING, seq, sent_at_ms),
            PeerMsg::Pong { seq, sent_at_ms } => (PONG, seq, sent_at_ms),
        };
        let mut out = Vec::with_capacity(PING_LEN);
        out.push(kind);
        out.extend_from_slice(&seq.to_le_bytes());
        out.extend_from_slice(&sent_at_ms.to_le_bytes());
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, PeerMsgError> {
        let (&kind, body) = bytes.split_first().ok_or(PeerMsgError::Empty)?;
        if kind != PING && kind != PONG {
            return Err(PeerMsgError::UnknownType(kind));
        }
        let bad_length = PeerMsgError::BadLength { kind, expected: PING_LEN, got: bytes.len() };
        let (seq, time) = body.split_first_chunk::<4>().ok_or(bad_length)?;
        let time: &[u8; 8] = time.try_into().map_err(|_| bad_length)?;
        let seq = u32::from_le_bytes(*seq);
        let sent_at_ms = f64::from_le_bytes(*time);
        Ok(if kind == PING {
            PeerMsg::Ping { seq, sent_at_ms }
        } else {
            PeerMsg::Pong { seq, sent_at_ms }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_round_trips_and_a_malformed_one_is_refused() {
        let parts: [&[u8]; 3] = [b"input", b"", b"ack"];
        let bytes = netcode_bundle(&parts, 0);
        let Ok(Packet::Bundle { epoch: 0, body }) = Packet::decode(&bytes) else {
            panic!("{bytes:?}")
        };
        assert_eq!(bundled(body), parts);
        let one = netcode_bundle(&[b"one"], 1);
        assert_eq!(Packet::decode(&one), Ok(Packet::Netcode { epoch: 1, payload: b"one" }));
        let next = netcode_bundle(&parts, 1);
        assert!(matches!(Packet::decode(&next), Ok(Packet::Bundle { epoch: 1, .. })));
        for cut in 1..bytes.len() {
            if cut != 1 + 7 && cut != 1 + 7 + 2 {
                assert!(Packet::decode(&bytes[..cut]).is_err(), "cut at {cut}");
            }
        }
        let too_many = vec![&b"x"[..]; MAX_BUNDLED + 1];
        assert_eq!(Packet::decode(&netcode_bundle(&too_many, 0)), Err(PeerMsgError::BadBundle));
    }

    #[test]
    fn left_round_trips_and_a_short_one_is_refused() {
        let bytes = left_packet(2, 4_321, false);
        let left = Packet::Left { player: 2, confirmed: 4_321, answer: false };
        assert_eq!(Packet::decode(&bytes), Ok(left));
        let answer = Packet::Left { player: 2, confirmed: -1, answer: true };
        assert_eq!(Packet::decode(&left_packet(2, -1, true)), Ok(answer));
        assert!(Packet::decode(&bytes[..5]).is_err());
        assert!(Packet::decode(&[bytes.as_slice(), &[0]].concat()).is_err());
    }

    #[test]
    fn round_trip() {
        for msg in [
            PeerMsg::Ping { seq: 7, sent_at_ms: 1234.5 },
            PeerMsg::Pong { seq: u32::MAX, sent_at_ms: 0.0 },
        ] {
            assert_eq!(PeerMsg::decode(&msg.encode()), Ok(msg));
        }
    }

    #[test]
    fn netcode_packets_are_told_apart_from_control_messages() {
        let framed = netcode_packet(&[9, 8, 7], 0);
        assert_eq!(Packet::decode(&framed), Ok(Packet::Netcode { epoch: 0, payload: &[9, 8, 7] }));
        let ping = PeerMsg::Ping { seq: 1, sent_at_ms: 2.0 };
        assert_eq!(Packet::decode(&ping.encode()), Ok(Packet::Control(ping)));
        assert_eq!(Packet::decode(&[]), Err(PeerMsgError::Empty));
        assert_eq!(Packet::decode(&finished_packet()), Ok(Packet::Finished));
        assert!(Packet::decode(&[FINISHED, 0]).is_err(), "finished carries nothing");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert_eq!(PeerMsg::decode(&[]), Err(PeerMsgError::Empty));
        assert_eq!(PeerMsg::decode(&[0x7f, 1, 2]), Err(PeerMsgError::UnknownType(0x7f)));
        assert!(matches!(PeerMsg::decode(&[PING, 1, 2]), Err(PeerMsgError::BadLength { .. })));
        let mut long = PeerMsg::Ping { seq: 1, sent_at_ms: 1.0 }.encode();
        long.push(0);
        assert!(matches!(PeerMsg::decode(&long), Err(PeerMsgError::BadLength { .. })));
        // Every short prefix of a valid packet is refused.
        let valid = PeerMsg::Pong { seq: 3, sent_at_ms: 2.0 }.encode();
        for len in 0..valid.len() {
            assert!(PeerMsg::decode(&valid[..len]).is_err());
        }
    }
}
