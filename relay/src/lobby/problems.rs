//! Problems the admin console lists. So far: errors participants' pages report (uncaught
//! errors, unhandled rejections, `console.error` lines), each journaled in
//! `client_errors.jsonl`. Reports are accepted only from participants the relay knows, at most
//! [`REPORTS_PER_MINUTE`] per participant, so a broken or hostile page cannot fill the disk.

use std::collections::{HashMap, VecDeque};

use rollgym_protocol::{ClientErrorRecord, ParticipantId};

use serde::Serialize;

use super::{Action, Lobby};

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
}

/// The problems part of the console's snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProblemsSnapshot {
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
        tracing::info!(participant = %record.participant_id, kind = ?record.kind, "client error reported");
        if problems.recent.len() == RECENT {
            problems.recent.pop_front();
        }
        problems.recent.push_back(record.clone());
        problems.total += 1;
        Ok(vec![Action::LogClientError(Box::new(record))])
    }

    pub(super) fn problems_snapshot(&self) -> ProblemsSnapshot {
        ProblemsSnapshot {
            client_errors: self.problems.total,
            recent_client_errors: self.problems.recent.iter().cloned().collect(),
        }
    }
}
