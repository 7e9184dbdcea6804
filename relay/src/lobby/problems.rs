//! Problems the admin console lists, found automatically: a participant stuck in one place
//! past a limit, a game not healthy for [`UNHEALTHY_PROBLEM_MS`] or more (a desync among the
//! reasons), a parity mismatch, an upload refused or not stored, a played game's player with
//! no data stored a minute after the end, and errors participants'
//! pages report (uncaught errors, unhandled rejections, `console.error` lines), each of those
//! journaled in `client_errors.jsonl`. Reports are accepted only from participants the relay
//! knows, at most [`REPORTS_PER_MINUTE`] per participant, so a broken or hostile page cannot
//! fill the disk.

use std::collections::{HashMap, VecDeque};

use rollgym_protocol::{ClientErrorRecord, GameId, ParticipantId, Scene};

use serde::Serialize;

use super::{Action, Flag, GameRow, Lobby, ParticipantRow, VALIDATION_TIMEOUT_MS};

/// A game not healthy for this long is a problem.
pub const UNHEALTHY_PROBLEM_MS: u64 = 5_000;
/// How long a participant may stay in one place before it is listed as stuck (a game's own
/// length is added for `playing`; waiting is bounded by the waiting room's own timeout).
const STUCK_CONNECTING_MS: u64 = 2 * 60_000;
const STUCK_MATCHED_MS: u64 = VALIDATION_TIMEOUT_MS + 15_000;
const STUCK_PLAYING_MARGIN_MS: u64 = 60_000;
const STUCK_PAGE_MS: u64 = 30 * 60_000;
/// A played game's player with no data stored this long after the game ended is a problem (its
/// page normally delivers within a second; a closed page delivers when opened again).
const MISSING_DATA_MS: u64 = 60_000;
/// Problems that happened (a mismatch, a refused upload) kept for the console.
const RECENT_EVENTS: usize = 100;

/// One problem, about a participant or a game.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// `stuck`, `unhealthy_game`, `desync`, `parity_mismatch`, `upload_refused`,
    /// `data_missing`.
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub participant: Option<ParticipantId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub game: Option<GameId>,
    /// Since when (lobby time).
    pub since_ms: u64,
    pub detail: String,
}

/// Reports accepted per participant per minute.
pub const REPORTS_PER_MINUTE: u32 = 20;

/// Recent reports the console shows.
const RECENT: usize = 50;

/// Why a client error report was not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReportRefused {
    #[error("this participant has not taken part in this study")]
    UnknownParticipant,
    #[error("too many reports from this participant; try again in a minute")]
    TooMany,
}

#[derive(Debug, Default)]
pub(super) struct Problems {
    /// Per participant: the start of its current minute and the reports in it.
    rates: HashMap<ParticipantId, (u64, u32)>,
    recent: VecDeque<ClientErrorRecord>,
    total: usize,
    /// Problems that happened, newest last.
    events: VecDeque<Problem>,
}

/// The problems part of the console's snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProblemsSnapshot {
    /// Problems now (stuck participants, unhealthy games) and those that happened (parity
    /// mismatches, refused uploads), newest last.
    pub items: Vec<Problem>,
    pub client_errors: usize,
    /// The most recent reports, newest last.
    pub recent_client_errors: Vec<ClientErrorRecord>,
}

impl Lobby {
    /// A page's error report: journaled and kept for the console, or refused.
    pub fn client_error(
        &mut self,
        report: ClientErrorRecord,
        now_ms: u64,
    ) -> Result<Vec<Action>, ReportRefused> {
        if !self.knows(&report.participant_id) {
            return Err(ReportRefused::UnknownParticipant);
        }
        let problems = &mut self.problems;
        let rate = problems.rates.entry(report.participant_id.clone()).or_insert((now_ms, 0));
        if now_ms.saturating_sub(rate.0) >= 60_000 {
            *rate = (now_ms, 0);
        }
        if rate.1 >= REPORTS_PER_MINUTE {
            return Err(ReportRefused::TooMany);
        }
        rate.1 += 1;
        let record = report.bounded();
        // The first line says what went wrong; the whole stack is in the journal.
        let first_line: String =
            record.message.lines().next().unwrap_or("").chars().take(200).collect();
        tracing::info!(
            participant = %record.participant_id,
            kind = ?record.kind,
            message = %first_line,
            "client error reported"
        );
        if problems.recent.len() == RECENT {
            problems.recent.pop_front();
        }
        problems.recent.push_back(record.clone());
        problems.total += 1;
        Ok(vec![Action::LogClientError(Box::new(record))])
    }

    /// Something went wrong that the console should list until the relay restarts.
    pub(super) fn problem_happened(&mut self, problem: Problem) {
        tracing::warn!(kind = problem.kind, detail = %problem.detail, "problem");
        let events = &mut self.problems.events;
        if events.len() == RECENT_EVENTS {
            events.pop_front();
        }
        events.push_back(problem);
    }

    /// The problems now, from the snapshot's own participant and game rows (built once).
    pub(super) fn problems_snapshot(
        &self,
        participants: &[ParticipantRow],
        games: &[GameRow],
        now_ms: u64,
    ) -> ProblemsSnapshot {
        let mut items = self.stuck(participants, now_ms);
        items.extend(unhealthy_games(games, now_ms));
        items.extend(self.missing_data(now_ms));
        items.extend(self.problems.events.iter().cloned());
        ProblemsSnapshot {
            items,
            client_errors: self.problems.total,
            recent_client_errors: self.problems.recent.iter().cloned().collect(),
        }
    }
}

impl Lobby {
    /// Participants in one place for longer than it should take.
    fn stuck(&self, participants: &[ParticipantRow], now_ms: u64) -> Vec<Problem> {
        participants
            .iter()
            .filter_map(|row| {
                let limit = self.stuck_limit_ms(row.place.phase, row.place.scene)?;
                let stayed = now_ms.saturating_sub(row.since_ms);
                (stayed > limit).then(|| Problem {
                    kind: "stuck",
                    detail: format!("{} for {} s", row.place.phase, stayed / 1000),
                    participant: Some(row.id.clone()),
                    game: row.place.game.clone(),
                    since_ms: row.since_ms,
                })
            })
            .collect()
    }

    fn stuck_limit_ms(&self, phase: &str, scene: usize) -> Option<u64> {
        match phase {
            "connecting" | "screening" => Some(STUCK_CONNECTING_MS),
            "matched" => Some(STUCK_MATCHED_MS),
            "page" => Some(STUCK_PAGE_MS),
            "playing" => {
                let game = &self.scenes.get(scene).and_then(Scene::gym)?.game;
                let frame_ms = 1000 / u64::from(game.fps.max(1));
                let episode_ms =
                    u64::from(game.max_steps) * frame_ms + u64::from(game.between_episodes_ms);
                let length = u64::from(game.num_episodes) * episode_ms;
                Some(length + u64::from(game.countdown_ms) + STUCK_PLAYING_MARGIN_MS)
            }
            _ => None,
        }
    }

    /// Players of ended games with no data stored [`MISSING_DATA_MS`] after the end.
    fn missing_data(&self, now_ms: u64) -> Vec<Problem> {
        let overdue = self
            .book
            .finished
            .iter()
            .filter(|game| now_ms.saturating_sub(game.ended_ms) > MISSING_DATA_MS);
        overdue
            .flat_map(|game| {
                game.players.iter().filter(|p| self.study_outcome(p, &game.id).is_none()).map(
                    move |player| Problem {
                        kind: "data_missing",
                        participant: Some(player.clone()),
                        game: Some(game.id.clone()),
                        since_ms: game.ended_ms,
                        detail: format!(
                            "no data stored {} s after the game ended",
                            now_ms.saturating_sub(game.ended_ms) / 1000
                        ),
                    },
                )
            })
            .collect()
    }
}

/// Games not healthy for [`UNHEALTHY_PROBLEM_MS`] or more.
fn unhealthy_games(games: &[GameRow], now_ms: u64) -> Vec<Problem> {
    games
        .iter()
        .filter(|row| row.flag != Flag::Healthy)
        .filter_map(|row| {
            let since = row.unhealthy_since_ms.unwrap_or(row.since_ms);
            let silent_only = row.unhealthy_since_ms.is_none();
            let long = now_ms.saturating_sub(since) >= UNHEALTHY_PROBLEM_MS;
            (long || silent_only).then(|| Problem {
                kind: if row.reasons.contains(&"desync") { "desync" } else { "unhealthy_game" },
                detail: format!("{:?}: {}", row.flag, row.reasons.join(", ")).to_lowercase(),
                participant: None,
                game: Some(row.id.clone()),
                since_ms: since,
            })
        })
        .collect()
}
