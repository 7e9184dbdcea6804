//! Round-trip time over the DataChannel: ping bookkeeping and a median over recent samples.

use std::collections::VecDeque;

use crate::core::peer_msg::PeerMsg;

/// Samples kept for the median. Twenty at two pings a second is the last ten seconds: recent
/// enough to follow a changing network, long enough that one late packet does not move it.
const WINDOW: usize = 20;

/// Tracks pings we sent and the round trips of the pongs that came back.
#[derive(Debug, Default)]
pub struct RttTracker {
    next_seq: u32,
    samples: VecDeque<f64>,
    /// Every sample of the session (bounded), for the research sidecar.
    history: Vec<f64>,
}

/// Samples kept for the session summary: an hour at two pings a second.
const MAX_HISTORY: usize = 7200;

/// Round-trip statistics over a session (as the sidecar records them).
pub use rollgym_protocol::episode::RttStats as RttSummary;

impl RttTracker {
    /// The ping to send now.
    pub fn ping(&mut self, now_ms: f64) -> PeerMsg {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        PeerMsg::Ping { seq, sent_at_ms: now_ms }
    }

    /// Records the round trip of a pong. Pongs with a timestamp from the future or a
    /// sequence number we never sent (a confused or hostile peer) are ignored.
    pub fn pong(&mut self, seq: u32, sent_at_ms: f64, now_ms: f64) -> Option<f64> {
        let rtt = now_ms - sent_at_ms;
        // At two pings a second the counter never wraps within a session.
        let sent_by_us = seq < self.next_seq;
        if !rtt.is_finite() || rtt < 0.0 || !sent_by_us {
            return None;
        }
        if self.samples.len() == WINDOW {
            self.samples.pop_front();
        }
        self.samples.push_back(rtt);
        if self.history.len() < MAX_HISTORY {
            self.history.push(rtt);
        }
        Some(rtt)
    }

    /// Min, median and max of every sample so far.
    pub fn summary(&self) -> Option<RttSummary> {
        let median = median(self.history.iter().copied())?;
        let min = self.history.iter().copied().fold(f64::INFINITY, f64::min);
        let max = self.history.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Some(RttSummary { min, median, max, samples: self.history.len() })
    }

    /// The shortest recent round trip: the path's own delay, without the time a busy page
    /// took to answer.
    pub fn min_recent_ms(&self) -> Option<f64> {
        self.samples.iter().copied().reduce(f64::min)
    }

    /// Round trips in the recent window.
    pub fn recent_samples(&self) -> usize {
        self.samples.len()
    }

    /// Median of the recent round trips, in milliseconds.
    pub fn median_ms(&self) -> Option<f64> {
        median(self.samples.iter().copied())
    }
}

/// Median of a set of finite values (mean of the two middle ones for an even count).
pub fn median(values: impl Iterator<Item = f64>) -> Option<f64> {
    let mut sorted: Vec<f64> = values.collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_recent_samples() {
        let mut rtt = RttTracker::default();
        assert_eq!(rtt.median_ms(), None);
        for (i, sample) in [10.0, 30.0, 20.0].into_iter().enumerate() {
            let PeerMsg::Ping { seq, sent_at_ms } = rtt.ping(i as f64 * 100.0) else {
                unreachable!()
            };
            assert_eq!(rtt.pong(seq, sent_at_ms, sent_at_ms + sample), Some(sample));
        }
        assert_eq!(rtt.median_ms(), Some(20.0));
    }

    #[test]
    fn window_forgets_old_samples() {
        let mut rtt = RttTracker::default();
        for _ in 0..WINDOW {
            let PeerMsg::Ping { seq, .. } = rtt.ping(0.0) else { unreachable!() };
            rtt.pong(seq, 0.0, 500.0);
        }
        for _ in 0..WINDOW {
            let PeerMsg::Ping { seq, .. } = rtt.ping(1000.0) else { unreachable!() };
            rtt.pong(seq, 1000.0, 1002.0);
        }
        assert_eq!(rtt.median_ms(), Some(2.0));
    }

    #[test]
    fn impossible_pongs_are_ignored() {
        let mut rtt = RttTracker::default();
        rtt.ping(0.0);
        assert_eq!(rtt.pong(0, 50.0, 10.0), None, "from the future");
        assert_eq!(rtt.pong(0, f64::NAN, 10.0), None);
        assert_eq!(rtt.pong(99, 0.0, 10.0), None, "never sent");
        assert_eq!(rtt.median_ms(), None);
    }

    #[test]
    fn even_count_median_is_the_middle_mean() {
        assert_eq!(median([4.0, 1.0, 3.0, 2.0].into_iter()), Some(2.5));
    }
}
