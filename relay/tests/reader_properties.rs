//! The relay's readers of research data are total: the parity comparison of two CSVs and the
//! read-back of the journals at start take any bytes without panicking (a torn line, a file
//! someone edited by hand). `make fuzz` runs many more cases.

use std::sync::atomic::{AtomicU32, Ordering};

use proptest::prelude::*;
use rollgym_protocol::SafeId;
use rollgym_relay::{parity, storage::Storage};

/// Cases per property: `normal` in `cargo test`, `fuzz` under `make fuzz` (`ROLLGYM_FUZZ`),
/// which counts the cases from the lines printed here.
fn cases(normal: u32, fuzz: u32) -> u32 {
    if std::env::var_os("ROLLGYM_FUZZ").is_none() {
        return normal;
    }
    eprintln!("fuzz-cases {fuzz}");
    fuzz
}

const CSV: &str = "episode,t,actions.0,actions.1,wasSpeculative.0\n0,0,4,1,false\n0,1,5,0,true\n";

/// CSV-ish text: the real header (or not) and rows of arbitrary cells.
fn csv_like() -> impl Strategy<Value = String> {
    (any::<bool>(), rows()).prop_map(
        |(keep_header, rows)| {
            if keep_header { format!("{CSV}{rows}") } else { rows }
        },
    )
}

/// A data file: the real header, then rows of arbitrary cells.
fn data_file() -> impl Strategy<Value = String> {
    rows().prop_map(|rows| format!("{CSV}{rows}"))
}

/// Lines of comma-separated cells, some empty, some quoted, some odd.
fn rows() -> impl Strategy<Value = String> {
    let cell = prop_oneof![Just("0".to_owned()), Just(String::new()), "[a-z0-9.,\"-]{0,6}"];
    let row = prop::collection::vec(cell, 0..7).prop_map(|cells| cells.join(","));
    prop::collection::vec(row, 0..6)
        .prop_map(|rows| rows.iter().map(|r| format!("{r}\n")).collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(500, 20_000), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn parity_compares_any_two_files_symmetrically(left in csv_like(), right in csv_like()) {
        let there = parity::compare(&left, &right).is_equal();
        prop_assert_eq!(there, parity::compare(&right, &left).is_equal());
    }

    #[test]
    fn parity_of_a_file_with_itself_is_equal(text in data_file()) {
        prop_assert!(parity::compare(&text, &text).is_equal());
    }

    #[test]
    fn journals_read_back_from_any_bytes(progress in ".{0,200}", log in ".{0,200}") {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("rollgym-readers-{}-{n}", std::process::id()));
        let experiment = SafeId::parse("exp").expect("id");
        let root = dir.join("exp");
        std::fs::create_dir_all(root.join("match_logs")).expect("dirs");
        std::fs::write(root.join("progress.jsonl"), &progress).expect("write");
        std::fs::write(root.join("match_logs/s_matches.jsonl"), &log).expect("write");
        let storage = Storage::open(&dir, &experiment).expect("open");
        storage.load_progress().expect("read");
        storage.load_match_decisions().expect("read");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
