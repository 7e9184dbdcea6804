//! The round-trip measurement of one screening, sans IO: pings one at a time over the
//! DataChannel (the page echoes each), each answered or given up after [`PING_TIMEOUT_MS`],
//! until enough samples or the time limit. Time is an argument; the caller sends and sleeps.

/// A ping not answered in this long is lost; the next one goes out.
pub const PING_TIMEOUT_MS: u64 = 1_000;

/// First byte of a ping: the page echoes any message it gets, so the relay only counts its
/// own pings coming back.
const PING_TAG: u8 = b'p';

/// What to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Step {
    /// Send these bytes now.
    Send(Vec<u8>),
    /// Nothing before this time (ms), unless a pong arrives.
    Wait(u64),
    /// Enough samples, or the time limit passed.
    Done,
}

#[derive(Debug)]
pub(super) struct Pinger {
    wanted: usize,
    deadline_ms: u64,
    next_seq: u32,
    /// The ping on its way: sequence number and when it left.
    outstanding: Option<(u32, u64)>,
    samples: Vec<u32>,
}

impl Pinger {
    /// `wanted` round trips within `limit_ms` of `now_ms` (the channel opening).
    pub(super) fn new(wanted: u32, limit_ms: u64, now_ms: u64) -> Self {
        Self {
            wanted: wanted as usize,
            deadline_ms: now_ms + limit_ms,
            next_seq: 0,
            outstanding: None,
            samples: Vec::new(),
        }
    }

    pub(super) fn poll(&mut self, now_ms: u64) -> Step {
        if self.samples.len() >= self.wanted || now_ms >= self.deadline_ms {
            return Step::Done;
        }
        if let Some((_, sent)) = self.outstanding {
            let due = sent + PING_TIMEOUT_MS;
            if now_ms < due {
                return Step::Wait(due.min(self.deadline_ms));
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.outstanding = Some((seq, now_ms));
        let mut bytes = vec![PING_TAG];
        bytes.extend_from_slice(&seq.to_be_bytes());
        Step::Send(bytes)
    }

    /// Bytes back from the page: a sample when they are the ping on its way (late, foreign
    /// or malformed bytes are ignored).
    pub(super) fn pong(&mut self, bytes: &[u8], now_ms: u64) {
        let [PING_TAG, a, b, c, d] = bytes else { return };
        let seq = u32::from_be_bytes([*a, *b, *c, *d]);
        if let Some((expected, sent)) = self.outstanding
            && seq == expected
        {
            self.outstanding = None;
            self.samples.push(u32::try_from(now_ms - sent).unwrap_or(u32::MAX));
        }
    }

    pub(super) fn samples(&self) -> &[u32] {
        &self.samples
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(step: Step) -> Vec<u8> {
        match step {
            Step::Send(bytes) => bytes,
            other => panic!("expected a ping, got {other:?}"),
        }
    }

    #[test]
    fn one_ping_at_a_time_until_enough_samples() {
        let mut p = Pinger::new(3, 5_000, 100);
        let first = sent(p.poll(100));
        assert_eq!(p.poll(110), Step::Wait(100 + PING_TIMEOUT_MS), "one at a time");
        p.pong(&first, 112);
        let second = sent(p.poll(112));
        p.pong(&second, 130);
        p.pong(&second, 131);
        let third = sent(p.poll(131));
        p.pong(&third, 141);
        assert_eq!(p.samples(), &[12, 18, 10], "the duplicate was ignored");
        assert_eq!(p.poll(141), Step::Done);
        assert_eq!(crate::median::median(p.samples()), Some(12));
    }

    #[test]
    fn a_lost_ping_is_replaced_and_the_time_limit_ends_it() {
        let mut p = Pinger::new(5, 2_500, 0);
        let lost = sent(p.poll(0));
        let next = sent(p.poll(PING_TIMEOUT_MS));
        assert_ne!(lost, next);
        p.pong(&lost, 1_100);
        assert!(p.samples().is_empty(), "the lost one came too late");
        p.pong(&next, 1_050);
        assert_eq!(p.samples(), &[50]);
        let _ = sent(p.poll(1_050));
        assert_eq!(p.poll(2_000), Step::Wait(2_050));
        assert_eq!(p.poll(2_500), Step::Done);
    }

    #[test]
    fn foreign_bytes_are_ignored() {
        let mut p = Pinger::new(1, 1_000, 0);
        let _ = sent(p.poll(0));
        for bytes in [&b""[..], b"p", b"x\0\0\0\0", b"p\0\0\0\x01", b"p\0\0\0\0\0"] {
            p.pong(bytes, 5);
        }
        assert!(p.samples().is_empty());
    }
}
