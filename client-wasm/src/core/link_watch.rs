//! The peer-to-peer round trip under `[monitoring] max_p2p_rtt_ms`: each ping's round trip is
//! a measurement; one over the limit warns, M of the last N over it trip the watch for good.
//! Tripping only sets a flag in this player's inputs: the exclusion itself is decided in the
//! simulation ([`crate::core::monitor`]), so every peer ends the game at the same frame.

use std::collections::VecDeque;

/// The watch over one game's link.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkWatch {
    limit_ms: f64,
    needed: usize,
    window: usize,
    /// The most recent measurements: over the limit or not.
    recent: VecDeque<bool>,
    tripped: bool,
}

impl LinkWatch {
    /// `[M, N]` = `violations`.
    pub fn new(limit_ms: u32, [needed, window]: [u32; 2]) -> Self {
        let window = (window as usize).max(1);
        Self {
            limit_ms: f64::from(limit_ms),
            needed: (needed as usize).clamp(1, window),
            window,
            recent: VecDeque::with_capacity(window),
            tripped: false,
        }
    }

    /// Takes one round trip; returns whether the watch is (now or already) tripped.
    pub fn measure(&mut self, rtt_ms: f64) -> bool {
        if self.recent.len() == self.window {
            self.recent.pop_front();
        }
        self.recent.push_back(rtt_ms > self.limit_ms);
        self.tripped |= self.recent.iter().filter(|&&over| over).count() >= self.needed;
        self.tripped
    }

    /// M of the last N were over the limit at some point: this player's link is too slow.
    pub fn tripped(&self) -> bool {
        self.tripped
    }

    /// A recent measurement was over the limit: the participant should hear about it.
    pub fn warning(&self) -> bool {
        self.recent.iter().any(|&over| over)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn m_of_the_last_n_trip_it_fewer_only_warn() {
        let mut watch = LinkWatch::new(300, [3, 5]);
        for rtt in [400.0, 50.0, 400.0, 50.0, 50.0, 50.0, 50.0, 50.0] {
            assert!(!watch.measure(rtt), "two of five over: not yet");
        }
        assert!(!watch.warning(), "the two slow ones left the window");
        watch.measure(400.0);
        assert!(watch.warning());
        watch.measure(301.0);
        assert!(!watch.tripped());
        assert!(watch.measure(300.5), "three of the last five over 300");
        for _ in 0..10 {
            assert!(watch.measure(10.0), "tripped for good");
        }
    }

    #[test]
    fn exactly_the_limit_is_not_over_it() {
        let mut watch = LinkWatch::new(300, [1, 1]);
        assert!(!watch.measure(300.0));
        assert!(watch.measure(300.1));
    }
}
