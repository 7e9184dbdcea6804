use rollgym_protocol::episode::Settings;

use super::*;
use crate::core::export;

fn settings() -> Settings {
    Settings {
        env: "overcooked".into(),
        layout: "cramped_room".into(),
        max_steps: 300,
        ..Settings::default()
    }
}

/// A recording of 300 steps of scripted play from reset seed 1, written as the recorder
/// writes it (the benchmark's episode).
fn recording() -> String {
    export::csv(&crate::bench::episode_rows(300))
}

/// `csv` with the cell of `column` in data row `row` replaced.
fn edited(csv: &str, row: usize, column: &str, value: &str) -> String {
    let mut lines: Vec<String> = csv.lines().map(str::to_owned).collect();
    let at = lines[0].split(',').position(|c| c == column).expect("column");
    let mut cells: Vec<&str> = lines[row].split(',').collect();
    cells[at] = value;
    lines[row] = cells.join(",");
    lines.join("\n")
}

#[test]
fn a_recording_replays_to_every_recorded_hash() {
    let csv = recording();
    assert_eq!(replay(&csv, &settings(), 1), Ok(Replay { rows: 300, mismatch: None }));
}

#[test]
fn an_edited_hash_is_flagged_at_its_row() {
    let csv = edited(&recording(), 120, "state_hash", "00000000deadbeef");
    let mismatch = replay(&csv, &settings(), 1).expect("replays").mismatch.expect("flagged");
    assert_eq!((mismatch.row, mismatch.t.as_str()), (120, "119"));
    assert_eq!(mismatch.recorded, "00000000deadbeef");
}

#[test]
fn an_edited_action_is_flagged_at_its_row_when_it_changed_the_game() {
    let csv = recording();
    let mut flagged = 0;
    for row in (1..300).step_by(13) {
        for other in ["0", "1", "2", "3", "4", "5"] {
            let report =
                replay(&edited(&csv, row, "actions.0", other), &settings(), 1).expect("replays");
            // A different action that does the same (walking into a wall, interacting with
            // nothing) leaves a recording that is still true; one that changed the game is
            // caught exactly at its row.
            if let Some(mismatch) = report.mismatch {
                assert_eq!((mismatch.row, mismatch.column.as_str()), (row, "state_hash"));
                flagged += 1;
            }
        }
    }
    assert!(flagged >= 10, "edits that change the game are caught ({flagged})");
}

#[test]
fn files_that_cannot_be_replayed_say_why() {
    let js = Settings { env: "my_js_game".into(), ..settings() };
    assert!(
        matches!(replay("", &js, 1), Err(ReplayError::NotBuiltIn(name)) if name == "my_js_game")
    );
    let bad_layout = Settings { layout: "nowhere".into(), ..settings() };
    assert!(matches!(replay("", &bad_layout, 1), Err(ReplayError::BadEnv { .. })));
    assert_eq!(
        replay("episode,t\n", &settings(), 1),
        Err(ReplayError::MissingColumn("actions.0".into()))
    );
    let garbage = edited(&recording(), 3, "actions.1", "jump");
    assert!(matches!(replay(&garbage, &settings(), 1), Err(ReplayError::BadRow { row: 3, .. })));
}

#[test]
fn the_player_seeks_back_and_forth_to_the_same_states() {
    let csv = recording();
    let mut player = Replayer::new(&csv, &settings(), 1).expect("replayer");
    assert_eq!((player.rows(), player.position(), player.t()), (300, 0, None));
    player.seek(200);
    player.seek(50);
    let back = player.env().state_hash();
    let mut fresh = Replayer::new(&csv, &settings(), 1).expect("replayer");
    fresh.seek(50);
    assert_eq!((back, player.t()), (fresh.env().state_hash(), Some("49")));
    player.seek(10_000);
    assert_eq!(player.position(), 300, "seeking past the end stops at the last row");
    assert!(player.step().is_none());
}
