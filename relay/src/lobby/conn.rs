//! One connection as the lobby sees it: who it is, where it is, its server round trips.

use std::collections::VecDeque;

use rollgym_protocol::{GameId, ParticipantId, PeerReport, ProbeId, ScreenFacts};

/// Server round-trip samples kept per participant (the median is over these).
const RTT_WINDOW: usize = 20;

#[derive(Debug)]
pub(super) enum Phase {
    /// Connected, no `hello` yet.
    Greeting,
    Waiting,
    /// In a game with the other members of `games[game_id]`.
    Paired {
        game_id: GameId,
    },
    /// A partner left; nothing more happens until this participant leaves too.
    PartnerGone,
    /// Came back to finish a game or deliver data (`hello` with `rejoin`), or after finishing
    /// the experiment; never matched. May leave its scene if its progress says its game there
    /// started.
    Returning,
    /// On a static scene (instructions, a thank-you page).
    Page,
    /// Waited longer than the waiting room's timeout; never matched.
    TimedOut,
    /// Being screened (since the hello, lobby time): the facts the page reported, the relay's
    /// own peer's report, and whether the page offered that peer a connection. Not placed yet.
    Screening {
        since: u64,
        facts: Option<Box<ScreenFacts>>,
        peer: Option<Box<PeerReport>>,
        offered: bool,
    },
    /// Screened out, or its loading timed out: never placed.
    Exited,
}

#[derive(Debug)]
pub(super) struct Conn {
    pub(super) participant: Option<ParticipantId>,
    pub(super) phase: Phase,
    /// Recent server round trips, ms, oldest first.
    pub(super) rtt_samples: VecDeque<u32>,
    /// When this participant entered the waiting room (ms, lobby time).
    pub(super) waiting_since: Option<u64>,
    /// The index of the scene the participant is in.
    pub(super) scene: usize,
    /// The probe this participant is in (it is still waiting); at most one at a time.
    pub(super) probe: Option<ProbeId>,
    /// The probes it was in that have ended, most recent last: their late messages are
    /// expected, not errors. Bounded ([`super::ENDED_PROBES_REMEMBERED`]).
    pub(super) ended_probes: VecDeque<ProbeId>,
}

impl Conn {
    /// A connection that has not said hello yet.
    pub(super) fn new() -> Self {
        Self {
            participant: None,
            phase: Phase::Greeting,
            rtt_samples: VecDeque::with_capacity(RTT_WINDOW),
            waiting_since: None,
            scene: 0,
            probe: None,
            ended_probes: VecDeque::new(),
        }
    }

    /// Keeps the last [`RTT_WINDOW`] round trips.
    pub(super) fn rtt_sample(&mut self, rtt_ms: u32) {
        if self.rtt_samples.len() == RTT_WINDOW {
            self.rtt_samples.pop_front();
        }
        self.rtt_samples.push_back(rtt_ms);
    }

    /// Leaves probe `probe_id`: its late messages are expected from now on. Only the most
    /// recent [`super::ENDED_PROBES_REMEMBERED`] are kept.
    pub(super) fn end_probe(&mut self, probe_id: ProbeId) {
        self.probe = None;
        if self.ended_probes.len() == super::ENDED_PROBES_REMEMBERED {
            self.ended_probes.pop_front();
        }
        self.ended_probes.push_back(probe_id);
    }

    /// Median of the recent server round trips.
    pub(super) fn rtt_ms(&self) -> Option<u32> {
        let samples: Vec<u32> = self.rtt_samples.iter().copied().collect();
        crate::median::median(&samples)
    }
}
