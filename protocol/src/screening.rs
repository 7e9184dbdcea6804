//! Entry screening: what the relay asks a page to check before the participant enters the
//! experiment, what the page reports, the rules of `[screening]` and the ways a session can end
//! before or outside a game (`[outcomes.<name>]`).
//!
//! The page only reports facts; the relay decides, with the rules here ([`ScreeningConfig`]),
//! so a participant cannot talk its way in and every decision is made (and logged) in one place.

use serde::{Deserialize, Serialize};

/// The largest user-agent string kept; longer ones are cut (they are only recorded and parsed).
pub const MAX_USER_AGENT_LEN: usize = 512;

/// The largest message an embedding page's own rule may give; longer ones are cut.
pub const MAX_CUSTOM_MESSAGE_LEN: usize = 500;

/// Relay -> page: check these before the participant enters the experiment, then answer with
/// [`ScreenFacts`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScreenRequest {
    /// Report only once the window is at least this large (CSS pixels; 0: any), showing
    /// `enlarge_message` until then. Two numbers, not an optional pair: the page's module
    /// decodes this, and every decoder shape costs bytes there.
    #[serde(default)]
    pub min_width: u32,
    #[serde(default)]
    pub min_height: u32,
    #[serde(default)]
    pub enlarge_message: String,
    /// Run the embedding page's own rule (`start({ screen })`) and report its verdict.
    #[serde(default)]
    pub custom: bool,
    /// Open a DataChannel to the relay's own peer ([`crate::ClientMsg::ScreenSignal`]): it
    /// proves WebRTC works here and measures the round trip over UDP. With the games' ICE
    /// servers.
    #[serde(default)]
    pub webrtc: bool,
    #[serde(default)]
    pub ice_servers: Vec<crate::IceServer>,
    #[serde(default)]
    pub force_relay: bool,
}

/// Page -> relay: what the browser says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScreenFacts {
    /// `navigator.userAgent`.
    pub user_agent: String,
    /// `navigator.userAgentData.mobile`, where the browser has it.
    #[serde(default)]
    pub mobile: Option<bool>,
    /// `navigator.maxTouchPoints` (an iPad says "Macintosh" but has touch points).
    #[serde(default)]
    pub touch_points: u32,
    /// `screen.width`, `screen.height`.
    #[serde(default)]
    pub screen: [u32; 2],
    /// `innerWidth`, `innerHeight` when the page reported (after any enlarging).
    #[serde(default)]
    pub window: [u32; 2],
    /// The participant was asked to enlarge the window first.
    #[serde(default)]
    pub prompted: bool,
    /// The embedding page's own rule, when the request asked for it.
    #[serde(default)]
    pub custom: Option<CustomVerdict>,
    /// Why the page could not even start a WebRTC connection (no `RTCPeerConnection`, an
    /// error creating it), when the request asked for one.
    #[serde(default)]
    pub webrtc_error: Option<String>,
}

/// The embedding page's own rule's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomVerdict {
    pub passed: bool,
    /// Shown to a participant the rule turns away.
    #[serde(default)]
    pub message: Option<String>,
}

/// A kind of device, as screening tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Device {
    Desktop,
    Tablet,
    Mobile,
}

/// A screening rule, as named in the data (`failed_rule`) and in `[screening.messages]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScreenRule {
    Device,
    Browser,
    Window,
    /// A DataChannel to the relay's own peer must open.
    Webrtc,
    /// The median round trip over that DataChannel must be within `max_rtt_ms`.
    Rtt,
    Custom,
}

/// What `[screening] max_rtt_ms` does with fewer than `rtt_min_samples` round trips.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TooFewSamples {
    Admit,
    #[default]
    Exclude,
}

/// What the relay's own peer found out about a page ([`ScreenRule::Webrtc`], [`ScreenRule::Rtt`]).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PeerReport {
    /// The DataChannel opened.
    pub connected: bool,
    /// Round trips measured over it, ms, in order.
    pub rtt_samples: Vec<u32>,
    /// The median of `rtt_samples`.
    pub rtt_ms: Option<u32>,
    /// Candidate types the page gathered (`host`, `srflx`, `prflx`, `relay`), from its offer
    /// and its trickled candidates.
    pub candidate_types: Vec<String>,
    /// Why it did not connect, if it did not.
    pub error: Option<String>,
    /// From the page's offer to the end of the measurement.
    pub duration_ms: u64,
}

/// `[screening]`: every rule optional; none set, no screening.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScreeningConfig {
    /// Devices allowed in (`"desktop"`, `"tablet"`, `"mobile"`).
    #[serde(default)]
    pub devices: Option<Vec<Device>>,
    /// Browsers allowed in, each `"name"` or `"name >= version"` (`chrome`, `firefox`, `edge`,
    /// `safari`, `opera`, `samsung`); a browser matching none is turned away.
    #[serde(default)]
    pub browsers: Option<Vec<String>>,
    /// Browsers turned away, same form (`"safari < 16"`, `"firefox"`).
    #[serde(default)]
    pub blocked_browsers: Vec<String>,
    /// The smallest window (width, height) the study works in: a live prompt to enlarge the
    /// window until it is at least this large.
    #[serde(default)]
    pub min_window: Option<[u32; 2]>,
    /// The embedding page's own rule (`start({ screen })`) must pass.
    #[serde(default)]
    pub custom: bool,
    /// A DataChannel to the relay's own WebRTC peer must open (UDP works from this browser
    /// on this network).
    #[serde(default)]
    pub webrtc: bool,
    /// The median round trip over that DataChannel must be at most this (implies `webrtc`).
    #[serde(default)]
    pub max_rtt_ms: Option<u32>,
    /// Round trips to measure (one at a time).
    #[serde(default = "default_rtt_samples")]
    pub rtt_samples: u32,
    /// Fewer than this many answered pings within `rtt_time_limit_ms` is "too few samples".
    #[serde(default = "default_rtt_min_samples")]
    pub rtt_min_samples: u32,
    #[serde(default = "default_rtt_time_limit_ms")]
    pub rtt_time_limit_ms: u32,
    /// What too few samples means for `max_rtt_ms`.
    #[serde(default)]
    pub too_few_samples: TooFewSamples,
    /// How long the DataChannel to the relay's peer may take to open.
    #[serde(default = "default_webrtc_timeout_ms")]
    pub webrtc_timeout_ms: u32,
    /// Messages per rule, replacing the defaults.
    #[serde(default)]
    pub messages: ScreeningMessages,
}

/// `[screening.messages]`: what a participant turned away by each rule reads.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScreeningMessages {
    #[serde(default)]
    pub device: Option<String>,
    #[serde(default)]
    pub browser: Option<String>,
    /// Shown while the window is too small (the prompt).
    #[serde(default)]
    pub window: Option<String>,
    #[serde(default)]
    pub custom: Option<String>,
    #[serde(default)]
    pub webrtc: Option<String>,
    #[serde(default)]
    pub rtt: Option<String>,
}

fn default_rtt_samples() -> u32 {
    5
}

fn default_rtt_min_samples() -> u32 {
    3
}

fn default_rtt_time_limit_ms() -> u32 {
    5_000
}

fn default_webrtc_timeout_ms() -> u32 {
    10_000
}

impl Default for ScreeningConfig {
    fn default() -> Self {
        Self {
            devices: None,
            browsers: None,
            blocked_browsers: Vec::new(),
            min_window: None,
            custom: false,
            webrtc: false,
            max_rtt_ms: None,
            rtt_samples: default_rtt_samples(),
            rtt_min_samples: default_rtt_min_samples(),
            rtt_time_limit_ms: default_rtt_time_limit_ms(),
            too_few_samples: TooFewSamples::default(),
            webrtc_timeout_ms: default_webrtc_timeout_ms(),
            messages: ScreeningMessages::default(),
        }
    }
}

impl ScreeningConfig {
    /// Whether the relay's own peer must meet the page.
    pub fn needs_peer(&self) -> bool {
        self.webrtc || self.max_rtt_ms.is_some()
    }

    /// Whether any rule is set.
    pub fn is_active(&self) -> bool {
        self.devices.is_some()
            || self.browsers.is_some()
            || !self.blocked_browsers.is_empty()
            || self.min_window.is_some()
            || self.custom
            || self.needs_peer()
    }

    /// What to ask of an arriving page.
    pub fn request(&self) -> ScreenRequest {
        let enlarge = self.messages.window.clone().unwrap_or_else(|| {
            "Please make your browser window larger to take part in this study.".into()
        });
        let [min_width, min_height] = self.min_window.unwrap_or_default();
        ScreenRequest {
            min_width,
            min_height,
            enlarge_message: if self.min_window.is_some() { enlarge } else { String::new() },
            custom: self.custom,
            webrtc: self.needs_peer(),
            ice_servers: Vec::new(),
            force_relay: false,
        }
    }
}

/// How a session can end outside a completed game, each with its own `[outcomes.<name>]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeName {
    Completed,
    ScreenedOut,
    WaitTimeout,
    Excluded,
    PartnerLeft,
    PartnerExcluded,
    LoadingFailed,
    /// A newcomer while the study is closed to new arrivals (the admin console's switch).
    StudyClosed,
    /// The researcher ended the game from the admin console.
    EndedByResearcher,
}

/// `[outcomes.<name>]`: what a participant who ends this way gets.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutcomeConfig {
    #[serde(default)]
    pub completion_code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub redirect_url: Option<String>,
}

/// `[outcomes]`: one optional table per [`OutcomeName`] (`[outcomes.screened_out]`); a name
/// that is not an [`OutcomeName`] is an error.
pub type OutcomesConfig = std::collections::BTreeMap<OutcomeName, OutcomeConfig>;

impl OutcomeName {
    pub const ALL: [OutcomeName; 9] = [
        OutcomeName::Completed,
        OutcomeName::ScreenedOut,
        OutcomeName::WaitTimeout,
        OutcomeName::Excluded,
        OutcomeName::PartnerLeft,
        OutcomeName::PartnerExcluded,
        OutcomeName::LoadingFailed,
        OutcomeName::StudyClosed,
        OutcomeName::EndedByResearcher,
    ];

    /// The name as in `[outcomes.<name>]` and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeName::Completed => "completed",
            OutcomeName::ScreenedOut => "screened_out",
            OutcomeName::WaitTimeout => "wait_timeout",
            OutcomeName::Excluded => "excluded",
            OutcomeName::PartnerLeft => "partner_left",
            OutcomeName::PartnerExcluded => "partner_excluded",
            OutcomeName::LoadingFailed => "loading_failed",
            OutcomeName::StudyClosed => "study_closed",
            OutcomeName::EndedByResearcher => "ended_by_researcher",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == name)
    }
}

/// `[loading]`: the one loading gate before the experiment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoadingConfig {
    /// How long screening may take from the page's hello; past it the participant gets the
    /// `loading_failed` outcome.
    pub timeout_ms: u32,
    /// Shown when loading fails (unless `[outcomes.loading_failed]` has a message).
    pub message: String,
}

impl Default for LoadingConfig {
    fn default() -> Self {
        Self {
            timeout_ms: 30_000,
            message:
                "Sorry, the study could not be loaded in your browser. Please try again later."
                    .into(),
        }
    }
}

/// One line of `data/<experiment>/screening.jsonl`: a screening decision, passed or not, with
/// the facts it was made on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScreeningRecord {
    pub participant_id: crate::ParticipantId,
    pub passed: bool,
    /// The first rule that failed; `None` when passed or when loading timed out.
    pub failed_rule: Option<ScreenRule>,
    /// Screening did not finish within `[loading] timeout_ms`.
    #[serde(default)]
    pub timed_out: bool,
    pub user_agent: String,
    pub device: Option<Device>,
    /// Browser name and major version, as parsed from the user agent.
    pub browser: Option<(String, u32)>,
    pub window: [u32; 2],
    pub screen: [u32; 2],
    pub prompted: bool,
    pub custom: Option<CustomVerdict>,
    /// The relay's own peer's findings, when screening asked for it.
    #[serde(default)]
    pub webrtc: Option<PeerReport>,
    /// What the participant was shown when turned away.
    #[serde(default)]
    pub message: Option<String>,
    /// From the hello to the decision.
    pub duration_ms: u64,
    /// Unix time of the decision, ms (stamped by the relay when it logs it).
    #[serde(default)]
    pub time_ms: u64,
}
