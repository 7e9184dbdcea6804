//! The `[game]` table of an experiment: which environment, how episodes run, and the netcode
//! parameters. Sent to both players with their pairing, so both simulate the same game.

use serde::{Deserialize, Serialize};

use crate::{InputDelay, MAX_INPUT_DELAY};

/// The built-in Overcooked layouts and how many chefs (players) each has (the client
/// implements them; the relay validates names and group sizes).
pub const OVERCOOKED_LAYOUTS: [(&str, usize); 7] = [
    ("cramped_room", 2),
    ("asymmetric_advantages", 2),
    ("coordination_ring", 2),
    ("forced_coordination", 2),
    ("counter_circuit", 2),
    ("wide_room_3", 3),
    ("open_kitchen_4", 4),
];

/// The names of [`OVERCOOKED_LAYOUTS`], for messages.
fn overcooked_layout_names() -> String {
    OVERCOOKED_LAYOUTS.map(|(name, _)| name).join(", ")
}

/// The environments the client has built in. Any other `game.env` names one the page
/// supplies (a JavaScript environment given to `start()`), which the relay passes through.
pub const BUILT_IN_ENVS: [&str; 2] = ["overcooked", "slime_volleyball"];

/// An environment name: 1 to 64 letters, digits, `_`, `-` or `.` (the experiment's `[game]
/// env` and a page-supplied environment's `name` follow the same rule).
pub fn is_env_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
}

/// How key presses become actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputMode {
    /// A frame's action is the last key pressed since the previous frame, else "stay".
    #[default]
    Tap,
    /// A held key repeats its action every frame.
    Held,
}

/// What a group does when one of its members leaves mid-game. On the wire and in the config a
/// string (`"end"` or `"continue"`): the page decodes it with the string decoder it has anyway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum OnPlayerLeave {
    /// The game ends for everyone, after the last frame every remaining member confirmed.
    #[default]
    End,
    /// The others play on from that frame, the leaver doing its default action (groups of
    /// three or four only).
    Continue,
}

impl TryFrom<String> for OnPlayerLeave {
    type Error = String;

    fn try_from(value: String) -> Result<Self, String> {
        match value.as_str() {
            "end" => Ok(Self::End),
            "continue" => Ok(Self::Continue),
            _ => Err(format!("on_player_leave is \"end\" or \"continue\", not {value:?}")),
        }
    }
}

impl From<OnPlayerLeave> for String {
    fn from(value: OnPlayerLeave) -> Self {
        match value {
            OnPlayerLeave::End => "end",
            OnPlayerLeave::Continue => "continue",
        }
        .into()
    }
}

/// One game's settings. Every field has a default, so `[game]` may be partial or absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GameConfig {
    /// Names the data directory of this game's files: `data/<experiment>/<scene_id>/`.
    pub scene_id: crate::SceneId,
    /// Environment name: a built-in one ([`BUILT_IN_ENVS`]) or one the page supplies.
    pub env: String,
    /// Overcooked: the kitchen.
    pub layout: String,
    /// Overcooked: steps a full pot cooks.
    pub cook_time: u16,
    /// Slime Volleyball: points that win an episode; 0 plays until `max_steps`.
    pub points_to_win: u16,
    /// Simulation frames per second.
    pub fps: u32,
    /// Steps per episode (the episode is truncated there).
    pub max_steps: u32,
    pub num_episodes: u32,
    /// Reset seed; absent: the relay draws one per game.
    pub seed: Option<u64>,
    /// Derive a different seed for every episode instead of reusing one.
    pub seed_per_episode: bool,
    /// The "Players found!" countdown after a match, during which the players connect.
    pub countdown_ms: u32,
    /// The "Round N starting" pause between episodes.
    pub between_episodes_ms: u32,
    /// Frames between a key press and the frame it acts on, or `"auto"` (`input_delay.rs`).
    pub input_delay: InputDelay,
    /// With `input_delay = "auto"`: the fewest frames it may choose.
    pub input_delay_min: u32,
    /// With `input_delay = "auto"`: the most frames it may choose.
    pub input_delay_max: u32,
    /// Frames the simulation may run ahead of the partner's confirmed input.
    pub max_prediction: u32,
    /// Frames between checksum comparisons; 0 turns desync detection off.
    pub desync_interval: u32,
    /// Absent: the environment's own (tap for Overcooked, held for Slime Volleyball).
    pub input_mode: Option<InputMode>,
    /// A partner unheard from for this long (a frozen or closed page) ends the game.
    pub focus_loss_timeout_ms: u32,
    /// How long a peer connection that lost its path mid-game (ICE `disconnected` or
    /// `failed`) may take to come back through an ICE restart before the game ends with
    /// outcome `reconnection_timeout`. At most `focus_loss_timeout_ms`.
    pub reconnection_timeout_ms: u32,
    /// Shown when the partner leaves.
    pub partner_left_message: String,
    /// A group's answer to a member leaving mid-game.
    pub on_player_leave: OnPlayerLeave,
    /// Shown at the end of the game and when the partner leaves.
    pub completion_code: Option<String>,
}

impl Default for GameConfig {
    fn default() -> Self {
        Self {
            scene_id: crate::SceneId::parse("overcooked").unwrap_or_else(|_| unreachable!()),
            env: "overcooked".into(),
            layout: "cramped_room".into(),
            cook_time: 20,
            points_to_win: 5,
            fps: 30,
            max_steps: 1350,
            num_episodes: 1,
            seed: None,
            seed_per_episode: false,
            countdown_ms: 3000,
            between_episodes_ms: 3000,
            input_delay: InputDelay::Frames(2),
            input_delay_min: 0,
            input_delay_max: 8,
            max_prediction: 12,
            desync_interval: 10,
            input_mode: None,
            focus_loss_timeout_ms: 30_000,
            reconnection_timeout_ms: 10_000,
            partner_left_message: "Your partner has left the game. Thank you for taking part."
                .into(),
            on_player_leave: OnPlayerLeave::End,
            completion_code: None,
        }
    }
}

/// A `[game]` value out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GameConfigError {
    #[error(
        "game.env {0:?} is not a valid environment name: use 1 to 64 letters, digits, '_', '-' or '.' (built in: {envs})",
        envs = BUILT_IN_ENVS.join(", ")
    )]
    BadEnvName(String),
    #[error("game.layout {0:?} is unknown; built in: {layouts}", layouts = overcooked_layout_names())]
    UnknownLayout(String),
    #[error("game.{field} = {value} is out of range {min}..={max}")]
    OutOfRange { field: &'static str, value: u64, min: u64, max: u64 },
    #[error(
        "game.reconnection_timeout_ms = {reconnection} is longer than game.focus_loss_timeout_ms = {focus_loss}: a partner unheard for the focus-loss timeout has left, so the reconnection could never take that long; set reconnection_timeout_ms to at most {focus_loss}"
    )]
    ReconnectionPastFocusLoss { reconnection: u32, focus_loss: u32 },
    #[error("game.input_delay_min = {min} is more than game.input_delay_max = {max}")]
    DelayBoundsCrossed { min: u32, max: u32 },
}

impl GameConfig {
    pub fn validate(&self) -> Result<(), GameConfigError> {
        if !is_env_name(&self.env) {
            return Err(GameConfigError::BadEnvName(self.env.clone()));
        }
        if self.env == "overcooked" && !OVERCOOKED_LAYOUTS.iter().any(|(n, _)| *n == self.layout) {
            return Err(GameConfigError::UnknownLayout(self.layout.clone()));
        }
        let fixed_delay = match self.input_delay {
            InputDelay::Frames(frames) => frames,
            InputDelay::Auto => 0,
        };
        let max_delay = MAX_INPUT_DELAY.into();
        let ranges: [(&'static str, u64, u64, u64); 13] = [
            ("fps", self.fps.into(), 1, 120),
            ("max_steps", self.max_steps.into(), 1, 1_000_000),
            ("num_episodes", self.num_episodes.into(), 1, 1000),
            ("cook_time", self.cook_time.into(), 1, 10_000),
            ("points_to_win", self.points_to_win.into(), 0, 1000),
            ("input_delay", fixed_delay.into(), 0, max_delay),
            ("input_delay_min", self.input_delay_min.into(), 0, max_delay),
            ("input_delay_max", self.input_delay_max.into(), 0, max_delay),
            ("max_prediction", self.max_prediction.into(), 1, 30),
            ("desync_interval", self.desync_interval.into(), 0, 10_000),
            ("focus_loss_timeout_ms", self.focus_loss_timeout_ms.into(), 1000, 3_600_000),
            ("reconnection_timeout_ms", self.reconnection_timeout_ms.into(), 1000, 3_600_000),
            ("countdown_ms", self.countdown_ms.into(), 0, 60_000),
        ];
        for (field, value, min, max) in ranges {
            if !(min..=max).contains(&value) {
                return Err(GameConfigError::OutOfRange { field, value, min, max });
            }
        }
        if self.input_delay_min > self.input_delay_max {
            let (min, max) = (self.input_delay_min, self.input_delay_max);
            return Err(GameConfigError::DelayBoundsCrossed { min, max });
        }
        if self.reconnection_timeout_ms > self.focus_loss_timeout_ms {
            return Err(GameConfigError::ReconnectionPastFocusLoss {
                reconnection: self.reconnection_timeout_ms,
                focus_loss: self.focus_loss_timeout_ms,
            });
        }
        if self.between_episodes_ms > 60_000 {
            let value = self.between_episodes_ms.into();
            return Err(GameConfigError::OutOfRange {
                field: "between_episodes_ms",
                value,
                min: 0,
                max: 60_000,
            });
        }
        Ok(())
    }

    /// The delay a game starts its netcode with: the fixed one, or with `"auto"` the minimum
    /// until the relay's `start` says which was chosen.
    pub fn first_input_delay(&self) -> u32 {
        match self.input_delay {
            InputDelay::Frames(frames) => frames,
            InputDelay::Auto => self.input_delay_min,
        }
    }

    /// How many players the built-in environment this game names is for (`None` for one the
    /// page supplies: its page checks).
    pub fn built_in_players(&self) -> Option<usize> {
        match self.env.as_str() {
            "overcooked" => {
                OVERCOOKED_LAYOUTS.iter().find(|(n, _)| *n == self.layout).map(|(_, p)| *p)
            }
            "slime_volleyball" => Some(2),
            _ => None,
        }
    }

    /// The environment is one of the client's own, not one the page supplies.
    pub fn is_built_in(&self) -> bool {
        BUILT_IN_ENVS.contains(&self.env.as_str())
    }

    /// A duration in whole frames at this game's fps (rounded up).
    pub fn frames(&self, ms: u32) -> u32 {
        (u64::from(ms) * u64::from(self.fps)).div_ceil(1000) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(GameConfig::default().validate(), Ok(()));
    }

    #[test]
    fn a_reconnection_cannot_outlast_the_focus_loss_timeout() {
        let config = GameConfig { focus_loss_timeout_ms: 5000, ..GameConfig::default() };
        let err = config.validate().expect_err("10 s > 5 s").to_string();
        assert!(err.contains("reconnection_timeout_ms to at most 5000"), "{err}");
        let config = GameConfig { reconnection_timeout_ms: 5000, ..config };
        assert_eq!(config.validate(), Ok(()));
    }

    #[test]
    fn automatic_delay_bounds_are_checked() {
        let auto = GameConfig { input_delay: InputDelay::Auto, ..GameConfig::default() };
        assert_eq!(auto.validate(), Ok(()));
        assert_eq!(auto.first_input_delay(), 0);
        let crossed = GameConfig { input_delay_min: 5, input_delay_max: 3, ..auto.clone() };
        assert!(crossed.validate().expect_err("5 > 3").to_string().contains("input_delay_min"));
        let too_far = GameConfig { input_delay_max: 11, ..auto };
        assert!(too_far.validate().expect_err("11").to_string().contains("input_delay_max"));
        let fixed = GameConfig { input_delay: InputDelay::Frames(11), ..GameConfig::default() };
        assert!(fixed.validate().expect_err("11").to_string().contains("game.input_delay ="));
    }

    #[test]
    fn built_in_environments_know_their_player_counts() {
        let layout = |name: &str| GameConfig { layout: name.into(), ..GameConfig::default() };
        assert_eq!(layout("cramped_room").built_in_players(), Some(2));
        assert_eq!(layout("wide_room_3").built_in_players(), Some(3));
        assert_eq!(layout("open_kitchen_4").built_in_players(), Some(4));
        let js = GameConfig { env: "coins".into(), ..GameConfig::default() };
        assert_eq!(js.built_in_players(), None);
    }

    #[test]
    fn out_of_range_values_name_the_field() {
        let config = GameConfig { fps: 0, ..GameConfig::default() };
        let err = config.validate().expect_err("fps 0").to_string();
        assert!(err.contains("game.fps"), "{err}");
        let config = GameConfig { layout: "kitchen".into(), ..GameConfig::default() };
        assert!(config.validate().expect_err("layout").to_string().contains("cramped_room"));
    }

    #[test]
    fn a_page_supplied_environment_passes_through_but_a_bad_name_does_not() {
        let config = GameConfig { env: "my_game-2.1".into(), ..GameConfig::default() };
        assert_eq!(config.validate(), Ok(()));
        assert!(!config.is_built_in());
        let config = GameConfig { env: "../etc".into(), ..GameConfig::default() };
        let err = config.validate().expect_err("slash").to_string();
        assert!(err.contains("slime_volleyball"), "{err}");
        let config = GameConfig { env: String::new(), ..GameConfig::default() };
        assert!(config.validate().is_err());
        // The layout belongs to Overcooked only.
        let config = GameConfig {
            env: "slime_volleyball".into(),
            layout: "x".into(),
            ..GameConfig::default()
        };
        assert_eq!(config.validate(), Ok(()));
    }

    #[test]
    fn durations_convert_to_frames() {
        let config = GameConfig::default();
        assert_eq!(config.frames(3000), 90);
        assert_eq!(config.frames(10), 1, "rounded up");
        assert_eq!(config.frames(0), 0);
    }
}
