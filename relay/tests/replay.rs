//! `rollgym replay`: a stored episode's recorded actions reproduce its hashes (exit 0); a
//! hand-edited file is caught at the edited row (exit 1); what cannot be replayed says why
//! (exit 2).

use std::{fs, path::PathBuf, process::Command};

use rollgym_client::{bench, core::export};
use rollgym_protocol::{Sidecar, episode::Settings};

/// A directory with `ep.csv` (250 steps of scripted Overcooked from reset seed 1: the
/// benchmark's episode) and its sidecar `ep.json`, naming `env_name`.
fn stored_episode(name: &str, env_name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rollgym-replay-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("dir");
    fs::write(dir.join("ep.csv"), export::csv(&bench::episode_rows(250))).expect("csv");
    let settings =
        Settings { env: env_name.into(), layout: "cramped_room".into(), ..Settings::default() };
    let sidecar = Sidecar { seed: 1, rows: 250, settings, ..Sidecar::default() };
    fs::write(dir.join("ep.json"), serde_json::to_string(&sidecar).expect("json")).expect("json");
    dir
}

/// Runs `rollgym replay FILE`: exit code and output.
fn replay(file: &std::path::Path) -> (i32, String) {
    let out =
        Command::new(env!("CARGO_BIN_EXE_rollgym")).arg("replay").arg(file).output().expect("runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn a_stored_episode_is_reproduced() {
    let dir = stored_episode("ok", "overcooked");
    let (code, text) = replay(&dir.join("ep.csv"));
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("reproduced: 250 rows"), "{text}");
    fs::remove_dir_all(dir).expect("clean up");
}

#[test]
fn a_hand_edited_hash_is_caught_at_its_row() {
    let dir = stored_episode("edited", "overcooked");
    let csv = fs::read_to_string(dir.join("ep.csv")).expect("csv");
    let mut lines: Vec<String> = csv.lines().map(str::to_owned).collect();
    let at = lines[0].split(',').position(|c| c == "state_hash").expect("column");
    let mut cells: Vec<String> = lines[77].split(',').map(str::to_owned).collect();
    cells[at] = "0123456789abcdef".into();
    lines[77] = cells.join(",");
    fs::write(dir.join("ep.csv"), lines.join("\n")).expect("write");
    let (code, text) = replay(&dir.join("ep.csv"));
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("not reproduced at row 77 (t = 76): state_hash"), "{text}");
    fs::remove_dir_all(dir).expect("clean up");
}

#[test]
fn what_cannot_be_replayed_says_why() {
    let dir = stored_episode("js", "my_js_game");
    let (code, text) = replay(&dir.join("ep.csv"));
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("not built in"), "{text}");
    fs::remove_file(dir.join("ep.json")).expect("remove");
    let (code, text) = replay(&dir.join("ep.csv"));
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("cannot read") && text.contains("ep.json"), "{text}");
    fs::remove_dir_all(dir).expect("clean up");
}
