//! Monitoring inside the simulation (`[monitoring]`): how long each player's tab has been
//! hidden, and whether a player's page reported its link to the partner too slow.
//!
//! Both come from flags every input carries ([`Presence`]), and the counters are part of the
//! [`crate::core::game::Game`] state, so rollback restores them and every peer decides the
//! same exclusion at the same frame: no separate agreement protocol, and the data of all
//! players stops at the same row.

use rollgym_protocol::{Exclusion, ExclusionReason, GameConfig, MonitoringConfig};

/// What a player's input says about the player, besides the action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Presence {
    /// The player's tab is visible.
    pub focused: bool,
    /// The player's page found the peer-to-peer round trip over the limit too often.
    pub slow: bool,
}

impl Default for Presence {
    fn default() -> Self {
        Self { focused: true, slow: false }
    }
}

/// The monitoring rules in frames of the game (deterministic, unlike milliseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MonitorPlan {
    pub tab_warning_frames: Option<u32>,
    pub tab_exclude_frames: Option<u32>,
}

impl MonitorPlan {
    pub fn new(monitoring: &MonitoringConfig, game: &GameConfig) -> Self {
        Self {
            tab_warning_frames: monitoring.tab_warning_ms.map(|ms| game.frames(ms).max(1)),
            tab_exclude_frames: monitoring.tab_exclude_ms.map(|ms| game.frames(ms).max(1)),
        }
    }
}

/// The monitoring state of a game: part of what rollback saves.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Monitor {
    plan: MonitorPlan,
    /// Consecutive frames each player's tab has been hidden.
    hidden: Vec<u32>,
    /// Set once monitoring ended the game; nothing is simulated from its frame on.
    ended: Option<Exclusion>,
}

impl Monitor {
    pub fn new(plan: MonitorPlan, players: usize) -> Self {
        Self { plan, hidden: vec![0; players], ended: None }
    }

    /// Takes frame `frame`'s presence flags (empty: everyone present) and returns the
    /// exclusion they decide, if any. Tab exclusion wins over a slow link on the same frame.
    pub fn observe(&mut self, frame: i32, presence: &[Presence]) -> Option<&Exclusion> {
        if self.ended.is_some() {
            return None;
        }
        for (hidden, p) in self.hidden.iter_mut().zip(presence) {
            *hidden = if p.focused { 0 } else { hidden.saturating_add(1) };
        }
        let players = |hit: &dyn Fn(usize) -> bool| -> Vec<u8> {
            (0..self.hidden.len()).filter(|&i| hit(i)).map(|i| i as u8).collect()
        };
        let hidden_out =
            players(&|i| self.plan.tab_exclude_frames.is_some_and(|f| self.hidden[i] >= f));
        let slow = players(&|i| presence.get(i).is_some_and(|p| p.slow));
        let (players, reason) = if !hidden_out.is_empty() {
            (hidden_out, ExclusionReason::TabHidden)
        } else if !slow.is_empty() {
            (slow, ExclusionReason::SlowConnection)
        } else {
            return None;
        };
        self.ended = Some(Exclusion { frame, players, reason });
        self.ended.as_ref()
    }

    /// The exclusion that ended the game, if monitoring did.
    pub fn ended(&self) -> Option<&Exclusion> {
        self.ended.as_ref()
    }

    /// Player `player`'s tab has been hidden long enough to be warned.
    pub fn warned(&self, player: usize) -> bool {
        let hidden = self.hidden.get(player).copied().unwrap_or(0);
        self.plan.tab_warning_frames.is_some_and(|f| hidden >= f)
    }

    /// The counters as canonical bytes for the state hash.
    pub fn write_state(&self, bytes: &mut Vec<u8>) {
        for hidden in &self.hidden {
            bytes.extend_from_slice(&hidden.to_le_bytes());
        }
        bytes.push(u8::from(self.ended.is_some()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HIDDEN: Presence = Presence { focused: false, slow: false };
    const HERE: Presence = Presence { focused: true, slow: false };

    fn monitor() -> Monitor {
        let plan = MonitorPlan { tab_warning_frames: Some(2), tab_exclude_frames: Some(4) };
        Monitor::new(plan, 2)
    }

    #[test]
    fn a_tab_hidden_long_enough_is_warned_then_excluded() {
        let mut m = monitor();
        for frame in 0..3 {
            assert_eq!(m.observe(frame, &[HERE, HIDDEN]), None);
        }
        assert!(m.warned(1) && !m.warned(0));
        let end = m.observe(3, &[HERE, HIDDEN]).cloned().expect("fourth hidden frame");
        assert_eq!(
            end,
            Exclusion { frame: 3, players: vec![1], reason: ExclusionReason::TabHidden }
        );
        assert_eq!(m.observe(4, &[HIDDEN, HIDDEN]), None, "decided once");
        assert_eq!(m.ended(), Some(&end));
    }

    #[test]
    fn coming_back_resets_the_count() {
        let mut m = monitor();
        for frame in 0..10 {
            let p = if frame % 3 == 2 { HERE } else { HIDDEN };
            assert_eq!(m.observe(frame, &[p, HERE]), None, "frame {frame}");
        }
        assert_eq!(m.hidden[0], 1, "the last frame was the first hidden one again");
        assert!(!m.warned(0));
    }

    #[test]
    fn a_slow_link_excludes_the_player_that_reported_it() {
        let mut m = Monitor::new(MonitorPlan::default(), 2);
        let slow = Presence { focused: true, slow: true };
        let end = m.observe(7, &[slow, HERE]).cloned().expect("slow");
        assert_eq!(end.players, vec![0]);
        assert_eq!(end.reason, ExclusionReason::SlowConnection);
    }

    #[test]
    fn no_rules_no_exclusion_and_the_state_bytes_follow_the_counters() {
        let mut m = Monitor::new(MonitorPlan::default(), 2);
        let mut before = Vec::new();
        m.write_state(&mut before);
        for frame in 0..100 {
            assert_eq!(m.observe(frame, &[HIDDEN, HIDDEN]), None);
        }
        let mut after = Vec::new();
        m.write_state(&mut after);
        assert_ne!(before, after);
    }
}
