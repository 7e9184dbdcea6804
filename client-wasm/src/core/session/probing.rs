//! The peer-to-peer probe before a match, from this side.

use super::*;

impl Session {
    /// The other side's signaling for our probe (anything for another probe is stale).
    pub(super) fn probe_signal(&self, probe_id: &ProbeId, payload: SignalPayload) -> Vec<Command> {
        match self.lobby().and_then(|l| l.probe.as_ref()) {
            Some(p) if p.id() == probe_id => vec![Command::ApplyProbeSignal(payload)],
            _ => Vec::new(),
        }
    }

    /// The relay decided our probe: its connection closes.
    pub(super) fn probe_ended(&mut self, probe_id: &ProbeId) -> Vec<Command> {
        if let Some(lobby) = self.lobby_mut()
            && lobby.probe.as_ref().is_some_and(|p| p.id() == probe_id)
        {
            lobby.probe = None;
        }
        Vec::new()
    }

    pub(super) fn probe_event(&mut self, event: ProbeEvent, now_ms: f64) -> Vec<Command> {
        let Some(probe) = self.lobby_mut().and_then(|l| l.probe.as_mut()) else {
            return Vec::new();
        };
        let out = match event {
            ProbeEvent::LocalSignal(payload) => {
                let probe_id = probe.id().clone();
                return vec![Command::SendRelay(ClientMsg::ProbeSignal { probe_id, payload })];
            }
            ProbeEvent::Open => probe.opened(now_ms),
            ProbeEvent::Data(bytes) => probe.packet(&bytes, now_ms),
            ProbeEvent::Closed | ProbeEvent::Failed(_) => probe.failed(),
        };
        self.probe_commands(out)
    }

    pub(super) fn probe_tick(&mut self, now_ms: f64) -> Vec<Command> {
        let Some(lobby) = self.lobby_mut() else { return Vec::new() };
        let Some(probe) = &mut lobby.probe else { return Vec::new() };
        if probe.expired(now_ms) {
            lobby.probe = None;
            return Vec::new();
        }
        let out = probe.tick(now_ms);
        self.probe_commands(out)
    }

    pub(super) fn probe_commands(&mut self, out: Vec<ProbeOut>) -> Vec<Command> {
        let Some(probe) = self.lobby().and_then(|l| l.probe.as_ref()) else { return Vec::new() };
        let probe_id = probe.id().clone();
        out.into_iter()
            .map(|o| match o {
                ProbeOut::Send(bytes) => Command::SendProbe(bytes),
                ProbeOut::Report(rtt_ms) => {
                    self.status.probe_rtt_ms = rtt_ms;
                    Command::SendRelay(ClientMsg::ProbeResult {
                        probe_id: probe_id.clone(),
                        rtt_ms,
                    })
                }
            })
            .collect()
    }
}
