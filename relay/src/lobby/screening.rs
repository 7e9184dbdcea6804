//! Entry screening in the lobby: an arriving participant is asked for its facts
//! ([`ServerMsg::Screen`]) before it enters the first scene; the rules (`crate::screening`)
//! judge the answer; every decision is one line of `screening.jsonl` ([`Action::LogScreening`]).
//!
//! A participant turned away stays turned away (a reload gets the same exit), one who passed is
//! not asked again; both survive a restart (`restore_screening` reads the file back). A page
//! that does not answer within `[loading] timeout_ms` gets the `loading_failed` exit, which is
//! not remembered: a reload may try again.

use rollgym_protocol::{
    OutcomeName, ParticipantId, ScreenFacts, ScreenRule, ScreeningRecord, ServerMsg,
};

use super::{Action, ConnId, Lobby, Phase, Timer};
use crate::screening::{self, Verdict};

impl Lobby {
    /// Takes the decisions of `screening.jsonl`, oldest first (the last one per participant
    /// counts; loading timeouts decide nothing).
    pub fn restore_screening(&mut self, records: impl IntoIterator<Item = ScreeningRecord>) {
        for record in records.into_iter().filter(|r| !r.timed_out) {
            let decision = match (record.passed, record.failed_rule) {
                (false, Some(rule)) => Some((rule, record.message.unwrap_or_default())),
                _ => None,
            };
            self.screened.insert(record.participant_id, decision);
        }
    }

    /// Whether a greeted participant must be screened (or turned away again) before it is
    /// placed; returns what to do then, or `None` to place it as usual. Only new arrivals
    /// are screened, not participants who were already inside.
    pub(super) fn screen_on_arrival(
        &mut self,
        conn: ConnId,
        participant: &ParticipantId,
        new_arrival: bool,
        now_ms: u64,
    ) -> Option<Vec<Action>> {
        match self.screened.get(participant) {
            Some(Some((rule, message))) => {
                let (rule, message) = (*rule, message.clone());
                return Some(self.turn_away(conn, rule, message));
            }
            Some(None) => return None,
            None => {}
        }
        if !new_arrival || !self.experiment.screening.is_active() {
            return None;
        }
        let state = self.conns.get_mut(&conn)?;
        state.phase = Phase::Screening { since: now_ms };
        let deadline = now_ms + u64::from(self.experiment.loading.timeout_ms);
        self.timers.arm(deadline, Timer::Screening(conn));
        Some(vec![Action::Send(conn, ServerMsg::Screen(self.experiment.screening.request()))])
    }

    /// A page's answer: judged, logged, and the participant placed or turned away.
    pub(super) fn screen_facts(
        &mut self,
        conn: ConnId,
        facts: ScreenFacts,
        now_ms: u64,
    ) -> Vec<Action> {
        let Some(state) = self.conns.get(&conn) else { return Vec::new() };
        let (Phase::Screening { since }, Some(participant)) = (&state.phase, &state.participant)
        else {
            return vec![Action::Refuse(conn, crate::error::RequestError::NotScreening)];
        };
        let (since, participant) = (*since, participant.clone());
        let facts = screening::bound(facts);
        let verdict = screening::judge(&self.experiment.screening, &facts);
        let config = &self.experiment.screening;
        let outcome = self.experiment.outcomes.get(OutcomeName::ScreenedOut);
        let decision = verdict
            .failed
            .map(|rule| (rule, screening::message(config, outcome, rule, &verdict, &facts)));
        let mut record = record(&participant, &facts, &verdict, false, now_ms - since);
        record.message = decision.as_ref().map(|(_, message)| message.clone());
        self.screened.insert(participant.clone(), decision.clone());
        let mut actions = vec![Action::LogScreening(Box::new(record))];
        match decision {
            Some((rule, message)) => {
                tracing::info!(%participant, ?rule, "screened out");
                actions.extend(self.turn_away(conn, rule, message));
            }
            None => actions.extend(self.enter_scene(conn, 0, now_ms)),
        }
        actions
    }

    /// `[loading] timeout_ms` passed: a page still screening gets the `loading_failed` exit.
    pub(super) fn expire_screening(&mut self, conn: ConnId, now_ms: u64) -> Vec<Action> {
        let Some(state) = self.conns.get_mut(&conn) else { return Vec::new() };
        let Phase::Screening { since } = state.phase else { return Vec::new() };
        let Some(participant) = state.participant.clone() else { return Vec::new() };
        state.phase = Phase::Exited;
        tracing::info!(%participant, "loading timed out");
        let facts = ScreenFacts::default();
        let verdict = screening::judge(&Default::default(), &facts);
        let outcome = self.experiment.outcomes.get(OutcomeName::LoadingFailed);
        let message = outcome
            .and_then(|o| o.message.clone())
            .unwrap_or_else(|| self.experiment.loading.message.clone());
        let mut record = record(&participant, &facts, &verdict, true, now_ms - since);
        record.message = Some(message.clone());
        let exit = ServerMsg::exit(
            OutcomeName::LoadingFailed,
            message,
            outcome.and_then(|o| o.completion_code.clone()),
            outcome.and_then(|o| o.redirect_url.clone()),
        );
        vec![Action::LogScreening(Box::new(record)), Action::Send(conn, exit)]
    }

    /// Sends the `screened_out` exit; the participant stays connected (data, a thank-you) but
    /// is never placed.
    fn turn_away(&mut self, conn: ConnId, rule: ScreenRule, message: String) -> Vec<Action> {
        if let Some(state) = self.conns.get_mut(&conn) {
            state.phase = Phase::Exited;
        }
        let outcome = self.experiment.outcomes.get(OutcomeName::ScreenedOut);
        tracing::debug!(conn = conn.0, ?rule, "turned away");
        let exit = ServerMsg::exit(
            OutcomeName::ScreenedOut,
            message,
            outcome.and_then(|o| o.completion_code.clone()),
            outcome.and_then(|o| o.redirect_url.clone()),
        );
        vec![Action::Send(conn, exit)]
    }
}

fn record(
    participant: &ParticipantId,
    facts: &ScreenFacts,
    verdict: &Verdict,
    timed_out: bool,
    duration_ms: u64,
) -> ScreeningRecord {
    ScreeningRecord {
        participant_id: participant.clone(),
        passed: !timed_out && verdict.failed.is_none(),
        failed_rule: verdict.failed,
        timed_out,
        user_agent: facts.user_agent.clone(),
        device: (!timed_out).then_some(verdict.device),
        browser: verdict.browser.clone(),
        window: facts.window,
        screen: facts.screen,
        prompted: facts.prompted,
        custom: facts.custom.clone(),
        message: None,
        duration_ms,
        time_ms: 0,
    }
}
