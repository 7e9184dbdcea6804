//! One peer-to-peer probe from this participant's side: before the relay matches two waiting
//! participants, they open a probe DataChannel and measure its round trip.
//!
//! Pings go one at a time, the next as soon as the previous pong is back (or timed out), so
//! the measurement needs no timer finer than the session's tick. The report is the median of
//! the answered pings, or `None` when the connection or every ping failed. Both sides measure
//! and report; the relay takes the first report.

use rollgym_protocol::{ProbeId, SignalPayload};

use crate::core::peer_msg::PeerMsg;

/// Pings per probe.
pub const PINGS: u32 = 5;
/// A ping unanswered for this long counts as lost.
pub const PING_TIMEOUT_MS: f64 = 2_000.0;
/// The probe reports whatever it has this long after it was proposed, so it reports before the
/// relay gives up on it (`PROBE_TIMEOUT_MS`, 10 s, counted from the proposal).
pub const REPORT_BY_MS: f64 = 9_000.0;
/// The connection is closed this long after the proposal even if the relay never ends the
/// probe (it restarted).
pub const LINGER_MS: f64 = 15_000.0;

/// What happened on the probe's peer connection.
#[derive(Debug, Clone, PartialEq)]
pub enum ProbeEvent {
    /// Our probe connection produced an offer, answer or ICE candidate for the other side.
    LocalSignal(SignalPayload),
    Open,
    Data(Vec<u8>),
    Closed,
    Failed(String),
}

/// What the probe wants done.
#[derive(Debug, Clone, PartialEq)]
pub enum ProbeOut {
    /// Send on the probe DataChannel.
    Send(Vec<u8>),
    /// Report the measured round trip to the relay.
    Report(Option<u32>),
}

/// One probe, from proposal to report.
#[derive(Debug)]
pub struct Prober {
    id: ProbeId,
    proposed_at: f64,
    opened: bool,
    /// Pings sent so far (also the next sequence number).
    sent: u32,
    /// The ping awaiting its pong: sequence number and when it was sent.
    in_flight: Option<(u32, f64)>,
    samples: Vec<f64>,
    reported: bool,
}

impl Prober {
    pub fn new(id: ProbeId, now_ms: f64) -> Self {
        Self {
            id,
            proposed_at: now_ms,
            opened: false,
            sent: 0,
            in_flight: None,
            samples: Vec::new(),
            reported: false,
        }
    }

    pub fn id(&self) -> &ProbeId {
        &self.id
    }

    /// The DataChannel opened: start pinging.
    pub fn opened(&mut self, now_ms: f64) -> Vec<ProbeOut> {
        if self.opened {
            return Vec::new();
        }
        self.opened = true;
        self.next_ping(now_ms)
    }

    /// A packet from the other side: a ping is answered, a pong of ours is measured. Anything
    /// else is dropped (the other side is untrusted).
    pub fn packet(&mut self, bytes: &[u8], now_ms: f64) -> Vec<ProbeOut> {
        match PeerMsg::decode(bytes) {
            Ok(PeerMsg::Ping { seq, sent_at_ms }) => {
                vec![ProbeOut::Send(PeerMsg::Pong { seq, sent_at_ms }.encode())]
            }
            Ok(PeerMsg::Pong { seq, .. }) => match self.in_flight {
                // Timed on our own clock: the echoed time is not trusted.
                Some((expected, sent_at)) if seq == expected => {
                    self.in_flight = None;
                    self.samples.push((now_ms - sent_at).max(0.0));
                    self.next_ping(now_ms)
                }
                _ => Vec::new(),
            },
            Err(_) => Vec::new(),
        }
    }

    /// Time passes: a lost ping is given up, a probe past its deadline reports.
    pub fn tick(&mut self, now_ms: f64) -> Vec<ProbeOut> {
        if self.reported {
            return Vec::new();
        }
        if now_ms - self.proposed_at >= REPORT_BY_MS {
            return self.report();
        }
        match self.in_flight {
            Some((_, sent_at)) if now_ms - sent_at >= PING_TIMEOUT_MS => {
                self.in_flight = None;
                self.next_ping(now_ms)
            }
            _ => Vec::new(),
        }
    }

    /// The connection failed or closed before the measurement was done.
    pub fn failed(&mut self) -> Vec<ProbeOut> {
        if self.reported {
            return Vec::new();
        }
        self.reported = true;
        vec![ProbeOut::Report(None)]
    }

    /// Past the time the relay can still be expected to end the probe.
    pub fn expired(&self, now_ms: f64) -> bool {
        now_ms - self.proposed_at >= LINGER_MS
    }

    fn next_ping(&mut self, now_ms: f64) -> Vec<ProbeOut> {
        if self.reported {
            return Vec::new();
        }
        if self.sent == PINGS {
            return self.report();
        }
        let seq = self.sent;
        self.sent += 1;
        self.in_flight = Some((seq, now_ms));
        vec![ProbeOut::Send(PeerMsg::Ping { seq, sent_at_ms: now_ms }.encode())]
    }

    fn report(&mut self) -> Vec<ProbeOut> {
        self.reported = true;
        self.in_flight = None;
        vec![ProbeOut::Report(median(&mut self.samples))]
    }
}

/// The median in whole milliseconds (the mean of the middle two for an even count).
fn median(samples: &mut [f64]) -> Option<u32> {
    samples.sort_by(f64::total_cmp);
    let n = samples.len();
    let middle = match n {
        0 => return None,
        _ if n % 2 == 1 => samples[n / 2],
        _ => (samples[n / 2 - 1] + samples[n / 2]) / 2.0,
    };
    Some(middle.round() as u32)
}

#[cfg(test)]
mod tests;
