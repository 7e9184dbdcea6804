//! A member of a group (three or four players) leaving mid-game. Each remaining page may have
//! confirmed a different number of frames when it notices, so ending where each stands would
//! leave files of different lengths. Instead every remaining page stops, tells the others
//! how far it confirmed (`Packet::Left`), and once it heard every remaining partner (or after
//! [`AGREE_WITHIN_MS`]) cuts the episode after the lowest of those frames: every remaining
//! member keeps the same confirmed rows, and its sidecar says who left and where.
//! A page hearing `Left` from a partner before noticing anything stops the same way. Pairs end
//! as before (`play.rs`): there is nobody to agree with.

use rollgym_protocol::episode::Departure as Recorded;

use super::*;
use crate::core::peer_msg::left_packet;

/// How long a page waits for the other remaining members' frames.
pub(super) const AGREE_WITHIN_MS: f64 = 3_000.0;

/// A departure being agreed on, then the agreement.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Departure {
    /// The player index of the member who left.
    player: u8,
    outcome: Outcome,
    since_ms: f64,
    /// Each remaining page's confirmed frame, this one's included, by player index.
    heard: Vec<(u8, i32)>,
    /// What the sidecars record, once agreed.
    pub(super) settled: Option<Recorded>,
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
        if m.departure.is_some() {
            return self.settle_departure(now_ms);
        }
        let confirmed = m.play.as_ref().map_or(-1, |p| p.netcode.recorded_frame());
        let me = m.player_index;
        m.departure = Some(Departure {
            player,
            outcome,
            since_ms: now_ms,
            heard: vec![(me, confirmed)],
            settled: None,
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
            .map(|l| Command::SendPeer(l.index, left_packet(player, confirmed)))
            .collect();
        commands.extend(self.settle_departure(now_ms));
        commands
    }

    /// A partner says `player` left and how far it confirmed.
    pub(super) fn heard_left(
        &mut self,
        from: u8,
        (player, confirmed): (u8, i32),
        now_ms: f64,
    ) -> Vec<Command> {
        if !self.group_play() && self.departing().is_none() {
            return Vec::new();
        }
        let mut commands = Vec::new();
        if self.departing().is_none() {
            commands = self.member_left(player, Outcome::PartnerDisconnected, now_ms);
        }
        if let Some(d) = self.matched_mut().and_then(|m| m.departure.as_mut())
            && d.settled.is_none()
            && !d.heard.iter().any(|(p, _)| *p == from)
        {
            d.heard.push((from, confirmed));
        }
        commands.extend(self.settle_departure(now_ms));
        commands
    }

    /// The departure under way, if any (the game is stopped meanwhile).
    pub(super) fn departing(&self) -> Option<&Departure> {
        self.matched()?.departure.as_ref()
    }

    /// Ends the game once every remaining partner's frame is in, or the wait is over.
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
            return Vec::new();
        }
        let last_frame = d.heard.iter().map(|(_, f)| *f).min().unwrap_or(-1);
        let mut agreed_by: Vec<u8> = d.heard.iter().map(|(p, _)| *p).collect();
        agreed_by.sort_unstable();
        d.settled = Some(Recorded { player: d.player, last_frame, agreed_by });
        let outcome = d.outcome;
        self.end_after_departure(outcome, last_frame)
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
