//! Workloads for `make bench`, shared by the native benchmark and the wasm build (feature
//! `bench`), so both measure exactly the same code.

use crate::{
    core::{
        export,
        game::{EpisodePlan, Game},
        recorder::FrameRow,
    },
    env::{
        Env,
        overcooked::{Layout, Overcooked, Rules},
        slime::{self, Slime},
    },
};

/// Frames one rollback re-simulates in the benchmark (the default prediction window).
pub const ROLLBACK_DEPTH: u32 = 12;

fn kitchen() -> Overcooked {
    let layout =
        Layout::classic("cramped_room").unwrap_or_else(|_| unreachable!("built-in layout"));
    let mut env = Overcooked::new(layout, Rules::default());
    env.reset(1);
    env
}

/// A rally that never ends by score, so every step simulates physics.
fn court() -> Slime {
    let mut env = Slime::new(slime::Rules { points_to_win: 0 });
    env.reset(1);
    env
}

/// Pseudo-random joint actions, cheap enough not to dominate a 1 µs step.
fn actions(i: u32) -> [u8; 2] {
    let x = i.wrapping_mul(2_654_435_761);
    [((x >> 8) % 6) as u8, ((x >> 16) % 6) as u8]
}

/// `steps` steps of `env` with changing actions; returns the final state hash so the work
/// cannot be optimized away.
fn env_steps(mut env: impl Env, steps: u32) -> u64 {
    for i in 0..steps {
        env.step(&actions(i));
    }
    env.state_hash()
}

/// `steps` Overcooked steps.
pub fn overcooked_steps(steps: u32) -> u64 {
    env_steps(kitchen(), steps)
}

/// `steps` Slime Volleyball steps.
pub fn slime_steps(steps: u32) -> u64 {
    env_steps(court(), steps)
}

/// `rollbacks` rollbacks as the netcode performs them: load a saved game, then
/// [`ROLLBACK_DEPTH`] times advance one frame and save it (clone plus checksum).
fn env_rollbacks<E: Env>(env: E, rollbacks: u32) -> u64 {
    let plan = EpisodePlan {
        num_episodes: 1,
        max_steps: u32::MAX,
        pause_frames: 0,
        seed: 1,
        seed_per_episode: false,
    };
    let saved = Game::new(env, plan);
    let mut checksum = 0u64;
    for r in 0..rollbacks {
        let mut game = saved.clone();
        for f in 0..ROLLBACK_DEPTH {
            game.advance(&actions(r * ROLLBACK_DEPTH + f));
            let snapshot = game.clone();
            checksum ^= snapshot.state_hash();
        }
    }
    checksum
}

/// Overcooked rollbacks.
pub fn rollbacks(rollbacks: u32) -> u64 {
    env_rollbacks(kitchen(), rollbacks)
}

/// Slime Volleyball rollbacks.
pub fn slime_rollbacks(rollbacks: u32) -> u64 {
    env_rollbacks(court(), rollbacks)
}

/// The rows of an episode of `steps` steps with changing actions, as the recorder keeps them.
pub fn episode_rows(steps: u32) -> Vec<FrameRow> {
    let mut env = kitchen();
    (0..steps)
        .map(|t| {
            let actions = actions(t).to_vec();
            let result = env.step(&actions);
            FrameRow {
                frame: t as i32 + 90,
                episode: 0,
                t,
                actions,
                rewards: result.rewards,
                terminated: false,
                truncated: t + 1 == steps,
                focused: vec![true, t % 50 != 0],
                state_hash: env.state_hash(),
                info: result.info,
                was_speculative: vec![false, t % 3 == 0],
                rollbacks: t % 4,
                timestamp_ms: 1.7e12 + f64::from(t) * 33.3,
                confirmed: true,
            }
        })
        .collect()
}

/// Exports `rows` to CSV `times` times; returns the CSV's length.
pub fn export_csv(rows: &[FrameRow], times: u32) -> usize {
    (0..times).fold(0, |_, _| export::csv(rows).len())
}

#[cfg(all(target_arch = "wasm32", feature = "bench"))]
pub mod exports {
    use wasm_bindgen::prelude::*;

    /// Returns the hash as a float so JavaScript can read it.
    #[wasm_bindgen(js_name = benchOvercookedSteps)]
    pub fn bench_overcooked_steps(steps: u32) -> f64 {
        super::overcooked_steps(steps) as f64
    }

    #[wasm_bindgen(js_name = benchRollbacks)]
    pub fn bench_rollbacks(rollbacks: u32) -> f64 {
        super::rollbacks(rollbacks) as f64
    }

    #[wasm_bindgen(js_name = benchSlimeSteps)]
    pub fn bench_slime_steps(steps: u32) -> f64 {
        super::slime_steps(steps) as f64
    }

    #[wasm_bindgen(js_name = benchSlimeRollbacks)]
    pub fn bench_slime_rollbacks(rollbacks: u32) -> f64 {
        super::slime_rollbacks(rollbacks) as f64
    }

    /// Exports a `steps`-step episode `times` times; returns the CSV length.
    #[wasm_bindgen(js_name = benchExport)]
    pub fn bench_export(steps: u32, times: u32) -> f64 {
        super::export_csv(&super::episode_rows(steps), times) as f64
    }
}
