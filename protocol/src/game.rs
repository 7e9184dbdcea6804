//! The `[game]` table of an experiment: which environment, how episodes run, and the netcode
//! parameters. Sent to both players with their pairing, so both simulate the same game.

use serde::{Deserialize, Serialize};

/// The built-in Overcooked layouts (the client implements them; the relay validates names).
pub const OVERCOOKED_LAYOUTS: [&str; 5] = [
    "cramped_room",
    "asymmetric_advantages",
    "coordination_ring",
    "forced_coordination",
    "counter_circuit",
];

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

/// One game's settings. Every field has a default, so `[game]` may be partial or absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GameConfig {
    /// Names the data directory of this game's files: `data/<experiment>/<scene_id>/`.
    pub scene_id: crate::SceneId,
    /// Environment name; built in: `overcooked`.
    pub env: String,
    pub layout: String,
    /// Steps a full pot cooks.
    pub cook_time: u16,
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
    /// Frames between a key press and the frame it acts on.
    pub input_delay: u32,
    /// Frames the simulation may run ahead of the partner's confirmed input.
    pub max_prediction: u32,
    /// Frames between checksum comparisons; 0 turns desync detection off.
    pub desync_interval: u32,
    pub input_mode: InputMode,
    /// A partner unheard from for this long (a frozen or closed page) ends the game.
    pub focus_loss_timeout_ms: u32,
    /// Shown when the partner leaves.
    pub partner_left_message: String,
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
            fps: 30,
            max_steps: 1350,
            num_episodes: 1,
            seed: None,
            seed_per_episode: false,
            countdown_ms: 3000,
            between_episodes_ms: 3000,
            input_delay: 2,
            max_prediction: 12,
            desync_interval: 10,
            input_mode: InputMode::Tap,
            focus_loss_timeout_ms: 30_000,
            partner_left_message: "Your partner has left the game. Thank you for taking part."
                .into(),
            completion_code: None,
        }
    }
}

/// A `[game]` value out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GameConfigError {
    #[error("game.env {0:?} is unknown; built in: \"overcooked\"")]
    UnknownEnv(String),
    #[error("game.layout {0:?} is unknown; built in: {layouts}", layouts = OVERCOOKED_LAYOUTS.join(", "))]
    UnknownLayout(String),
    #[error("game.{field} = {value} is out of range {min}..={max}")]
    OutOfRange { field: &'static str, value: u64, min: u64, max: u64 },
}

impl GameConfig {
    pub fn validate(&self) -> Result<(), GameConfigError> {
        if self.env != "overcooked" {
            return Err(GameConfigError::UnknownEnv(self.env.clone()));
        }
        if !OVERCOOKED_LAYOUTS.contains(&self.layout.as_str()) {
            return Err(GameConfigError::UnknownLayout(self.layout.clone()));
        }
        let ranges: [(&'static str, u64, u64, u64); 9] = [
            ("fps", self.fps.into(), 1, 120),
            ("max_steps", self.max_steps.into(), 1, 1_000_000),
            ("num_episodes", self.num_episodes.into(), 1, 1000),
            ("cook_time", self.cook_time.into(), 1, 10_000),
            ("input_delay", self.input_delay.into(), 0, 10),
            ("max_prediction", self.max_prediction.into(), 1, 30),
            ("desync_interval", self.desync_interval.into(), 0, 10_000),
            ("focus_loss_timeout_ms", self.focus_loss_timeout_ms.into(), 1000, 3_600_000),
            ("countdown_ms", self.countdown_ms.into(), 0, 60_000),
        ];
        for (field, value, min, max) in ranges {
            if !(min..=max).contains(&value) {
                return Err(GameConfigError::OutOfRange { field, value, min, max });
            }
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
    fn out_of_range_values_name_the_field() {
        let config = GameConfig { fps: 0, ..GameConfig::default() };
        let err = config.validate().expect_err("fps 0").to_string();
        assert!(err.contains("game.fps"), "{err}");
        let config = GameConfig { layout: "kitchen".into(), ..GameConfig::default() };
        assert!(config.validate().expect_err("layout").to_string().contains("cramped_room"));
    }

    #[test]
    fn durations_convert_to_frames() {
        let config = GameConfig::default();
        assert_eq!(config.frames(3000), 90);
        assert_eq!(config.frames(10), 1, "rounded up");
        assert_eq!(config.frames(0), 0);
    }
}
