//! Entry screening in the lobby: an arriving participant is asked for its facts
//! ([`ServerMsg::Screen`]) before it enters the first scene; where the rules need it, the page
//! also meets the relay's own WebRTC peer ([`Action::ScreenPeerOffer`], reported back through
//! [`Lobby::peer_report`]). Once everything asked for is in, the rules (`crate::screening`)
//! judge it; every decision is one line of `screening.jsonl` ([`Action::LogScreening`]).
//!
//! A participant turned away stays turned away (a reload gets the same exit), one who passed is
//! not asked again; both survive a restart (`restore_screening` reads the file back). A page
//! that does not finish within `[loading] timeout_ms` gets the `loading_failed` exit, which is
//! not remembered: a reload may try again.

use rollgym_protocol::{
    OutcomeName, ParticipantId, PeerReport, RttSource, ScreenFacts, ScreenRule, ScreeningRecord,
    ServerMsg, SignalPayload,
};

use super::{Action, ConnId, Lobby, Phase, Timer};
use crate::{
    error::RequestError,
    median::median,
    screening::{self, Verdict},
};

impl Lobby {
    /// Takes the decisions of `screening.jsonl`, oldest first (the last one per participant
    /// counts; loading timeouts decide nothing).
    pub fn restore_screening(&mut self, records: impl IntoIterator<Item = ScreeningRecord>) {
        for record in records {
            if record.timed_out {
                self.loading_failed += 1;
                continue;
            }
            let decision = match (record.passed, record.failed_rule) {
                (false, Some(rule)) => Some((rule, record.message.unwrap_or_default())),
                _ => None,
            };
            if let Some(rtt) = record.webrtc.as_ref().and_then(|p| median(&p.rtt_samples)) {
                self.webrtc_rtt.insert(record.participant_id.clone(), rtt);
            }
            self.screened.insert(record.participant_id, decision);
        }
        self.restore_arrivals();
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
        state.phase = Phase::Screening { since: now_ms, facts: None, peer: None, offered: false };
        let deadline = now_ms + u64::from(self.experiment.loading.timeout_ms);
        self.timers.arm(deadline, Timer::Screening(conn));
        let mut request = self.experiment.screening.request();
        if request.webrtc {
            request.ice_servers = self.experiment.webrtc.ice_servers.clone();
            request.force_relay = self.experiment.webrtc.force_relay;
        }
        Some(vec![Action::Send(conn, ServerMsg::Screen(request))])
    }

    /// Signaling for the relay's own peer: one offer, then trickled candidates.
    pub(super) fn screen_signal(&mut self, conn: ConnId, payload: SignalPayload) -> Vec<Action> {
        let needs_peer = self.experiment.screening.needs_peer();
        let Some(Phase::Screening { offered, peer: None, .. }) =
            self.conns.get_mut(&conn).map(|s| &mut s.phase)
        else {
            return vec![Action::Refuse(conn, RequestError::NotScreening)];
        };
        match payload {
            SignalPayload::Offer { sdp } if needs_peer && !*offered => {
                *offered = true;
                vec![Action::ScreenPeerOffer { conn, sdp }]
            }
            SignalPayload::IceCandidate { candidate, sdp_mid, sdp_m_line_index } if *offered => {
                let (mid, index) = (sdp_mid, sdp_m_line_index);
                vec![Action::ScreenPeerCandidate { conn, candidate, mid, index }]
            }
            _ => vec![Action::Refuse(conn, RequestError::NotScreening)],
        }
    }

    /// The relay's own peer is done with a page.
    pub fn peer_report(&mut self, conn: ConnId, report: PeerReport, now_ms: u64) -> Vec<Action> {
        match self.conns.get_mut(&conn).map(|s| &mut s.phase) {
            Some(Phase::Screening { peer: peer @ None, .. }) => *peer = Some(Box::new(report)),
            // Decided, timed out or gone meanwhile.
            _ => return Vec::new(),
        }
        let actions = self.maybe_decide(conn, now_ms);
        self.settle(Some(conn), actions, now_ms)
    }

    /// A page's facts; judged once everything asked for is in.
    pub(super) fn screen_facts(
        &mut self,
        conn: ConnId,
        facts: ScreenFacts,
        now_ms: u64,
    ) -> Vec<Action> {
        let needs_peer = self.experiment.screening.needs_peer();
        let Some(Phase::Screening { facts: slot @ None, peer, .. }) =
            self.conns.get_mut(&conn).map(|s| &mut s.phase)
        else {
            return vec![Action::Refuse(conn, RequestError::NotScreening)];
        };
        let facts = screening::bound(facts);
        // A page that cannot even start a WebRTC connection fails that rule now.
        if let (true, None, Some(error)) = (needs_peer, &*peer, &facts.webrtc_error) {
            let error = Some(format!("the page could not start WebRTC: {error}"));
            *peer = Some(Box::new(PeerReport { error, ..PeerReport::default() }));
        }
        *slot = Some(Box::new(facts));
        self.maybe_decide(conn, now_ms)
    }

    /// Judges, logs and places or turns away, once the facts (and the peer's report, where
    /// the rules need it) are in.
    fn maybe_decide(&mut self, conn: ConnId, now_ms: u64) -> Vec<Action> {
        let config = &self.experiment.screening;
        let Some(state) = self.conns.get_mut(&conn) else { return Vec::new() };
        let (since, facts, peer) = match &mut state.phase {
            Phase::Screening { since, facts: facts @ Some(_), peer, .. }
                if peer.is_some() || !config.needs_peer() =>
            {
                (*since, facts.take(), peer.take())
            }
            _ => return Vec::new(),
        };
        let (Some(facts), Some(participant)) = (facts, state.participant.clone()) else {
            return Vec::new();
        };
        let verdict = screening::judge(config, &facts, peer.as_deref());
        let outcome = self.experiment.outcomes.get(&OutcomeName::ScreenedOut);
        let decision = verdict
            .failed
            .map(|rule| (rule, screening::message(config, outcome, rule, &verdict, &facts)));
        let mut record = record(&participant, &facts, &verdict, false, now_ms - since);
        if let Some(rtt) = peer.as_ref().and_then(|p| median(&p.rtt_samples)) {
            self.webrtc_rtt.insert(participant.clone(), rtt);
        }
        record.webrtc = peer.map(|p| *p);
        record.message = decision.as_ref().map(|(_, message)| message.clone());
        self.screened.insert(participant.clone(), decision.clone());
        let mut actions = vec![Action::LogScreening(Box::new(record))];
        if config.needs_peer() {
            actions.push(Action::EndScreenPeer(conn));
        }
        match decision {
            Some((rule, message)) => {
                tracing::info!(%participant, ?rule, "screened out");
                actions.extend(self.turn_away(conn, rule, message));
            }
            None => actions.extend(self.enter_scene(conn, 0, now_ms)),
        }
        actions
    }

    /// A participant's server round trip as the scene of `conn` counts it (`rtt_source`):
    /// the screening peer's where it measured one and the scene asks for it, else the
    /// WebSocket's.
    pub(super) fn server_rtt_ms(&self, conn: ConnId) -> Option<u32> {
        let state = self.conns.get(&conn)?;
        let webrtc =
            self.gym_of(conn).is_some_and(|g| g.matchmaking.rtt_source == RttSource::Webrtc);
        let measured = state.participant.as_ref().and_then(|p| self.webrtc_rtt.get(p));
        match (webrtc, measured) {
            (true, Some(&rtt)) => Some(rtt),
            _ => state.rtt_ms(),
        }
    }

    /// `[loading] timeout_ms` passed: a page still screening gets the `loading_failed` exit.
    pub(super) fn expire_screening(&mut self, conn: ConnId, now_ms: u64) -> Vec<Action> {
        let Some(state) = self.conns.get_mut(&conn) else { return Vec::new() };
        let Phase::Screening { since, .. } = state.phase else { return Vec::new() };
        let Some(participant) = state.participant.clone() else { return Vec::new() };
        let old = std::mem::replace(&mut state.phase, Phase::Exited);
        tracing::info!(%participant, "loading timed out");
        self.loading_failed += 1;
        let (facts, peer) = match old {
            Phase::Screening { facts, peer, .. } => (facts.map(|f| *f), peer.map(|p| *p)),
            _ => (None, None),
        };
        let facts = facts.unwrap_or_default();
        let verdict = screening::judge(&Default::default(), &facts, None);
        let outcome = self.experiment.outcomes.get(&OutcomeName::LoadingFailed);
        let message = outcome
            .and_then(|o| o.message.clone())
            .unwrap_or_else(|| self.experiment.loading.message.clone());
        let mut record = record(&participant, &facts, &verdict, true, now_ms - since);
        record.webrtc = peer;
        record.message = Some(message.clone());
        let exit = ServerMsg::exit(
            OutcomeName::LoadingFailed,
            message,
            outcome.and_then(|o| o.completion_code.clone()),
            outcome.and_then(|o| o.redirect_url.clone()),
        );
        vec![
            Action::LogScreening(Box::new(record)),
            Action::EndScreenPeer(conn),
            Action::Send(conn, exit),
        ]
    }

    /// Sends the `screened_out` exit; the participant stays connected (data, a thank-you) but
    /// is never placed.
    fn turn_away(&mut self, conn: ConnId, rule: ScreenRule, message: String) -> Vec<Action> {
        if let Some(state) = self.conns.get_mut(&conn) {
            state.phase = Phase::Exited;
        }
        let outcome = self.experiment.outcomes.get(&OutcomeName::ScreenedOut);
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
        webrtc: None,
        message: None,
        duration_ms,
        time_ms: 0,
    }
}
