//! Going on without a group member who left. The remaining pages agreed on the last frame the
//! leaver played (`core/session/departure.rs`). Every remaining page starts a new ggrs session
//! from its own saved state of the next frame: the leaver is a local player of the lowest
//! remaining index, which feeds it the default action, and a remote one at that page's address
//! for the others. No player is ever disconnected in ggrs (ggrs 0.13.0 panics disconnecting a
//! player whose inputs are caught up; fixed upstream after that release), and no rollback
//! crosses the two sessions. Rows after the agreed frame, final or not, were simulated with the
//! leaver's real inputs: they are replaced (none has left the page yet).

use super::{InputStatus, NetInput, Netcode, PeerAddr};
use crate::{core::game::Game, env::Env};

/// Packets of a partner's next session kept until this page goes on too (a few handshakes'
/// worth: the partner's first sync requests and inputs).
pub(super) const MAX_EARLY: usize = 64;

/// Copies of the recent frames' states, kept only where a group plays on after a departure
/// (`NetSettings::keep_states`). ggrs's own cells are no use for that: it reuses them after
/// `max_prediction + 2` frames, and the agreed frame can lie further back on this page (it is
/// the lowest frame any remaining member confirmed, and a member's confirmed frame trails
/// another's by up to its prediction window plus the input delay).
pub(super) struct Recent<E: Env + 'static> {
    /// How many frames are kept; 0 keeps none.
    keep: usize,
    states: Vec<Game<E>>,
}

impl<E: Env + 'static> Recent<E> {
    pub(super) fn new(keep: usize) -> Self {
        Self { keep, states: Vec::new() }
    }

    /// ggrs saved the state at the start of `game.frame` (again, after a rollback).
    pub(super) fn saved(&mut self, game: &Game<E>) {
        if self.keep == 0 {
            return;
        }
        self.states.retain(|g| g.frame < game.frame);
        if self.states.len() >= self.keep {
            self.states.remove(0);
        }
        self.states.push(game.clone());
    }

    /// The state at the start of `frame`, if still kept.
    fn state(&self, frame: i32) -> Option<Game<E>> {
        self.states.iter().find(|g| g.frame == frame).cloned()
    }
}

impl<E: Env + 'static> Netcode<E> {
    /// A packet from the partner at `from`, of its ggrs session `epoch`: one of the session
    /// before a departure is dropped, one of the session after it kept until this page goes on
    /// too (a partner that settled first is already synchronizing).
    pub fn receive_in(&mut self, from: PeerAddr, epoch: u8, packet: Vec<u8>) {
        match epoch.cmp(&self.epoch) {
            std::cmp::Ordering::Equal => self.receive(from, packet),
            std::cmp::Ordering::Greater if self.early.len() < MAX_EARLY => {
                self.early.push((from, packet));
            }
            _ => {}
        }
    }

    /// The ggrs session's number (0, or 1 after a group went on without a member): packets
    /// are framed with it (`receive_in`).
    pub fn epoch(&self) -> u8 {
        self.epoch
    }

    /// The inputs a frame is played with: after a group's agreed frame, a member who left is
    /// disconnected (its default action) on every peer, whatever its stand-in sent.
    pub(super) fn as_played(
        &self,
        inputs: &[(NetInput, InputStatus)],
    ) -> Vec<(NetInput, InputStatus)> {
        let gone = self.departed.filter(|(_, last)| self.game.frame > *last).map(|(p, _)| p);
        let away = (NetInput { focused: false, ..NetInput::default() }, InputStatus::Disconnected);
        inputs
            .iter()
            .enumerate()
            .map(|(p, input)| if Some(p) == gone { away } else { *input })
            .collect()
    }

    /// Plays on without `player`, whose last frame was `last_frame`, with `host` (the lowest
    /// remaining player index) playing its default action. `Err` (nothing changed) when this
    /// page cannot go back that far: an episode after it is already final here, or the state
    /// of the next frame is gone.
    pub fn continue_without(
        &mut self,
        player: usize,
        last_frame: i32,
        host: usize,
    ) -> Result<(), &'static str> {
        if player == self.local || player >= self.last_inputs.len() || self.epoch > 0 {
            return Err("no such partner");
        }
        if self.confirmed_ends.iter().any(|end| end.frame > last_frame) {
            return Err("a later episode is final");
        }
        let first = last_frame + 1;
        let start = if self.game.frame == first {
            self.game.clone()
        } else {
            self.recent.state(first).ok_or("no state kept")?
        };
        let local = self.local;
        let kinds = (0..self.built.players)
            .map(|p| {
                if p == local || (p == player && local == host) {
                    ggrs::PlayerType::Local
                } else if p == player {
                    ggrs::PlayerType::Remote(super::PeerAddr(host as u8))
                } else {
                    ggrs::PlayerType::Remote(super::PeerAddr(p as u8))
                }
            })
            .collect();
        let session =
            self.built.session(&self.wire, kinds).map_err(|_| "ggrs refused the session")?;
        self.session = session;
        self.base = first;
        self.epoch = 1;
        self.stand_in = (local == host).then_some(player);
        self.departed = Some((player, last_frame));
        self.game = start;
        self.pending_ends.retain(|&frame, _| frame <= last_frame);
        self.pending_exclusion = self.pending_exclusion.take().filter(|e| e.frame <= last_frame);
        self.recorder.retract_after(last_frame);
        self.recorder.end_batch();
        // Only one departure is played on from; a second one ends the game.
        self.recent = Recent::new(0);
        // The old session's packets still queued are for partners' old sessions: dropped; the
        // new session's that came early are its first.
        let mut wire = self.wire.borrow_mut();
        wire.outbox.clear();
        wire.inbox = std::mem::take(&mut self.early);
        Ok(())
    }
}
