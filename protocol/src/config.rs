//! The experiment-config schema (`experiment.toml`), shared so that the relay and any
//! tooling validate it the same way.

use serde::{Deserialize, Serialize};

use crate::{
    BrowserRule, GameConfig, GameConfigError, GymScene, IceServer, LoadingConfig, MatchmakerKind,
    MatchmakingConfig, MonitoringConfig, MonitoringError, OutcomesConfig, RttSource, Scene,
    SceneConfig, SceneId, SceneView, ScreeningConfig, WaitingRoomConfig,
};

/// A whole experiment file. Unknown keys are errors, so a typo in a researcher's config is
/// reported instead of silently ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentConfig {
    pub experiment: ExperimentMeta,
    #[serde(default)]
    pub webrtc: WebRtcConfig,
    #[serde(default)]
    pub game: GameConfig,
    #[serde(default)]
    pub matchmaking: MatchmakingConfig,
    #[serde(default)]
    pub waiting_room: WaitingRoomConfig,
    /// Watching games while they run: hidden tabs, slow peer-to-peer links.
    #[serde(default)]
    pub monitoring: MonitoringConfig,
    /// Checks an arriving participant must pass before entering the experiment.
    #[serde(default)]
    pub screening: ScreeningConfig,
    /// The loading gate: how long screening may take.
    #[serde(default)]
    pub loading: LoadingConfig,
    /// Completion codes, messages and redirects per way of ending (`[outcomes.<name>]`).
    #[serde(default)]
    pub outcomes: OutcomesConfig,
    /// The pages participants go through, in order. Absent: one gym scene made of the
    /// top-level tables (named after `game.scene_id`).
    #[serde(default)]
    pub scenes: Vec<SceneConfig>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentMeta {
    /// Names the data directory (`data/<id>/`), so it follows participant-id rules.
    pub id: String,
    #[serde(default)]
    pub title: String,
}

/// How participants' browsers reach each other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebRtcConfig {
    /// STUN/TURN servers handed to every participant. Empty by default: host candidates only,
    /// which works on one machine or one LAN and never contacts an outside address.
    #[serde(default)]
    pub ice_servers: Vec<IceServer>,
    /// A TURN server that takes time-limited credentials derived from a shared secret
    /// (coturn's `use-auth-secret`): the relay gives every page its own, valid for `ttl_s`.
    #[serde(default)]
    pub turn: Option<TurnConfig>,
    /// Only use TURN relay candidates.
    #[serde(default)]
    pub force_relay: bool,
    /// Where the relay's own WebRTC peer (screening) takes UDP: `"ip:port"` each, port 0 for
    /// an ephemeral one per screening. Empty: the relay's own address with port 0 (loopback
    /// when it listens on every interface; set your public address for a real study).
    #[serde(default)]
    pub server_peer_addrs: Vec<String>,
    /// Screenings run at once by that peer; more wait their turn.
    #[serde(default = "default_server_peer_max_concurrent")]
    pub server_peer_max_concurrent: u32,
}

/// `[webrtc.turn]`: TURN servers sharing a secret with the relay (the "TURN REST API"
/// scheme: username `<expiry>:<who>`, password the base64 HMAC-SHA1 of the username under the
/// secret), so no long-lived TURN password ever reaches a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TurnConfig {
    /// `turn:` or `turns:` urls of the servers.
    pub urls: Vec<String>,
    /// The servers' `static-auth-secret`. Better left out of the file: the relay then reads
    /// `ROLLGYM_TURN_SECRET` at start (and refuses to start without either).
    #[serde(default)]
    pub secret: Option<String>,
    /// Seconds the credentials a page gets stay valid (default 6 hours: longer than any
    /// session, short enough to be useless when copied later).
    #[serde(default = "default_turn_ttl_s")]
    pub ttl_s: u32,
}

fn default_turn_ttl_s() -> u32 {
    6 * 3600
}

fn default_server_peer_max_concurrent() -> u32 {
    64
}

impl Default for WebRtcConfig {
    fn default() -> Self {
        Self {
            ice_servers: Vec::new(),
            turn: None,
            force_relay: false,
            server_peer_addrs: Vec::new(),
            server_peer_max_concurrent: default_server_peer_max_concurrent(),
        }
    }
}

/// A config that parsed but makes no sense.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("experiment.id {0:?} is invalid: {1}")]
    BadExperimentId(String, crate::IdError),
    #[error("webrtc.ice_servers[{0}] has no urls")]
    IceServerWithoutUrls(usize),
    #[error("webrtc.ice_servers[{0}] url {1:?} does not start with stun:, stuns:, turn: or turns:")]
    BadIceUrl(usize, String),
    #[error("webrtc.turn url {0:?} does not start with turn: or turns:")]
    BadTurnUrl(String),
    #[error("webrtc.turn needs at least one url and a ttl_s above 0")]
    EmptyTurn,
    #[error("webrtc.force_relay is set but no turn: server is configured")]
    ForceRelayWithoutTurn,
    #[error(transparent)]
    Game(#[from] GameConfigError),
    #[error(transparent)]
    Monitoring(#[from] MonitoringError),
    #[error("matchmaking.max_server_rtt_ms must be at least 1 for latency_fifo")]
    ZeroRttThreshold,
    #[error("matchmaking.max_p2p_rtt_ms must be at least 1 (leave it out for no probe)")]
    ZeroP2pRttThreshold,
    #[error(
        "scene {0:?}: matchmaking.rtt_source = \"webrtc\" needs screening through the relay's peer ([screening] webrtc = true or max_rtt_ms)"
    )]
    WebrtcRttWithoutScreening(String),
    #[error("waiting_room.timeout_ms must be at least 1000")]
    WaitTooShort,
    #[error("waiting_room.timeout_redirect_url {0:?} must start with https:// or http://")]
    BadRedirect(String),
    #[error("scene id {0:?} is used twice")]
    DuplicateScene(String),
    #[error("the experiment has no gym scene")]
    NoGymScene,
    #[error(
        "scene {scene:?}: game.layout {layout:?} is for {players} players, but matchmaking.group_size is {group_size}"
    )]
    GroupSize { scene: String, layout: String, players: usize, group_size: usize },
    #[error("scene {0:?}: matchmaking.group_size must be 2 to {max}", max = crate::MAX_GROUP_SIZE)]
    BadGroupSize(String),
    #[error(
        "scene {0:?}: game.on_player_leave = \"continue\" is for groups: matchmaking.group_size must be 3 or 4"
    )]
    ContinueInPair(String),

    #[error("screening browser rule: {0}")]
    BadBrowserRule(String),
    #[error("screening.devices is empty: nobody could take part")]
    NoDevices,
    #[error("screening.min_window must be at least 1 x 1")]
    ZeroWindow,
    #[error("loading.timeout_ms must be at least 1000")]
    LoadingTooShort,
    #[error("webrtc.server_peer_addrs entry {0:?} is not an ip:port address")]
    BadPeerAddr(String),
    #[error("webrtc.server_peer_max_concurrent must be at least 1")]
    NoPeerConcurrency,
    #[error("screening.max_rtt_ms and screening.rtt_samples must be at least 1")]
    ZeroRttRule,
    #[error(
        "screening.webrtc_timeout_ms + screening.rtt_time_limit_ms must be shorter than loading.timeout_ms"
    )]
    PeerSlowerThanLoading,
    #[error("outcomes.{0}.redirect_url {1:?} must start with https:// or http://")]
    BadOutcomeRedirect(String, String),
}

impl ExperimentConfig {
    /// Checks what serde cannot: ids, ICE urls, and options that contradict each other.
    pub fn validate(&self) -> Result<(), ConfigError> {
        crate::ParticipantId::parse(&self.experiment.id)
            .map_err(|e| ConfigError::BadExperimentId(self.experiment.id.clone(), e))?;
        for (i, server) in self.webrtc.ice_servers.iter().enumerate() {
            if server.urls.is_empty() {
                return Err(ConfigError::IceServerWithoutUrls(i));
            }
            for url in &server.urls {
                let known = ["stun:", "stuns:", "turn:", "turns:"];
                if !known.iter().any(|scheme| url.starts_with(scheme)) {
                    return Err(ConfigError::BadIceUrl(i, url.clone()));
                }
            }
        }
        if let Some(turn) = &self.webrtc.turn {
            let turn_url = |u: &String| u.starts_with("turn:") || u.starts_with("turns:");
            if let Some(bad) = turn.urls.iter().find(|u| !turn_url(u)) {
                return Err(ConfigError::BadTurnUrl(bad.clone()));
            }
            if turn.urls.is_empty() || turn.ttl_s == 0 {
                return Err(ConfigError::EmptyTurn);
            }
        }
        let has_turn = self.webrtc.turn.is_some()
            || self.webrtc.ice_servers.iter().flat_map(|s| &s.urls).any(|u| u.starts_with("turn"));
        if self.webrtc.force_relay && !has_turn {
            return Err(ConfigError::ForceRelayWithoutTurn);
        }
        let scenes = self.scenes();
        let mut ids = std::collections::HashSet::new();
        for scene in &scenes {
            if !ids.insert(scene.id().clone()) {
                return Err(ConfigError::DuplicateScene(scene.id().to_string()));
            }
            if let Some(gym) = scene.gym() {
                validate_gym(gym)?;
                if gym.matchmaking.rtt_source == RttSource::Webrtc && !self.screening.needs_peer() {
                    return Err(ConfigError::WebrtcRttWithoutScreening(gym.id.to_string()));
                }
            }
        }
        if !scenes.iter().any(|s| s.gym().is_some()) {
            return Err(ConfigError::NoGymScene);
        }
        self.validate_entry()
    }

    /// Screening, loading and outcomes.
    fn validate_entry(&self) -> Result<(), ConfigError> {
        let screening = &self.screening;
        let rules = screening.browsers.iter().flatten().chain(&screening.blocked_browsers);
        for rule in rules {
            BrowserRule::parse(rule).map_err(ConfigError::BadBrowserRule)?;
        }
        if screening.devices.as_ref().is_some_and(Vec::is_empty) {
            return Err(ConfigError::NoDevices);
        }
        if screening.min_window.is_some_and(|[w, h]| w == 0 || h == 0) {
            return Err(ConfigError::ZeroWindow);
        }
        for addr in &self.webrtc.server_peer_addrs {
            if addr.parse::<std::net::SocketAddr>().is_err() {
                return Err(ConfigError::BadPeerAddr(addr.clone()));
            }
        }
        if self.webrtc.server_peer_max_concurrent == 0 {
            return Err(ConfigError::NoPeerConcurrency);
        }
        if screening.max_rtt_ms == Some(0) || screening.rtt_samples == 0 {
            return Err(ConfigError::ZeroRttRule);
        }
        let peer_time =
            u64::from(screening.webrtc_timeout_ms) + u64::from(screening.rtt_time_limit_ms);
        if screening.needs_peer() && peer_time >= u64::from(self.loading.timeout_ms) {
            return Err(ConfigError::PeerSlowerThanLoading);
        }
        if self.loading.timeout_ms < 1000 {
            return Err(ConfigError::LoadingTooShort);
        }
        for (name, outcome) in &self.outcomes {
            if let Some(url) = outcome.redirect_url.as_ref().filter(|u| !is_web_url(u)) {
                return Err(ConfigError::BadOutcomeRedirect(name.as_str().into(), url.clone()));
            }
        }
        Ok(())
    }

    /// The scenes with every setting resolved.
    pub fn scenes(&self) -> Vec<Scene> {
        let gym = |id: &SceneId,
                   game: Option<&GameConfig>,
                   matchmaking: &Option<MatchmakingConfig>,
                   waiting_room: &Option<WaitingRoomConfig>,
                   monitoring: Option<&MonitoringConfig>| {
            let mut game = game.unwrap_or(&self.game).clone();
            game.scene_id = id.clone();
            Scene::Gym(Box::new(GymScene {
                id: id.clone(),
                game,
                matchmaking: matchmaking.clone().unwrap_or_else(|| self.matchmaking.clone()),
                waiting_room: waiting_room.clone().unwrap_or_else(|| self.waiting_room.clone()),
                monitoring: monitoring.unwrap_or(&self.monitoring).clone(),
            }))
        };
        if self.scenes.is_empty() {
            return vec![gym(&self.game.scene_id, None, &None, &None, None)];
        }
        self.scenes
            .iter()
            .map(|scene| match scene {
                SceneConfig::Static { id, title, html, button, completion_code } => {
                    Scene::Static(SceneView::Static {
                        id: id.clone(),
                        title: title.clone(),
                        html: html.clone(),
                        button: button.clone(),
                        completion_code: completion_code.clone(),
                    })
                }
                SceneConfig::Gym { id, game, matchmaking, waiting_room, monitoring } => {
                    gym(id, game.as_deref(), matchmaking, waiting_room, monitoring.as_deref())
                }
            })
            .collect()
    }
}

fn validate_gym(gym: &GymScene) -> Result<(), ConfigError> {
    gym.game.validate()?;
    let group_size = gym.matchmaking.group_size;
    if !(2..=crate::MAX_GROUP_SIZE).contains(&group_size) {
        return Err(ConfigError::BadGroupSize(gym.id.to_string()));
    }
    if group_size < 3 && gym.game.on_player_leave == crate::OnPlayerLeave::Continue {
        return Err(ConfigError::ContinueInPair(gym.id.to_string()));
    }
    if let Some(players) = gym.game.built_in_players().filter(|p| *p != group_size) {
        return Err(ConfigError::GroupSize {
            scene: gym.id.to_string(),
            layout: gym.game.layout.clone(),
            players,
            group_size,
        });
    }

    gym.monitoring.validate()?;
    if gym.matchmaking.kind == MatchmakerKind::LatencyFifo && gym.matchmaking.max_server_rtt_ms == 0
    {
        return Err(ConfigError::ZeroRttThreshold);
    }
    if gym.matchmaking.max_p2p_rtt_ms == Some(0) {
        return Err(ConfigError::ZeroP2pRttThreshold);
    }
    if gym.waiting_room.timeout_ms < 1000 {
        return Err(ConfigError::WaitTooShort);
    }
    if let Some(url) = gym.waiting_room.timeout_redirect_url.as_ref().filter(|u| !is_web_url(u)) {
        return Err(ConfigError::BadRedirect(url.clone()));
    }
    Ok(())
}

fn is_web_url(url: &str) -> bool {
    url.starts_with("https://") || url.starts_with("http://")
}
