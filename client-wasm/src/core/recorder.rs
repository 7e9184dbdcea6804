//! The dual-buffer recorder: what each frame did, speculative until ggrs confirms it.
//!
//! Every simulated step is written to the speculative buffer, keyed by frame; a re-simulation
//! (after a rollback) overwrites the data but keeps what was true when the frame was first
//! simulated (which inputs were predicted, the time) and counts the re-simulations. When ggrs
//! confirms a frame its row moves, unchanged from then on, into its episode's canonical rows.
//! Only steps are rows: countdown and between-round frames are not part of any episode.

use std::collections::BTreeMap;

/// One frame of an episode: shared columns (identical on both peers once confirmed), then
/// local ones (this peer's view).
#[derive(Debug, Clone, PartialEq)]
pub struct FrameRow {
    /// The simulation frame (not a column; it places rollback events in the sidecar).
    pub frame: i32,
    pub episode: u32,
    /// Step index in the episode, `0..T`.
    pub t: u32,
    pub actions: Vec<u8>,
    pub rewards: Vec<f32>,
    pub terminated: bool,
    pub truncated: bool,
    pub focused: Vec<bool>,
    pub state_hash: u64,
    pub info: Vec<(crate::env::InfoName, i64)>,
    /// Per player: the input was a prediction when this frame was first simulated.
    pub was_speculative: Vec<bool>,
    /// Times this frame was simulated again after its first simulation.
    pub rollbacks: u32,
    /// Wall-clock time (ms since the Unix epoch) of the first simulation.
    pub timestamp_ms: f64,
    /// False only for rows past the last confirmed frame of a partial episode.
    pub confirmed: bool,
}

#[derive(Debug, Default)]
pub struct Recorder {
    speculative: BTreeMap<i32, FrameRow>,
    /// Rows of frames a rollback is about to simulate again, until they are.
    stale: BTreeMap<i32, FrameRow>,
    canonical: BTreeMap<u32, Vec<FrameRow>>,
    /// Highest frame promoted so far.
    confirmed_frame: i32,
}

impl Recorder {
    pub fn new() -> Self {
        Self { confirmed_frame: -1, ..Self::default() }
    }

    /// A rollback loaded `frame`: every row from there on will be simulated again.
    pub fn rolled_back(&mut self, frame: i32) {
        let again = self.speculative.split_off(&frame);
        self.stale.extend(again);
    }

    /// A group member left and the game goes on from `frame` with its default action: rows
    /// after `frame`, final or not, were simulated with its real inputs and are about to be
    /// simulated again (none of them was exported: the caller checks no episode after `frame`
    /// is final).
    pub fn retract_after(&mut self, frame: i32) {
        for rows in self.canonical.values_mut() {
            let keep = rows.iter().take_while(|r| r.frame <= frame).count();
            self.stale.extend(rows.split_off(keep).into_iter().map(|r| (r.frame, r)));
        }
        self.canonical.retain(|_, rows| !rows.is_empty());
        self.rolled_back(frame + 1);
        self.confirmed_frame = self.confirmed_frame.min(frame);
    }

    /// A frame was simulated. `row.was_speculative`, `timestamp_ms` and `rollbacks` are taken
    /// from the first simulation when this is a re-simulation.
    pub fn record(&mut self, frame: i32, mut row: FrameRow) {
        if frame <= self.confirmed_frame {
            // ggrs never re-simulates confirmed frames; ignore rather than corrupt canonical data.
            return;
        }
        if let Some(first) = self.stale.remove(&frame).or_else(|| self.speculative.remove(&frame)) {
            row.was_speculative = first.was_speculative;
            row.timestamp_ms = first.timestamp_ms;
            row.rollbacks = first.rollbacks + 1;
        }
        self.speculative.insert(frame, row);
    }

    /// The requests of one ggrs call are done: rows a rollback did not simulate again (the
    /// frame is no longer a step) are gone.
    pub fn end_batch(&mut self) {
        self.stale.clear();
    }

    /// ggrs confirmed every frame up to `frame`: promote those rows.
    pub fn confirm(&mut self, frame: i32) {
        if frame <= self.confirmed_frame {
            return;
        }
        let later = self.speculative.split_off(&(frame + 1));
        let confirmed = std::mem::replace(&mut self.speculative, later);
        for row in confirmed.into_values() {
            self.canonical.entry(row.episode).or_default().push(row);
        }
        self.confirmed_frame = frame;
    }

    /// The canonical rows of a finished episode (call once its last frame is confirmed).
    pub fn take_episode(&mut self, episode: u32) -> Vec<FrameRow> {
        self.canonical.remove(&episode).unwrap_or_default()
    }

    /// Everything recorded for `episode`, confirmed or not, for an episode cut short: rows past
    /// the last confirmed frame are marked `confirmed = false`.
    pub fn take_partial(&mut self, episode: u32) -> Vec<FrameRow> {
        let mut rows = self.take_episode(episode);
        let unconfirmed = std::mem::take(&mut self.speculative);
        rows.extend(unconfirmed.into_values().filter(|r| r.episode == episode).map(|mut r| {
            r.confirmed = false;
            r
        }));
        rows
    }

    /// The canonical rows of `episode` so far (all of them until it is taken).
    pub fn confirmed_rows(&self, episode: u32) -> &[FrameRow] {
        self.canonical.get(&episode).map_or(&[], Vec::as_slice)
    }

    pub fn confirmed_frame(&self) -> i32 {
        self.confirmed_frame
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(episode: u32, t: u32, action: u8, predicted: bool, time: f64) -> FrameRow {
        FrameRow {
            frame: t as i32,
            episode,
            t,
            actions: vec![action, 4],
            rewards: vec![0.0, 0.0],
            terminated: false,
            truncated: false,
            focused: vec![true, true],
            state_hash: u64::from(action),
            info: Vec::new(),
            was_speculative: vec![false, predicted],
            rollbacks: 0,
            timestamp_ms: time,
            confirmed: true,
        }
    }

    #[test]
    fn retracted_rows_are_simulated_again_keeping_their_first_simulation() {
        let mut r = Recorder::new();
        for t in 0..6 {
            r.record(t as i32, row(0, t, 1, t == 4, 10.0 * f64::from(t)));
        }
        r.confirm(4);
        r.retract_after(2);
        assert_eq!(r.confirmed_frame(), 2);
        r.record(3, row(0, 3, 0, false, 99.0));
        r.record(4, row(0, 4, 0, false, 99.0));
        r.record(5, row(0, 5, 0, false, 99.0));
        r.end_batch();
        r.confirm(5);
        let rows = r.take_episode(0);
        assert_eq!(rows.iter().map(|r| r.actions[0]).collect::<Vec<_>>(), [1, 1, 1, 0, 0, 0]);
        assert_eq!(rows[4].was_speculative, vec![false, true], "as first simulated");
        assert_eq!((rows[4].timestamp_ms, rows[4].rollbacks), (40.0, 1));
    }

    #[test]
    fn rows_are_promoted_only_when_confirmed() {
        let mut r = Recorder::new();
        r.record(0, row(0, 0, 1, false, 10.0));
        r.record(1, row(0, 1, 1, true, 20.0));
        r.confirm(0);
        assert_eq!(r.take_episode(0).len(), 1);
        r.confirm(1);
        assert_eq!(r.take_episode(0).len(), 1);
    }

    #[test]
    fn resimulation_overwrites_data_but_keeps_first_sight() {
        let mut r = Recorder::new();
        r.record(5, row(0, 0, 1, true, 10.0));
        r.record(6, row(0, 1, 1, true, 20.0));
        r.rolled_back(5);
        r.record(5, row(0, 0, 3, false, 99.0));
        r.record(6, row(0, 1, 3, false, 99.0));
        r.end_batch();
        r.rolled_back(6);
        r.record(6, row(0, 1, 2, false, 99.0));
        r.end_batch();
        r.confirm(6);
        let rows = r.take_episode(0);
        assert_eq!(
            rows.iter().map(|r| r.actions[0]).collect::<Vec<_>>(),
            vec![3, 2],
            "latest data"
        );
        assert_eq!(rows.iter().map(|r| r.rollbacks).collect::<Vec<_>>(), vec![1, 2]);
        assert!(rows.iter().all(|r| r.was_speculative == vec![false, true]), "as first simulated");
        assert_eq!(rows[0].timestamp_ms, 10.0);
    }

    #[test]
    fn frames_no_longer_simulated_after_a_rollback_disappear() {
        let mut r = Recorder::new();
        r.record(3, row(0, 0, 1, true, 0.0));
        r.record(4, row(0, 1, 1, true, 0.0));
        r.rolled_back(3);
        r.record(3, row(0, 0, 1, false, 0.0));
        r.end_batch();
        r.confirm(10);
        assert_eq!(r.take_episode(0).len(), 1);
    }

    #[test]
    fn confirmed_rows_never_change() {
        let mut r = Recorder::new();
        r.record(0, row(0, 0, 1, false, 0.0));
        r.confirm(0);
        r.record(0, row(0, 0, 9, false, 0.0));
        assert_eq!(r.take_episode(0)[0].actions[0], 1);
    }

    #[test]
    fn a_partial_episode_marks_unconfirmed_rows() {
        let mut r = Recorder::new();
        for f in 0..5 {
            r.record(f, row(2, f as u32, 1, false, 0.0));
        }
        r.confirm(2);
        let rows = r.take_partial(2);
        assert_eq!(rows.len(), 5);
        assert_eq!(rows.iter().filter(|r| !r.confirmed).count(), 2);
        assert_eq!(rows.iter().map(|r| r.t).collect::<Vec<_>>(), vec![0, 1, 2, 3, 4]);
    }
}
