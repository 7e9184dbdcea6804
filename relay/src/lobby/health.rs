//! How games go, for the admin console: running games with the peer-to-peer health their
//! pages report every few seconds (`ClientMsg::Health`), flagged healthy / degraded /
//! failing, and the games that ended, with their players' outcomes and each episode's parity.
//!
//! Health is only shown, never acted on: the netcode and monitoring decide about the game.

use std::collections::{BTreeMap, VecDeque};

use rollgym_protocol::{GameHealth, GameId, HEALTH_INTERVAL_MS, Outcome, ParticipantId};
use serde::Serialize;

use super::{Action, ConnId, GameState, Lobby, Phase};
use crate::error::RequestError;

/// A round trip above this makes a game degraded.
pub const DEGRADED_RTT_MS: u32 = 150;
/// More rollbacks per second than this make a game degraded.
pub const DEGRADED_ROLLBACKS_PER_S: f64 = 5.0;
/// Simulating further ahead of the confirmed frame than this makes a game degraded.
pub const DEGRADED_FRAMES_BEHIND: u32 = 8;
/// A playing page that has not reported for this long makes its game failing.
pub const SILENT_AFTER_MS: u64 = 3 * HEALTH_INTERVAL_MS as u64;
/// Ended games the console lists (the newest; every ended game is in the match logs and the
/// data directory, and each push carries this list).
const FINISHED_GAMES: usize = 50;

/// How a game goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    Healthy,
    Degraded,
    Failing,
}

/// A player's last report, with the rollback rate since the one before.
#[derive(Debug, Clone)]
pub(super) struct Reported {
    report: GameHealth,
    at_ms: u64,
    rollbacks_per_s: f64,
}

/// One player's health as the console shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlayerHealth {
    pub participant: ParticipantId,
    pub rtt_ms: Option<u32>,
    pub connection: Option<String>,
    pub rollbacks_per_s: f64,
    pub frames_behind: u32,
    pub desyncs: u32,
    pub stalled: bool,
    pub episode: u32,
    pub frame: i32,
    /// How old the report is, ms.
    pub age_ms: u64,
}

/// A running game in the console's table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GameRow {
    pub id: GameId,
    pub scene: usize,
    pub players: Vec<ParticipantId>,
    /// `matched` (countdown, connection check) or `playing`.
    pub state: &'static str,
    pub since_ms: u64,
    pub flag: Flag,
    /// Why it is not healthy: `desync`, `stalled`, `silent`, `slow_link`, `rollbacks`,
    /// `behind`.
    pub reasons: Vec<&'static str>,
    /// Since when it has not been healthy (lobby time).
    pub unhealthy_since_ms: Option<u64>,
    pub health: Vec<PlayerHealth>,
}

/// An ended game in the console's table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FinishedGame {
    pub id: GameId,
    pub scene: usize,
    pub players: Vec<ParticipantId>,
    pub started_ms: u64,
    pub ended_ms: u64,
    /// Each player's outcome as its stored data says (filled in as uploads arrive).
    pub outcomes: Vec<Option<Outcome>>,
    /// Per episode: whether the players' files agree (`None` until both are stored).
    pub parity: BTreeMap<u32, bool>,
}

/// The games part of the lobby's state besides the games themselves.
#[derive(Debug, Default)]
pub(super) struct GameBook {
    pub(super) finished: VecDeque<FinishedGame>,
    /// Parity results of games still running (moved into `finished` when they end).
    pub(super) parity: BTreeMap<GameId, BTreeMap<u32, bool>>,
}

impl Lobby {
    /// A page's health report: kept for its game, or refused when it is not in that game.
    pub(super) fn health(&mut self, conn: ConnId, report: GameHealth, now_ms: u64) -> Vec<Action> {
        let in_game = matches!(
            self.conns.get(&conn).map(|s| &s.phase),
            Some(Phase::Paired { game_id, .. }) if *game_id == report.game_id
        );
        if !in_game || !report.is_plausible() {
            return vec![Action::Refuse(conn, RequestError::NotInGame(report.game_id))];
        }
        if let Some(participant) = self.conns.get(&conn).and_then(|s| s.participant.clone()) {
            self.roster.people.entry(participant).or_default().pending_uploads =
                Some(report.pending_uploads);
        }
        let Some(game) = self.games.get_mut(&report.game_id) else { return Vec::new() };
        let rollbacks_per_s = game.health.get(&conn).map_or(0.0, |before| {
            let seconds = now_ms.saturating_sub(before.at_ms) as f64 / 1000.0;
            let more = report.rollbacks.saturating_sub(before.report.rollbacks) as f64;
            if seconds > 0.0 { more / seconds } else { before.rollbacks_per_s }
        });
        game.health.insert(conn, Reported { report, at_ms: now_ms, rollbacks_per_s });
        let (flag, _) = game_flag(game, now_ms);
        match (flag, game.unhealthy_since) {
            (Flag::Healthy, _) => game.unhealthy_since = None,
            (_, None) => game.unhealthy_since = Some(now_ms),
            _ => {}
        }
        Vec::new()
    }

    /// The running games, most troubled first.
    pub(super) fn game_rows(&self, now_ms: u64) -> Vec<GameRow> {
        let mut rows: Vec<GameRow> = self
            .games
            .iter()
            .map(|(id, game)| {
                let (flag, reasons) = game_flag(game, now_ms);
                let health = game
                    .members
                    .iter()
                    .filter_map(|m| {
                        let reported = game.health.get(m)?;
                        Some(player_health(self.participant_of(*m)?.clone(), reported, now_ms))
                    })
                    .collect();
                GameRow {
                    id: id.clone(),
                    scene: game.scene,
                    players: game.participants.clone(),
                    state: match game.state {
                        GameState::Validating => "matched",
                        GameState::Playing => "playing",
                    },
                    since_ms: game.started_at.unwrap_or(game.matched_at),
                    flag,
                    reasons,
                    unhealthy_since_ms: game.unhealthy_since.filter(|_| flag != Flag::Healthy),
                    health,
                }
            })
            .collect();
        rows.sort_by(|a, b| b.flag.cmp(&a.flag).then_with(|| a.id.cmp(&b.id)));
        rows
    }

    /// A game that was played is over: it joins the finished games.
    pub(super) fn book_finished(&mut self, game_id: &GameId, now_ms: u64) {
        let Some(game) = self.games.get(game_id) else { return };
        let Some(started_ms) = game.started_at else { return };
        let finished = FinishedGame {
            id: game_id.clone(),
            scene: game.scene,
            players: game.participants.clone(),
            started_ms,
            ended_ms: now_ms,
            outcomes: Vec::new(),
            parity: self.book.parity.remove(game_id).unwrap_or_default(),
        };
        if self.book.finished.len() == FINISHED_GAMES {
            self.book.finished.pop_front();
        }
        self.book.finished.push_back(finished);
    }

    /// The parity of one episode of a game, once both files are stored.
    pub(super) fn book_parity(&mut self, game_id: &GameId, episode: u32, equal: bool) {
        if let Some(done) = self.book.finished.iter_mut().find(|g| g.id == *game_id) {
            done.parity.insert(episode, equal);
        } else if self.games.contains_key(game_id) {
            self.book.parity.entry(game_id.clone()).or_default().insert(episode, equal);
        }
    }

    /// The ended games, newest first, with their players' stored outcomes.
    pub(super) fn finished_rows(&self) -> Vec<FinishedGame> {
        self.book
            .finished
            .iter()
            .rev()
            .map(|game| FinishedGame {
                outcomes: game.players.iter().map(|p| self.study_outcome(p, &game.id)).collect(),
                ..game.clone()
            })
            .collect()
    }
}

/// A game's flag and the reasons for it, from its players' last reports.
fn game_flag(game: &super::Game, now_ms: u64) -> (Flag, Vec<&'static str>) {
    let mut reasons = Vec::new();
    if game.state == GameState::Playing {
        let started = game.started_at.unwrap_or(now_ms);
        for member in &game.members {
            let last = game.health.get(member).map_or(started, |r| r.at_ms);
            if now_ms.saturating_sub(last) > SILENT_AFTER_MS {
                reasons.push("silent");
            }
        }
    }
    for reported in game.health.values() {
        let report = &reported.report;
        let checks = [
            (report.desyncs > 0, "desync"),
            (report.stalled, "stalled"),
            (report.rtt_ms.is_some_and(|rtt| rtt > DEGRADED_RTT_MS), "slow_link"),
            (reported.rollbacks_per_s > DEGRADED_ROLLBACKS_PER_S, "rollbacks"),
            (report.frames_behind() > DEGRADED_FRAMES_BEHIND, "behind"),
        ];
        reasons.extend(checks.into_iter().filter(|(bad, _)| *bad).map(|(_, why)| why));
    }
    reasons.sort_unstable();
    reasons.dedup();
    let failing = reasons.iter().any(|r| matches!(*r, "desync" | "stalled" | "silent"));
    let flag = match (failing, reasons.is_empty()) {
        (true, _) => Flag::Failing,
        (false, false) => Flag::Degraded,
        (false, true) => Flag::Healthy,
    };
    (flag, reasons)
}

fn player_health(participant: ParticipantId, reported: &Reported, now_ms: u64) -> PlayerHealth {
    let report = &reported.report;
    PlayerHealth {
        participant,
        rtt_ms: report.rtt_ms,
        connection: report.connection.clone(),
        rollbacks_per_s: (reported.rollbacks_per_s * 10.0).round() / 10.0,
        frames_behind: report.frames_behind(),
        desyncs: report.desyncs,
        stalled: report.stalled,
        episode: report.episode,
        frame: report.frame,
        age_ms: now_ms.saturating_sub(reported.at_ms),
    }
}
