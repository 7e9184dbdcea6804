//! `rollgym compare`: two files or a group's, each with the first; exit 0 when all agree, 1
//! naming the two files that differ, 2 when a file cannot be read.

use std::{fs, path::PathBuf, process::Command};

const CSV: &str = "episode,t,actions.0,actions.1,actions.2,wasSpeculative.0,timestamp\n0,0,4,4,4,false,1\n0,1,5,1,0,true,2\n";

/// The files `contents` names, written into a fresh directory for this test.
fn files(test: &str, contents: &[(&str, &str)]) -> (PathBuf, Vec<PathBuf>) {
    let dir = std::env::temp_dir().join(format!("rollgym-compare-{test}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("dir");
    let paths = contents
        .iter()
        .map(|(name, text)| {
            let path = dir.join(name);
            fs::write(&path, text).expect("write");
            path
        })
        .collect();
    (dir, paths)
}

fn compare(paths: &[PathBuf]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rollgym"))
        .arg("compare")
        .args(paths)
        .output()
        .expect("runs");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn three_identical_files_are_equal() {
    // The local columns (from wasSpeculative.0 on) may differ.
    let local = CSV.replace("true,2", "false,7");
    let (dir, paths) = files("equal", &[("a.csv", CSV), ("b.csv", &local), ("c.csv", CSV)]);
    let (code, text) = compare(&paths);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("equal: 2 rows"), "{text}");
    fs::remove_dir_all(dir).expect("clean up");
}

#[test]
fn the_differing_file_of_a_group_is_named() {
    let other = CSV.replace("0,1,5,1,0", "0,1,5,1,3");
    let (dir, paths) = files("different", &[("a.csv", CSV), ("b.csv", CSV), ("c.csv", &other)]);
    let (code, text) = compare(&paths);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("column actions.2") && text.contains("c.csv"), "{text}");
    let (code, text) = compare(&[paths[0].clone(), dir.join("missing.csv")]);
    assert_eq!(code, 2, "{text}");
    let (code, _) = compare(&paths[..1]);
    assert_eq!(code, 2, "one file is not a comparison");
    fs::remove_dir_all(dir).expect("clean up");
}
