//! A bounded run-length coder for ggrs's input packets, in place of the `bitfield-rle` crate.
//!
//! ggrs XORs each pending input against the previous one and run-length codes the result,
//! so a packet is mostly runs of zero bytes. The upstream crate reports errors through
//! `anyhow`, whose backtrace printing (with a symbol demangler) was in the page's module
//! (replacing the crate took the package from 249,877 to 232,999 B gzip), and it allocates whatever length a packet claims before checking it, so a
//! hostile peer could make a page allocate gigabytes. This coder keeps ggrs's two calls
//! (`encode`, `decode`) and neither problem. Both peers of a game run the same build, so the
//! format only has to agree with itself.
//!
//! Format: a sequence of chunks, each a LEB128 header `h` followed by its payload.
//! `h & 1 == 0`: a run of `h >> 1` zero bytes, no payload;
//! `h & 1 == 1`: `h >> 1` literal bytes follow.

/// The most bytes one packet may decode to: far above any ggrs input packet (a few hundred
/// bytes), far below what would hurt a page.
pub const MAX_DECODED_LEN: usize = 64 * 1024;

/// Shortest zero run worth a chunk of its own inside literal bytes: a shorter run costs
/// more as two headers than as literals.
const MIN_RUN: usize = 3;

/// Why a packet could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("run-length packet ends inside a chunk")]
    Truncated,
    #[error("run-length chunk header is not a valid length")]
    BadHeader,
    #[error("run-length packet decodes to more than {MAX_DECODED_LEN} bytes")]
    TooLong,
}

/// Codes `buf` as runs of zero bytes and literal stretches.
pub fn encode(buf: impl AsRef<[u8]>) -> Vec<u8> {
    let buf = buf.as_ref();
    let mut out = Vec::with_capacity(buf.len() / 2 + 4);
    let mut literal_start = 0;
    let mut i = 0;
    while i < buf.len() {
        let run = buf[i..].iter().take_while(|&&b| b == 0).count();
        if run >= MIN_RUN || (run > 0 && i + run == buf.len()) {
            push_literals(&mut out, &buf[literal_start..i]);
            push_header(&mut out, run, false);
            i += run;
            literal_start = i;
        } else {
            i += run.max(1);
        }
    }
    push_literals(&mut out, &buf[literal_start..]);
    out
}

/// Reverses [`encode`]; refuses truncated, malformed or oversized packets.
pub fn decode(buf: impl AsRef<[u8]>) -> Result<Vec<u8>, DecodeError> {
    let mut rest = buf.as_ref();
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (header, after) = read_header(rest)?;
        let len = usize::try_from(header >> 1).map_err(|_| DecodeError::TooLong)?;
        if len > MAX_DECODED_LEN - out.len() {
            return Err(DecodeError::TooLong);
        }
        rest = after;
        if header & 1 == 0 {
            out.resize(out.len() + len, 0);
        } else {
            let (literals, after) = rest.split_at_checked(len).ok_or(DecodeError::Truncated)?;
            out.extend_from_slice(literals);
            rest = after;
        }
    }
    Ok(out)
}

fn push_literals(out: &mut Vec<u8>, literals: &[u8]) {
    if !literals.is_empty() {
        push_header(out, literals.len(), true);
        out.extend_from_slice(literals);
    }
}

fn push_header(out: &mut Vec<u8>, len: usize, literal: bool) {
    let mut h = (len as u64) << 1 | u64::from(literal);
    while h >= 0x80 {
        out.push((h as u8) | 0x80);
        h >>= 7;
    }
    out.push(h as u8);
}

/// One LEB128 header; at most 5 bytes (35 bits), more than any accepted length needs.
fn read_header(buf: &[u8]) -> Result<(u64, &[u8]), DecodeError> {
    let mut h = 0u64;
    for (i, &b) in buf.iter().enumerate().take(5) {
        h |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok((h, &buf[i + 1..]));
        }
    }
    Err(if buf.len() < 5 { DecodeError::Truncated } else { DecodeError::BadHeader })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(buf: &[u8]) -> Vec<u8> {
        let encoded = encode(buf);
        assert_eq!(decode(&encoded).as_deref(), Ok(buf), "round trip of {buf:?}");
        encoded
    }

    #[test]
    fn round_trips_edges() {
        assert!(round_trip(&[]).is_empty());
        round_trip(&[0]);
        round_trip(&[7]);
        round_trip(&[0, 0, 1, 0, 0, 0, 2, 0]);
        round_trip(&[1, 0, 0]);
        round_trip(&[0xff; 300]);
    }

    #[test]
    fn zero_runs_shrink() {
        // A typical ggrs packet: 2-byte length prefixes and unchanged inputs XOR to zeros.
        let mut packet = Vec::new();
        for _ in 0..8 {
            packet.extend_from_slice(&[4, 0, 0, 0, 0, 0]);
        }
        let encoded = round_trip(&packet);
        assert!(encoded.len() <= packet.len() / 2, "{} of {}", encoded.len(), packet.len());
    }

    #[test]
    fn round_trips_pseudo_random_buffers() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for len in 0..400 {
            let buf: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    // Mostly zeros, as after ggrs's XOR.
                    if state.is_multiple_of(4) { state as u8 } else { 0 }
                })
                .collect();
            round_trip(&buf);
        }
    }

    #[test]
    fn refuses_hostile_packets() {
        assert_eq!(decode([0x03]), Err(DecodeError::Truncated), "literal without bytes");
        assert_eq!(decode([0x80]), Err(DecodeError::Truncated), "header cut short");
        assert_eq!(decode([0xff; 6]), Err(DecodeError::BadHeader), "endless header");
        let mut huge = Vec::new();
        push_header(&mut huge, MAX_DECODED_LEN + 1, false);
        assert_eq!(decode(&huge), Err(DecodeError::TooLong), "claims a huge zero run");
        let mut two = Vec::new();
        push_header(&mut two, MAX_DECODED_LEN, false);
        push_header(&mut two, 1, false);
        assert_eq!(decode(&two), Err(DecodeError::TooLong), "runs add up past the limit");
    }
}
