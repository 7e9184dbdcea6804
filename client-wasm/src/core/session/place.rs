//! Where the participant is, with what only that place needs: the waiting room's clock and
//! probe, or a match's partners, game and connections (one per partner: a group is a full
//! mesh). Leaving a place drops its data as a whole, so nothing of one game can leak into the
//! next.

use rollgym_protocol::{GameConfig, GameEnds, GameId, MonitoringConfig, ParticipantId, PeerInfo};

use crate::core::status::Outcome;

use super::Play;
use crate::core::{link_watch::LinkWatch, probe::Prober, rtt::RttTracker};

pub(super) enum Place {
    /// Not in a game: being greeted, on a static page, or in the waiting room.
    Lobby(Lobby),
    /// Matched into a game, from the pairing until the next scene or the waiting room.
    Game(Box<Match>),
}

impl Default for Place {
    fn default() -> Self {
        Self::Lobby(Lobby::default())
    }
}

#[derive(Default)]
pub(super) struct Lobby {
    /// When this participant entered the waiting room (local time).
    pub(super) waiting_since: Option<f64>,
    /// The peer-to-peer probe the relay asked for, while waiting.
    pub(super) probe: Option<Prober>,
}

/// How far a match is from its start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kickoff {
    /// The peer connection is being made (and the countdown runs).
    Connecting,
    /// We told the relay our connection works; waiting for the partner's and the countdown.
    Validated,
    /// The relay said every player is connected and the countdown is over: frames count.
    Started,
}

/// How long a finished page keeps the connection for a partner that has not confirmed the
/// end yet (its last inputs from us may still be on the way).
const GRACE_MS: f64 = 5_000.0;

/// One partner and the connection to it.
pub(super) struct Link {
    /// The partner's player index (its address in the netcode).
    pub(super) index: u8,
    pub(super) participant: ParticipantId,
    pub(super) open: bool,
    pub(super) rtt: RttTracker,
    /// The selected candidate pair's type, from getStats.
    pub(super) connection_type: Option<String>,
    /// Payload bytes and messages sent to this partner.
    pub(super) sent: [u64; 2],
    /// The relay reported this partner's connection closed.
    pub(super) left_relay: bool,
    /// ggrs has heard nothing from this partner for a while (interrupted, not resumed).
    pub(super) silent: bool,
    /// This partner said every episode is over and confirmed there too.
    pub(super) finished: bool,
    /// The channel closed during play while inputs we already hold still let the game go on
    /// (a partner that finished first and closed its page): it plays on as far as they reach.
    pub(super) closed: bool,
}

impl Link {
    pub(super) fn new(partner: &PeerInfo) -> Self {
        Self {
            index: partner.player_index,
            participant: partner.participant_id.clone(),
            open: false,
            rtt: RttTracker::default(),
            connection_type: None,
            sent: [0, 0],
            left_relay: false,
            silent: false,
            finished: false,
            closed: false,
        }
    }
}

pub(super) struct Match {
    pub(super) game_id: GameId,
    /// Our place in the game's player order.
    pub(super) player_index: u8,
    /// Every partner, in player order.
    pub(super) links: Vec<Link>,
    /// Everyone in the game, self included, in player order.
    pub(super) players: Vec<PeerInfo>,
    /// The game's settings and seed from the pairing, until the channel opens and it runs.
    pub(super) announced: Option<(GameConfig, u64)>,
    /// The game, once the channel to every partner opened.
    pub(super) play: Option<Play>,
    /// What the game watches while it runs (`[monitoring]`).
    pub(super) monitoring: MonitoringConfig,
    /// The round trip under `monitoring.max_p2p_rtt_ms`, when set.
    pub(super) link_watch: Option<LinkWatch>,
    /// What each way the game can end gives this participant.
    pub(super) ends: GameEnds,
    /// When the relay's "Players found!" countdown ends (local time).
    pub(super) countdown_ends_at: f64,
    pub(super) kickoff: Kickoff,
    /// When the game clock last ticked here.
    pub(super) last_frame_at: Option<f64>,
    /// This page went without a clock tick for longer than the focus-loss timeout (it was
    /// frozen); the partner has given up on us, so an ending connection means `PartnerAway`.
    pub(super) was_frozen: bool,
    /// When every episode was over and confirmed here (local time).
    pub(super) finished_at: Option<f64>,
    /// When this page next reports the game's health to the relay (local time).
    pub(super) health_due_at: f64,
    /// Where the feed of a watching admin console is, while one watches (`spectate.rs`).
    pub(super) feed: Option<super::spectate::Feed>,
    /// When the next ping goes while an automatic input delay waits for round trips.
    pub(super) next_handshake_ping: f64,
    /// Path losses of the peer connection during play (`reconnect.rs`).
    pub(super) reconnect: super::reconnect::Reconnect,
    /// A group member's departure being agreed on, or agreed (`departure.rs`).
    pub(super) departure: Option<super::departure::Departure>,
}

impl Match {
    pub(super) fn new(
        (game_id, player_index): (GameId, u8),
        players: Vec<PeerInfo>,
        announced: (GameConfig, u64),
        countdown_ends_at: f64,
    ) -> Self {
        let links = players.iter().filter(|p| p.player_index != player_index).map(Link::new);
        Self {
            game_id,
            player_index,
            links: links.collect(),
            players,
            announced: Some(announced),
            play: None,
            monitoring: MonitoringConfig::default(),
            link_watch: None,
            ends: GameEnds::default(),
            countdown_ends_at,
            kickoff: Kickoff::Connecting,
            last_frame_at: None,
            was_frozen: false,
            finished_at: None,
            health_due_at: 0.0,
            feed: None,
            next_handshake_ping: 0.0,
            reconnect: Default::default(),
            departure: None,
        }
    }

    /// The game is watched by `monitoring` and ends as `ends` say.
    pub(super) fn watched(mut self, monitoring: MonitoringConfig, ends: GameEnds) -> Self {
        self.link_watch =
            monitoring.max_p2p_rtt_ms.map(|limit| LinkWatch::new(limit, monitoring.rtt_violations));
        self.monitoring = monitoring;
        self.ends = ends;
        self
    }

    /// The link to the partner at player index `index`.
    pub(super) fn link_mut(&mut self, index: u8) -> Option<&mut Link> {
        self.links.iter_mut().find(|l| l.index == index)
    }

    /// The link to the partner `participant`.
    pub(super) fn link_of(&mut self, participant: &ParticipantId) -> Option<&mut Link> {
        self.links.iter_mut().find(|l| l.participant == *participant)
    }

    /// ggrs heard nothing from a partner for a while, or hears it again.
    pub(super) fn note_silence(&mut self, events: &[crate::core::netcode::PeerEvent]) {
        use crate::core::netcode::PeerEvent;
        for event in events {
            let (partner, silent) = match event {
                PeerEvent::Interrupted(p) => (p.0, true),
                PeerEvent::Resumed(p) => (p.0, false),
                PeerEvent::Synchronized(_) | PeerEvent::Disconnected(_) => continue,
            };
            if let Some(link) = self.link_mut(partner) {
                link.silent = silent;
            }
        }
    }

    /// A partner this frame shows to be gone, and how: its channel closed and the inputs we
    /// hold do not reach further, ggrs gave up on it, or the relay said it left and it is
    /// silent.
    pub(super) fn lost_partner(
        &self,
        events: &[crate::core::netcode::PeerEvent],
    ) -> Option<(u8, Outcome)> {
        use crate::core::netcode::PeerEvent;
        let closed = self.links.iter().find(|l| l.closed).filter(|_| !self.can_play_on());
        let away = events.iter().find_map(|e| match e {
            PeerEvent::Disconnected(p) => Some(p.0),
            _ => None,
        });
        let left = self.links.iter().find(|l| l.left_relay && l.silent);
        closed
            .map(|l| (l.index, Outcome::PartnerDisconnected))
            .or(away.map(|p| (p, Outcome::PartnerAway)))
            .or(left.map(|l| (l.index, Outcome::PartnerDisconnected)))
    }

    /// The least direct of the links' connection types, for the console's one-word health
    /// column (`relay` if any link goes through TURN, then `srflx`, `prflx`, `host`).
    pub(super) fn least_direct_connection(&self) -> Option<String> {
        ["relay", "srflx", "prflx", "host"]
            .into_iter()
            .find(|kind| self.links.iter().any(|l| l.connection_type.as_deref() == Some(*kind)))
            .map(str::to_owned)
    }

    /// The median round trip of the slowest link: what the game's pace depends on.
    pub(super) fn rtt_median_ms(&self) -> Option<f64> {
        self.links.iter().filter_map(|l| l.rtt.median_ms()).reduce(f64::max)
    }

    /// The slowest link's round trip statistics, for the sidecar.
    pub(super) fn rtt_summary(&self) -> Option<crate::core::rtt::RttSummary> {
        let slowest = self.links.iter().max_by(|a, b| {
            let median = |l: &Link| l.rtt.median_ms().unwrap_or(-1.0);
            median(a).total_cmp(&median(b))
        })?;
        slowest.rtt.summary()
    }

    /// Every link's connection type, in partner order (one for a pair).
    pub(super) fn connection_types(&self) -> Option<String> {
        let known: Vec<&str> =
            self.links.iter().filter_map(|l| l.connection_type.as_deref()).collect();
        (!known.is_empty()).then(|| known.join(","))
    }

    pub(super) fn started(&self) -> bool {
        self.kickoff == Kickoff::Started
    }

    /// Whether this page may let go of the game without costing a partner its end: every
    /// partner said it finished (or its channel is gone anyway), or had [`GRACE_MS`] to.
    pub(super) fn partner_released(&self, now_ms: f64) -> bool {
        self.links.iter().all(|l| !l.open || l.finished)
            || self.finished_at.is_some_and(|at| now_ms - at >= GRACE_MS)
    }

    /// The next frame to simulate has every player's input here, so it needs nothing more
    /// from the partner (or every episode is already over and confirmed).
    pub(super) fn can_play_on(&self) -> bool {
        self.play.as_ref().is_some_and(|p| {
            let next = i64::from(p.netcode.game().frame);
            p.netcode.is_finished() || i64::from(p.netcode.confirmed_frame()) >= next
        })
    }
}
