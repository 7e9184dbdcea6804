//! Where the participant is, with what only that place needs: the waiting room's clock and
//! probe, or a match's partner, game and connection. Leaving a place drops its data as a
//! whole, so nothing of one game can leak into the next.

use rollgym_protocol::{GameConfig, GameEnds, GameId, MonitoringConfig, ParticipantId, PeerInfo};

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

pub(super) struct Match {
    pub(super) game_id: GameId,
    /// Our place in the game's player order.
    pub(super) player_index: u8,
    pub(super) partner: ParticipantId,
    /// Everyone in the game, self included, in player order.
    pub(super) players: Vec<PeerInfo>,
    /// The game's settings and seed from the pairing, until the channel opens and it runs.
    pub(super) announced: Option<(GameConfig, u64)>,
    /// The game, once the channel to the partner opened.
    pub(super) play: Option<Play>,
    /// What the game watches while it runs (`[monitoring]`).
    pub(super) monitoring: MonitoringConfig,
    /// The round trip under `monitoring.max_p2p_rtt_ms`, when set.
    pub(super) link_watch: Option<LinkWatch>,
    /// What each way the game can end gives this participant.
    pub(super) ends: GameEnds,
    pub(super) channel_open: bool,
    pub(super) rtt: RttTracker,
    /// When the relay's "Players found!" countdown ends (local time).
    pub(super) countdown_ends_at: f64,
    pub(super) kickoff: Kickoff,
    /// The relay reported the partner's connection closed.
    pub(super) partner_left_relay: bool,
    /// ggrs has heard nothing from the partner for a while (interrupted, not resumed).
    pub(super) partner_silent: bool,
    /// When the game clock last ticked here.
    pub(super) last_frame_at: Option<f64>,
    /// This page went without a clock tick for longer than the focus-loss timeout (it was
    /// frozen); the partner has given up on us, so an ending connection means `PartnerAway`.
    pub(super) was_frozen: bool,
    /// When every episode was over and confirmed here (local time).
    pub(super) finished_at: Option<f64>,
    /// The partner said every episode is over and confirmed there too.
    pub(super) partner_finished: bool,
    /// The channel closed during play while inputs we already hold still let the game go on
    /// (a partner that finished first and closed its page): it plays on as far as they reach.
    pub(super) partner_closed: bool,
    /// When this page next reports the game's health to the relay (local time).
    pub(super) health_due_at: f64,
    /// Where the feed of a watching admin console is, while one watches (`spectate.rs`).
    pub(super) feed: Option<super::spectate::Feed>,
    /// When the next ping goes while an automatic input delay waits for round trips.
    pub(super) next_handshake_ping: f64,
    /// Path losses of the peer connection during play (`reconnect.rs`).
    pub(super) reconnect: super::reconnect::Reconnect,
}

impl Match {
    pub(super) fn new(
        (game_id, player_index): (GameId, u8),
        partner: ParticipantId,
        players: Vec<PeerInfo>,
        announced: (GameConfig, u64),
        countdown_ends_at: f64,
    ) -> Self {
        Self {
            game_id,
            player_index,
            partner,
            players,
            announced: Some(announced),
            play: None,
            monitoring: MonitoringConfig::default(),
            link_watch: None,
            ends: GameEnds::default(),
            channel_open: false,
            rtt: RttTracker::default(),
            countdown_ends_at,
            kickoff: Kickoff::Connecting,
            partner_left_relay: false,
            partner_silent: false,
            last_frame_at: None,
            was_frozen: false,
            finished_at: None,
            partner_finished: false,
            partner_closed: false,
            health_due_at: 0.0,
            feed: None,
            next_handshake_ping: 0.0,
            reconnect: Default::default(),
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

    /// The partner's address in the netcode: its player index.
    pub(super) fn partner_index(&self) -> crate::core::netcode::PeerAddr {
        let me = self.player_index;
        let other = self.players.iter().find(|p| p.player_index != me);
        crate::core::netcode::PeerAddr(other.map_or(1 - me.min(1), |p| p.player_index))
    }

    pub(super) fn started(&self) -> bool {
        self.kickoff == Kickoff::Started
    }

    /// Whether this page may let go of the game without costing the partner its end: the
    /// partner said it finished, or had [`GRACE_MS`] to (or the channel is gone anyway).
    pub(super) fn partner_released(&self, now_ms: f64) -> bool {
        !self.channel_open
            || self.partner_finished
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
