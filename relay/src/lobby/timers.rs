//! The lobby's deadlines: when a game's countdown ends, when its connection check runs out,
//! when a probe times out, when a participant's wait does. The driver sleeps until the
//! earliest ([`Lobby::poll_timeout`](super::Lobby::poll_timeout)) instead of ticking blindly,
//! and a tick touches only what is due, not every game.
//!
//! Entries are never removed early: one whose game, probe or wait has ended meanwhile is
//! found stale when it falls due and dropped. Each is armed once per event that starts a
//! deadline, so the heap holds at most the deadlines of the last timeout period.

use std::{cmp::Reverse, collections::BinaryHeap};

use rollgym_protocol::{GameId, ProbeId};

use super::ConnId;

/// What falls due. At equal times they fire in this order (a game starts before its
/// validation would expire; a probe ends before a wait it held up is checked).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Timer {
    /// The "Players found!" countdown of a game is over: it may start.
    Countdown(GameId),
    /// A game must have validated its connections by now.
    Validation(GameId),
    /// A probe's members must have reported by now.
    Probe(ProbeId),
    /// A participant's waiting-room timeout.
    Waiting(ConnId),
    /// A participant's screening must be over by now (`[loading] timeout_ms`).
    Screening(ConnId),
}

#[derive(Debug, Default)]
pub(super) struct Timers(BinaryHeap<Reverse<(u64, Timer)>>);

impl Timers {
    pub(super) fn arm(&mut self, at_ms: u64, timer: Timer) {
        self.0.push(Reverse((at_ms, timer)));
    }

    /// The earliest deadline, possibly of an entry that turns out stale.
    pub(super) fn next(&self) -> Option<u64> {
        self.0.peek().map(|Reverse((at, _))| *at)
    }

    /// The next entry due at `now_ms`, earliest first.
    pub(super) fn pop_due(&mut self, now_ms: u64) -> Option<Timer> {
        if self.next()? > now_ms {
            return None;
        }
        self.0.pop().map(|Reverse((_, timer))| timer)
    }

    /// Whether `timer` is armed to fall due at or before `by_ms`.
    #[cfg(test)]
    pub(super) fn armed_by(&self, timer: &Timer, by_ms: u64) -> bool {
        self.0.iter().any(|Reverse((at, t))| t == timer && *at <= by_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn game() -> GameId {
        GameId::parse("g").expect("id")
    }

    #[test]
    fn entries_fall_due_in_time_order_then_kind_order() {
        let mut timers = Timers::default();
        timers.arm(20, Timer::Waiting(ConnId(1)));
        timers.arm(10, Timer::Validation(game()));
        timers.arm(10, Timer::Countdown(game()));
        assert_eq!(timers.next(), Some(10));
        assert_eq!(timers.pop_due(9), None);
        assert_eq!(timers.pop_due(10), Some(Timer::Countdown(game())));
        assert_eq!(timers.pop_due(10), Some(Timer::Validation(game())));
        assert_eq!(timers.pop_due(19), None);
        assert_eq!(timers.pop_due(25), Some(Timer::Waiting(ConnId(1))));
        assert_eq!(timers.next(), None);
    }
}
