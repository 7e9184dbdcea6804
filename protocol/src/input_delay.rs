//! `[game] input_delay`: a fixed number of frames, or `"auto"`: chosen at the start of each
//! game from the round trip both pages measured on their DataChannel, bounded by
//! `input_delay_min` and `input_delay_max`. The relay chooses it (pages send their round trip
//! with `validated`, the relay answers with `start`), so every player of a game plays with the
//! same delay.

use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// The largest input delay, fixed or chosen: a third of a second at 30 fps.
pub const MAX_INPUT_DELAY: u32 = 10;

/// How many frames a key press waits before the frame it acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputDelay {
    Frames(u32),
    /// Chosen per game from the measured round trip.
    Auto,
}

impl Default for InputDelay {
    fn default() -> Self {
        Self::Frames(2)
    }
}

impl Serialize for InputDelay {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Frames(frames) => serializer.serialize_u32(*frames),
            Self::Auto => serializer.serialize_str("auto"),
        }
    }
}

impl<'de> Deserialize<'de> for InputDelay {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(InputDelayVisitor)
    }
}

struct InputDelayVisitor;

impl de::Visitor<'_> for InputDelayVisitor {
    type Value = InputDelay;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a number of frames (0 to {MAX_INPUT_DELAY}) or \"auto\"")
    }

    fn visit_u64<E: de::Error>(self, frames: u64) -> Result<InputDelay, E> {
        u32::try_from(frames)
            .map(InputDelay::Frames)
            .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(frames), &self))
    }

    fn visit_i64<E: de::Error>(self, frames: i64) -> Result<InputDelay, E> {
        u64::try_from(frames)
            .map_err(|_| E::invalid_value(de::Unexpected::Signed(frames), &self))
            .and_then(|frames| self.visit_u64(frames))
    }

    fn visit_str<E: de::Error>(self, word: &str) -> Result<InputDelay, E> {
        match word {
            "auto" => Ok(InputDelay::Auto),
            _ => Err(E::invalid_value(de::Unexpected::Str(word), &self)),
        }
    }
}

/// The delay the relay chose for a game with `input_delay = "auto"`, sent with `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreedDelay {
    pub frames: u32,
    /// The round trip it was chosen from (the longest of the players' shortest round trips);
    /// `None` when no page could measure one, and the delay is `input_delay_min`.
    pub rtt_ms: Option<u32>,
}

impl AgreedDelay {
    /// Enough frames to cover the one-way trip (half of `rtt_ms`) and the half frame a packet
    /// waits on average for the partner's next clock tick, at `fps`: the partner's inputs then
    /// arrive before their frame is simulated (few rollbacks) with no more delay than the link
    /// needs; within `min..=max`.
    pub fn choose(rtt_ms: Option<u32>, fps: u32, min: u32, max: u32) -> Self {
        let frames = rtt_ms.map_or(min, |rtt| {
            // (rtt / 2 + frame / 2) / frame, with frame = 1000 / fps, rounded up.
            let frames = (u64::from(rtt) * u64::from(fps) + 1000).div_ceil(2000);
            u32::try_from(frames).unwrap_or(u32::MAX).clamp(min, max.max(min))
        });
        Self { frames, rtt_ms }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_covers_the_one_way_trip_within_the_bounds() {
        let at_30 = |rtt| AgreedDelay::choose(rtt, 30, 0, 8).frames;
        assert_eq!(at_30(Some(0)), 1, "a local link: the half frame of the partner's tick");
        assert_eq!(at_30(Some(20)), 1, "10 + 17 ms: one 33 ms frame");
        assert_eq!(at_30(Some(102)), 3, "51 + 17 ms: just over two frames");
        assert_eq!(at_30(Some(200)), 4, "100 + 17 ms");
        assert_eq!(at_30(Some(5000)), 8, "capped at the maximum");
        assert_eq!(AgreedDelay::choose(Some(20), 30, 2, 8).frames, 2, "at least the minimum");
        assert_eq!(
            AgreedDelay::choose(Some(200), 60, 0, 8).frames,
            7,
            "frames are shorter at 60 fps"
        );
        assert_eq!(AgreedDelay::choose(None, 30, 1, 8), AgreedDelay { frames: 1, rtt_ms: None });
    }

    #[derive(Debug, Deserialize, Serialize, PartialEq)]
    struct Table {
        input_delay: InputDelay,
    }

    #[test]
    fn a_number_or_auto_and_nothing_else() {
        let parse = |text: &str| toml_like(text);
        assert_eq!(parse(r#"{"input_delay":3}"#), Ok(Table { input_delay: InputDelay::Frames(3) }));
        assert_eq!(parse(r#"{"input_delay":"auto"}"#), Ok(Table { input_delay: InputDelay::Auto }));
        let err = parse(r#"{"input_delay":"fast"}"#).expect_err("a word other than auto");
        assert!(err.contains(r#"or "auto""#), "{err}");
        assert!(parse(r#"{"input_delay":-1}"#).is_err());
        let round_trip = serde_json::to_string(&Table { input_delay: InputDelay::Auto });
        assert_eq!(round_trip.ok().as_deref(), Some(r#"{"input_delay":"auto"}"#));
    }

    fn toml_like(json: &str) -> Result<Table, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }
}
