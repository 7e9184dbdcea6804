//! A member of a group (three or four players) leaving mid-game. Each remaining page may have
//! confirmed a different number of frames when it notices, so ending where each stands would
//! leave files of different lengths. Instead every remaining page stops, tells the others
//! how far it confirmed (`Packet::Left`), and once it heard every remaining partner (or after
//! [`AGREE_WITHIN_MS`]) cuts the episode after the lowest of those frames: every remaining
//! member keeps the same confirmed rows, and its sidecar says who left and where.
//! A page hearing `Left` from a partner before noticing anything stops the same way. Pairs end
//! as before (`play.rs`): there is nobody to agree with.
//!
//! With `on_player_leave = "continue"` the others play on from that frame instead, the leaver
//! doing its default action (`Netcode::continue_without`); a second member leaving after that
//! ends the game the same agreed way.

use rollgym_protocol::{OnPlayerLeave, episode::Departure as Recorded};

use super::*;
use crate::core::peer_msg::left_packet;

/// How long a page waits for the other remaining members' frames.
pub(super) const AGREE_WITHIN_MS: f64 = 3_000.0;

/// How often a page asks the remaining members it has not heard from yet: the channel loses
/// packets, `Left` among them.
const ASK_EVERY_MS: f64 = 250.0;

/// How long a group that goes on without a member waits for its new ggrs session to reach
/// every remaining partner before it ends the game after all (a partner's page froze or closed
/// at the same time).
const RESYNC_WITHIN_MS: f64 = 5_000.0;

/// A departure being agreed on, then the agreement.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Departure {
    /// The player index of the member who left.
    player: u8,
    outcome: Outcome,
    since_ms: f64,
    /// When to ask the members not heard from yet again; once settled, when it was.
    next_ask_ms: f64,
    /// Each remaining page's confirmed frame, this one's included, by player index.
    heard: Vec<(u8, i32)>,
    /// What the sidecars record, once agreed.
    pub(super) settled: Option<Recorded>,
    /// A member left after the game went on without another one: this one ends it.
    ends_game: bool,
}

impl Session {
    /// Whether a partner's leaving is agreed on by the group rather than ending the game here
    /// at once: a started game of more than two.
    pub(super) fn group_play(&self) -> bool {
        self.matched().is_some_and(|m| m.started() && m.links.len() > 1)
            && self.status.phase.in_game()
    }

    /// A partner is gone: in a group the remaining members agree where the game ends; a pair's
    /// game ends here at once.
    pub(super) fn lost_member(
        &mut self,
        player: u8,
        outcome: Outcome,
        now_ms: f64,
    ) -> Vec<Command> {
        if self.group_play() {
            self.member_left(player, outcome, now_ms)
        } else {
            self.partner_gone(outcome)
        }
    }

    /// The member at player index `player` left (its channel closed, the relay said so, or
    /// its path could not be restored): stop and tell every other remaining member.
    pub(super) fn member_left(
        &mut self,
        player: u8,
        outcome: Outcome,
        now_ms: f64,
    ) -> Vec<Command> {
        let Place::Game(m) = &mut self.place else { return Vec::new() };
        if let Some(d) = &m.departure
            && (d.settled.is_none() || d.player == player)
        {
            return self.settle_departure(now_ms);
        }
        let ends_game = m.departure.as_ref().is_some_and(|d| d.settled.is_some());
        let confirmed = m.play.as_ref().map_or(-1, |p| p.netcode.recorded_frame());
        let me = m.player_index;
        m.departure = Some(Departure {
            player,
            outcome,
            since_ms: now_ms,
            next_ask_ms: now_ms + ASK_EVERY_MS,
            heard: vec![(me, confirmed)],
            settled: None,
            ends_game,
        });
        if let Some(link) = m.link_mut(player) {
            link.open = false;
        }
        self.status.waiting_for_partner = false;
        let Place::Game(m) = &self.place else { return Vec::new() };
        let mut commands: Vec<Command> = m
            .links
            .iter()
            .filter(|l| l.open)
            .map(|l| Command::SendPeer(l.index, left_packet(player, confirmed, false)))
            .collect();
        commands.extend(self.settle_departure(now_ms));
        commands
    }

    /// A partner says `player` left and how far it confirmed; unless that was an answer, it is
    /// answered with this page's frame (it may not have heard ours).
    pub(super) fn heard_left(
        &mut self,
        from: u8,
        (player, confirmed, answer): (u8, i32, bool),
        now_ms: f64,
    ) -> Vec<Command> {
        let current = self.departing().map(|d| (d.player, d.settled.is_some()));
        let mut commands = match current {
            None if !self.group_play() => return Vec::new(),
            // A late word about a departure already agreed on.
            Some((gone, true)) if gone == player => Vec::new(),
            None | Some((_, true)) => {
                self.member_left(player, Outcome::PartnerDisconnected, now_ms)
            }
            Some((_, false)) => Vec::new(),
        };
        let me = self.matched().map(|m| m.player_index);
        if let Some(d) = self.matched_mut().and_then(|m| m.departure.as_mut())
            && d.player == player
        {
            if d.settled.is_none() && !d.heard.iter().any(|(p, _)| *p == from) {
                d.heard.push((from, confirmed));
            }
            let mine = d.heard.iter().find(|(p, _)| Some(*p) == me).map(|(_, f)| *f);
            if let Some(mine) = mine.filter(|_| !answer) {
                commands.push(Command::SendPeer(from, left_packet(player, mine, true)));
            }
        }
        commands.extend(self.settle_departure(now_ms));
        commands
    }

    /// The departure under way, if any (the game is stopped meanwhile).
    pub(super) fn departing(&self) -> Option<&Departure> {
        self.matched()?.departure.as_ref()
    }

    /// Ends the game, or goes on without the leaver, once every remaining partner's frame is
    /// in or the wait is over.
    pub(super) fn settle_departure(&mut self, now_ms: f64) -> Vec<Command> {
        let Place::Game(m) = &mut self.place else { return Vec::new() };
        let Some(d) = m.departure.as_mut().filter(|d| d.settled.is_none()) else {
            return Vec::new();
        };
        let waiting_for = m
            .links
            .iter()
            .filter(|l| l.open && l.index != d.player)
            .any(|l| !d.heard.iter().any(|(p, _)| *p == l.index));
        if waiting_for && now_ms - d.since_ms < AGREE_WITHIN_MS {
            if now_ms < d.next_ask_ms {
                return Vec::new();
            }
            d.next_ask_ms = now_ms + ASK_EVERY_MS;
            let me = m.player_index;
            let mine = d.heard.iter().find(|(p, _)| *p == me).map_or(-1, |(_, f)| *f);
            let unheard = m.links.iter().filter(|l| l.open && l.index != d.player);
            let unheard = unheard.filter(|l| !d.heard.iter().any(|(p, _)| *p == l.index));
            let ask = left_packet(d.player, mine, false);
            return unheard.map(|l| Command::SendPeer(l.index, ask.clone())).collect();
        }
        d.next_ask_ms = now_ms;
        let last_frame = d.heard.iter().map(|(_, f)| *f).min().unwrap_or(-1);
        let mut agreed_by: Vec<u8> = d.heard.iter().map(|(p, _)| *p).collect();
        agreed_by.sort_unstable();
        let (player, outcome, ends_game) = (d.player, d.outcome, d.ends_game);
        let others = m.links.iter().any(|l| l.open && l.index != player);
        // Going on needs every remaining member's word: all then start from the same frame.
        let play_on = !ends_game
            && !waiting_for
            && others
            && m.play.as_ref().is_some_and(|p| p.config.on_player_leave == OnPlayerLeave::Continue);
        // The lowest remaining index plays the leaver's default action.
        let remaining = m.links.iter().filter(|l| l.open && l.index != player).map(|l| l.index);
        let host = remaining.chain([m.player_index]).min().unwrap_or(m.player_index);
        let went_on = match m.play.as_mut().filter(|_| play_on) {
            Some(play) => {
                play.netcode.continue_without(usize::from(player), last_frame, usize::from(host))
            }
            None => Err(""),
        };
        let continued = went_on.is_ok();
        if let Some(d) = m.departure.as_mut() {
            d.settled = Some(Recorded { player, last_frame, agreed_by, continued });
        }
        match went_on {
            Ok(()) => Vec::new(),
            Err(reason) => {
                if !reason.is_empty() {
                    self.status.last_error = Some(format!("could not play on: {reason}"));
                }
                self.end_after_departure(outcome, last_frame)
            }
        }
    }

    /// A group went on without a member, but its new session has not reached every remaining
    /// partner within [`RESYNC_WITHIN_MS`]: the game ends after the agreed frame after all.
    pub(super) fn resync_overdue(&mut self, now_ms: f64) -> Option<Vec<Command>> {
        let Place::Game(m) = &mut self.place else { return None };
        let d = m.departure.as_mut()?;
        let running = m.play.as_ref().is_some_and(|p| p.netcode.is_running());
        let settled = d.settled.as_mut().filter(|s| s.continued && !running)?;
        if now_ms - d.next_ask_ms < RESYNC_WITHIN_MS {
            return None;
        }
        settled.continued = false;
        let (last_frame, outcome) = (settled.last_frame, d.outcome);
        self.status.last_error = Some("could not play on: a partner is silent".into());
        Some(self.end_after_departure(outcome, last_frame))
    }

    /// The game ends here with the episode under way cut after `last_frame`.
    fn end_after_departure(&mut self, outcome: Outcome, last_frame: i32) -> Vec<Command> {
        let Place::Game(m) = &mut self.place else { return Vec::new() };
        let cut = m.play.as_mut().and_then(|p| p.netcode.take_episode_until(last_frame));
        let mut commands = self.partner_gone(outcome);
        let mut data = match cut {
            Some((episode, rows)) => self.export(episode, rows, outcome, true),
            None => Vec::new(),
        };
        if data.is_empty() {
            // Between two episodes (or before the first row): an empty partial file of the
            // next one still records the departure.
            data = self.export_empty(outcome);
        }
        commands.extend(data);
        commands
    }
}
