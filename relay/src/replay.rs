//! `rollgym replay FILE.csv`: re-simulates a stored episode with the built-in environment its
//! sidecar (`FILE.json`, beside it) names and checks every row's recorded state hash, rewards
//! and end flag (`rollgym_client::replay`). The verdict is one line; the exit code says it.

use std::path::{Path, PathBuf};

use rollgym_client::replay::{self, Replay};

/// A stored episode replayed: its verdict, or why it could not be.
pub fn replay_file(csv_path: &Path) -> Result<Replay, String> {
    let sidecar_path: PathBuf = csv_path.with_extension("json");
    let read = |path: &Path| {
        std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    };
    let csv = read(csv_path)?;
    let (settings, seed) = replay::sidecar_facts(&read(&sidecar_path)?)
        .map_err(|e| format!("{}: {e}", sidecar_path.display()))?;
    replay::replay(&csv, &settings, seed).map_err(|e| e.to_string())
}

/// The verdict as a person reads it.
pub fn describe(replay: &Replay) -> String {
    match &replay.mismatch {
        None => format!(
            "reproduced: {} rows, every recorded state hash, reward and end flag replayed",
            replay.rows
        ),
        Some(m) => format!(
            "not reproduced at row {} (t = {}): {} recorded {:?}, replayed {:?}",
            m.row, m.t, m.column, m.recorded, m.replayed
        ),
    }
}
