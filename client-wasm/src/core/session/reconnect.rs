//! A game's peer connection (one of a group's) that loses its path mid-game. The page hears
//! ICE go `disconnected` or `failed`: it shows "Reconnecting…", and the side that made the
//! first offer on that connection restarts ICE (the new offer goes through the relay like the first) now and every
//! [`RESTART_EVERY_MS`] until the path is back. Meanwhile the simulation waits at the
//! prediction limit as for a silent partner, so no frame is lost or played twice. Past
//! `reconnection_timeout_ms` the game ends with outcome `reconnection_timeout` and partial
//! data. Every interruption goes into the game's next sidecar.

use rollgym_protocol::episode::Interruption;

use super::*;

/// How often the offering side tries a new ICE restart while the path stays lost: a restart's
/// checks that found nothing (the network was still down) are not retried by the browser.
pub const RESTART_EVERY_MS: f64 = 3_000.0;

/// What the browser says about the game connection's path (`iceConnectionState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IceState {
    /// `connected` or `completed`: packets flow.
    Connected,
    /// `disconnected`: checks stopped getting answers; the browser may still recover it.
    Disconnected,
    /// `failed`: no path left; only an ICE restart brings it back.
    Failed,
}

/// A path loss under way.
#[derive(Debug, Clone, PartialEq)]
struct Outage {
    start_frame: i32,
    since_ms: f64,
    next_restart_ms: f64,
}

/// A match's path losses: those under way (by partner) and those not yet in a sidecar.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Reconnect {
    /// By partner's player index (a list: at most three).
    outages: Vec<(u8, Outage)>,
    unreported: Vec<Interruption>,
}

impl Reconnect {
    /// The interruptions since the game's previous file, for the next one.
    pub(super) fn take_unreported(&mut self) -> Vec<Interruption> {
        std::mem::take(&mut self.unreported)
    }

    fn close(&mut self, partner: u8, now_ms: f64, recovered: bool) -> bool {
        let Some(at) = self.outages.iter().position(|(p, _)| *p == partner) else { return false };
        let (_, outage) = self.outages.swap_remove(at);
        self.unreported.push(Interruption {
            start_frame: outage.start_frame,
            duration_ms: (now_ms - outage.since_ms).max(0.0).round() as u32,
            recovered,
        });
        true
    }
}

impl Session {
    /// The ICE state of the connection to `partner` changed. Before the start and after the
    /// end, the validation and the game's own end deal with a lost connection.
    pub(super) fn ice_state(&mut self, partner: u8, state: IceState, now_ms: f64) -> Vec<Command> {
        let playing = self.status.phase.in_game();
        let frame = self.status.frame;
        let Some(m) = self.matched_mut().filter(|m| playing && m.started() && m.play.is_some())
        else {
            return Vec::new();
        };
        match state {
            IceState::Connected => {
                m.reconnect.close(partner, now_ms, true);
                self.status.reconnecting = !m.reconnect.outages.is_empty();
                Vec::new()
            }
            IceState::Disconnected | IceState::Failed => {
                if !m.reconnect.outages.iter().any(|(p, _)| *p == partner) {
                    let outage =
                        Outage { start_frame: frame, since_ms: now_ms, next_restart_ms: now_ms };
                    m.reconnect.outages.push((partner, outage));
                    self.status.reconnecting = true;
                    self.status.interruptions += 1;
                }
                self.restart_if_due(now_ms)
            }
        }
    }

    /// The ping interval: give up once any path stayed lost past the timeout, else restart
    /// again when due.
    pub(super) fn reconnect_tick(&mut self, now_ms: f64) -> Vec<Command> {
        let Some(m) = self.matched_mut() else { return Vec::new() };
        let Some(play) = &m.play else { return Vec::new() };
        let timeout = f64::from(play.config.reconnection_timeout_ms);
        let lost = m.reconnect.outages.iter().find(|(_, o)| now_ms - o.since_ms >= timeout);
        let Some(partner) = lost.map(|(p, _)| *p) else {
            return self.restart_if_due(now_ms);
        };
        m.reconnect.close(partner, now_ms, false);
        let outcome = Outcome::ReconnectionTimeout;
        if self.group_play() {
            return self.member_left(partner, outcome, now_ms);
        }
        let mut commands = self.partner_gone(outcome);
        if !commands.iter().any(|c| matches!(c, Command::Persist(_))) {
            // No episode under way (a pause between two): an empty partial file of the next
            // one still records the interruption and the ending.
            commands.extend(self.export_empty(outcome));
        }
        commands
    }

    /// The sidecar's list: what happened since the previous file of this game.
    pub(super) fn take_interruptions(&mut self) -> Vec<Interruption> {
        self.matched_mut().map(|m| m.reconnect.take_unreported()).unwrap_or_default()
    }

    fn restart_if_due(&mut self, now_ms: f64) -> Vec<Command> {
        let Some(m) = self.matched_mut() else { return Vec::new() };
        // The side that made the first offer (the lower index) makes every later one: no
        // offer ever crosses another.
        let me = m.player_index;
        let mut commands = Vec::new();
        for (partner, outage) in &mut m.reconnect.outages {
            if *partner > me && now_ms >= outage.next_restart_ms {
                outage.next_restart_ms = now_ms + RESTART_EVERY_MS;
                commands.push(Command::RestartIce(*partner));
            }
        }
        self.status.ice_restarts += commands.len() as u32;
        commands
    }
}
