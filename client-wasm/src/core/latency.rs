//! Input latency, measured end to end for every local key press: from its `keydown` to the
//! simulation of the frame that applied it, and to the first animation frame that drew that
//! frame (or a later one). With input delay `d` a key sampled for frame `f` is applied at
//! `f + d`, so the measured time is about `d` frames plus the wait for the next clock tick
//! and the next animation frame. All times are wall-clock milliseconds (the same clock for
//! the key, the tick and the drawing).

use std::collections::VecDeque;

use rollgym_protocol::episode::{InputLatency, Spread};

/// Key presses on their way to the screen, and the samples of the episode so far.
#[derive(Debug, Clone, Default)]
pub struct LatencyMeter {
    /// A key pressed since the last frame's input was sampled.
    pressed: Option<f64>,
    /// Presses whose frame is not simulated yet: (frame, pressed at).
    unapplied: VecDeque<(i32, f64)>,
    /// Presses applied but not drawn yet: (frame, pressed at).
    undrawn: VecDeque<(i32, f64)>,
    applied: Vec<f64>,
    drawn: Vec<f64>,
    /// The episode's figures, recomputed when a sample arrives (a few times a second), not
    /// whenever the status is refreshed (every tick).
    summary: InputLatency,
}

/// Presses kept waiting at most (a page that never draws, a hidden tab).
const MAX_WAITING: usize = 256;

impl LatencyMeter {
    /// A key went down at `at_ms`; the next frame's input carries it (the first press counts
    /// when several come between two frames: the later ones changed nothing the game saw).
    pub fn pressed(&mut self, at_ms: f64) {
        self.pressed.get_or_insert(at_ms);
    }

    /// The local input of this tick, carrying any press, applies at `frame`.
    pub fn carried(&mut self, frame: i32) {
        if let Some(at) = self.pressed.take() {
            self.summary.presses += 1;
            push_bounded(&mut self.unapplied, (frame, at));
        }
    }

    /// The game simulated `frame` at `now_ms`.
    pub fn simulated(&mut self, frame: i32, now_ms: f64) {
        let before = self.applied.len();
        while let Some(&(at_frame, at)) = self.unapplied.front().filter(|(f, _)| *f <= frame) {
            self.unapplied.pop_front();
            self.applied.push(now_ms - at);
            push_bounded(&mut self.undrawn, (at_frame, at));
        }
        if self.applied.len() != before {
            self.summary.applied = Spread::of(&mut self.applied);
        }
    }

    /// An animation frame drew the state after `frame` at `now_ms`.
    pub fn drawn(&mut self, frame: i32, now_ms: f64) {
        let before = self.drawn.len();
        while let Some(&(_, at)) = self.undrawn.front().filter(|(f, _)| *f <= frame) {
            self.undrawn.pop_front();
            self.drawn.push(now_ms - at);
        }
        if self.drawn.len() != before {
            self.summary.drawn = Spread::of(&mut self.drawn);
        }
    }

    /// The episode's figures so far.
    pub fn summary(&self) -> InputLatency {
        self.summary
    }

    /// The episode's figures; the next episode starts from none (presses on their way stay).
    pub fn take_episode(&mut self) -> InputLatency {
        self.applied.clear();
        self.drawn.clear();
        std::mem::take(&mut self.summary)
    }
}

fn push_bounded(queue: &mut VecDeque<(i32, f64)>, item: (i32, f64)) {
    if queue.len() >= MAX_WAITING {
        queue.pop_front();
    }
    queue.push_back(item);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_press_is_timed_to_its_frame_and_to_the_screen() {
        let mut meter = LatencyMeter::default();
        meter.pressed(1_000.0);
        meter.pressed(1_010.0); // before the same frame: changes nothing the game saw
        meter.carried(12); // input delay 2 on frame 10
        meter.simulated(10, 1_020.0);
        meter.simulated(11, 1_053.0);
        assert_eq!(meter.summary().applied, None, "not applied yet");
        meter.simulated(12, 1_086.0);
        meter.drawn(11, 1_090.0);
        assert_eq!(meter.summary().drawn, None, "an older frame on screen");
        meter.drawn(12, 1_100.0);
        meter.drawn(13, 1_120.0);
        let summary = meter.take_episode();
        assert_eq!(summary.presses, 1);
        assert_eq!(summary.applied.map(|s| s.max), Some(86.0));
        assert_eq!(summary.drawn.map(|s| s.p50), Some(100.0));
        assert_eq!(meter.summary(), InputLatency::default(), "the next episode starts afresh");
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut samples: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        let spread = Spread::of(&mut samples).expect("samples");
        assert_eq!((spread.p50, spread.p95, spread.max), (50.0, 95.0, 100.0));
        assert_eq!(Spread::of(&mut [7.0]).map(|s| (s.p50, s.p95)), Some((7.0, 7.0)));
        assert_eq!(Spread::of(&mut []), None);
    }

    #[test]
    fn a_frame_simulated_again_after_a_rollback_is_not_counted_twice() {
        let mut meter = LatencyMeter::default();
        meter.pressed(0.0);
        meter.carried(5);
        meter.simulated(5, 40.0);
        meter.simulated(5, 70.0);
        assert_eq!(meter.summary().applied.map(|s| s.max), Some(40.0));
    }
}
