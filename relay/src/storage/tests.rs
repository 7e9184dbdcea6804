use std::sync::atomic::AtomicU32;

use rollgym_protocol::{PeerInfo, Sidecar};

use super::*;

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("rollgym-storage-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("temp dir");
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn id<T: From<SafeId>>(s: &str) -> T {
    SafeId::parse(s).expect("id").into()
}

const CSV: &str = "episode,t,actions.0,wasSpeculative.0,timestamp\n0,0,4,false,1\n0,1,5,true,2\n";

/// The players of game g1.
fn players() -> [ParticipantId; 2] {
    [id("alice"), id("bob")]
}

fn upload(participant: &str, csv: &str) -> Upload {
    Upload {
        upload_id: id(&format!("g1-{participant}-ep0")),
        participant_id: id(participant),
        game_id: id("g1"),
        scene_id: id("overcooked"),
        episode: 0,
        csv: csv.into(),
        sidecar: Sidecar {
            participants: vec![
                PeerInfo { participant_id: id("alice"), player_index: 0 },
                PeerInfo { participant_id: id("bob"), player_index: 1 },
            ],
            ..Sidecar::default()
        },
    }
}

#[test]
fn stores_csv_and_sidecar_under_experiment_scene_and_participant() {
    let dir = TempDir::new();
    let storage = Storage::open(&dir.0, &id("exp")).expect("open");
    let stored = storage.store(&upload("alice", CSV), &players()).expect("store");
    assert_eq!(stored.csv, dir.0.join("exp/overcooked/alice_ep0.csv"));
    assert_eq!(fs::read_to_string(&stored.csv).expect("csv"), CSV);
    let meta: Value =
        serde_json::from_str(&fs::read_to_string(&stored.sidecar).expect("json")).expect("valid");
    assert_eq!(meta["participant_id"], "alice");
    assert_eq!(meta["experiment"], "exp");
    assert_eq!(stored.parity, None, "the partner's file is not there yet");
}

#[test]
fn storing_twice_is_harmless() {
    let dir = TempDir::new();
    let storage = Storage::open(&dir.0, &id("exp")).expect("open");
    let first = storage.store(&upload("alice", CSV), &players()).expect("store");
    let second = storage.store(&upload("alice", CSV), &players()).expect("store again");
    assert_eq!(first.csv, second.csv);
    assert_eq!(fs::read_to_string(&second.csv).expect("csv"), CSV);
}

#[test]
fn the_second_file_of_a_pair_runs_the_parity_check() {
    let dir = TempDir::new();
    let storage = Storage::open(&dir.0, &id("exp")).expect("open");
    storage.store(&upload("alice", CSV), &players()).expect("alice");
    let local_differs = CSV.replace("4,false,1", "4,true,9");
    let stored = storage.store(&upload("bob", &local_differs), &players()).expect("bob");
    assert_eq!(stored.parity, Some(parity::Parity::Equal { rows: 2 }));
    let summary: Value = serde_json::from_str(
        &fs::read_to_string(dir.0.join("exp/overcooked/g1_summary.json")).expect("summary"),
    )
    .expect("json");
    assert_eq!(summary["episodes"]["0"]["parity"]["result"], "equal");
    assert_eq!(summary["participants"], json!(["alice", "bob"]));
}

#[test]
fn a_differing_pair_is_recorded_with_the_first_difference() {
    let dir = TempDir::new();
    let storage = Storage::open(&dir.0, &id("exp")).expect("open");
    storage.store(&upload("alice", CSV), &players()).expect("alice");
    let stored =
        storage.store(&upload("bob", &CSV.replace("0,1,5", "0,1,3")), &players()).expect("bob");
    let Some(parity::Parity::Different { row, column, .. }) = stored.parity else {
        panic!("expected a difference")
    };
    assert_eq!((row, column.as_str()), (2, "actions.0"));
}

/// A group of three in game g1: each file compared with the lowest id's as they come in.
#[test]
fn a_group_is_checked_file_by_file_against_the_first() {
    let dir = TempDir::new();
    let storage = Storage::open(&dir.0, &id("exp")).expect("open");
    let group: [ParticipantId; 3] = [id("alice"), id("bob"), id("carol")];
    let summary = || -> Value {
        let text = fs::read_to_string(dir.0.join("exp/overcooked/g1_summary.json"));
        serde_json::from_str(&text.expect("summary")).expect("json")
    };
    assert_eq!(storage.store(&upload("carol", CSV), &group).expect("carol").parity, None);
    let second = storage.store(&upload("alice", CSV), &group).expect("alice");
    assert_eq!(second.parity, Some(parity::Parity::Equal { rows: 2 }));
    assert_eq!(summary()["participants"], json!(["alice", "carol"]));
    let third = storage.store(&upload("bob", &CSV.replace("0,1,5", "0,1,3")), &group);
    let Some(parity::Parity::Different { row, .. }) = third.expect("bob").parity else {
        panic!("bob's file differs")
    };
    assert_eq!(row, 2);
    let summary = summary();
    assert_eq!(summary["participants"], json!(["alice", "bob", "carol"]));
    assert_eq!(summary["episodes"]["0"]["between"], json!(["alice", "bob"]));
    // Fixed: all three agree, and the difference is gone from the summary.
    storage.store(&upload("bob", CSV), &group).expect("bob again");
    let text = fs::read_to_string(dir.0.join("exp/overcooked/g1_summary.json")).expect("summary");
    let fixed: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(fixed["episodes"]["0"]["parity"]["result"], "equal");
    assert_eq!(fixed["episodes"]["0"].get("between"), None);
}

#[test]
fn a_crash_between_temp_write_and_rename_leaves_no_partial_csv() {
    let dir = TempDir::new();
    let storage = Storage::open(&dir.0, &id("exp")).expect("open");
    let target = dir.0.join("exp/overcooked/alice_ep0.csv");
    fs::create_dir_all(target.parent().expect("parent")).expect("dir");
    // The process "dies" after the temp file is synced, before the rename.
    let temp = storage.write_temp(&target, b"episode,t\n0,").expect("temp");
    assert!(temp.exists());
    assert!(!target.exists(), "no file under the final name");
    drop(storage);
    // The restarted relay cleans up.
    let _reopened = Storage::open(&dir.0, &id("exp")).expect("reopen");
    assert!(!temp.exists(), "leftover temp file removed");
    assert!(!target.exists());
}

#[test]
fn invalid_content_is_refused() {
    let dir = TempDir::new();
    let storage = Storage::open(&dir.0, &id("exp")).expect("open");
    let err =
        storage.store(&upload("alice", "not,a,data,file\n"), &players()).expect_err("bad header");
    assert!(matches!(err, UploadError::Invalid(_)));
    assert!(!dir.0.join("exp/overcooked/alice_ep0.csv").exists());
}

#[test]
fn progress_is_read_back_in_order_and_a_torn_last_line_is_skipped() {
    let dir = TempDir::new();
    let storage = Storage::open(&dir.0, &id("exp")).expect("open");
    assert_eq!(storage.load_progress().expect("no journal yet"), Vec::new());
    storage.append_progress(&id("a"), Progress { scene: 1, played: false }).expect("append");
    storage.append_progress(&id("b"), Progress { scene: 1, played: true }).expect("append");
    storage.append_progress(&id("a"), Progress { scene: 2, played: false }).expect("append");
    // A crash in the middle of a write.
    let path = storage.root().join(PROGRESS_FILE);
    let mut file = fs::OpenOptions::new().append(true).open(&path).expect("open");
    file.write_all(b"{\"participant_id\":\"c\",\"sce").expect("torn write");
    drop(file);
    // The restarted relay ends the torn line, so the next record is a line of its own.
    let storage = Storage::open(&dir.0, &id("exp")).expect("reopen");
    storage.append_progress(&id("d"), Progress { scene: 3, played: false }).expect("append");
    let records = storage.load_progress().expect("load");
    assert_eq!(
        records,
        vec![
            (id("a"), Progress { scene: 1, played: false }),
            (id("b"), Progress { scene: 1, played: true }),
            (id("a"), Progress { scene: 2, played: false }),
            (id("d"), Progress { scene: 3, played: false }),
        ]
    );
}

#[test]
fn screening_decisions_are_read_back_as_written() {
    let dir = TempDir::new();
    let storage = Storage::open(&dir.0, &id("exp")).expect("open");
    assert_eq!(storage.load_screening().expect("no file yet"), Vec::new());
    let record = ScreeningRecord {
        participant_id: id("a"),
        passed: false,
        failed_rule: Some(rollgym_protocol::ScreenRule::Device),
        timed_out: false,
        user_agent: "Mozilla/5.0 (iPhone)".into(),
        device: Some(rollgym_protocol::Device::Mobile),
        browser: Some(("safari".into(), 17)),
        window: [390, 844],
        screen: [390, 844],
        prompted: false,
        custom: None,
        webrtc: None,
        message: Some("Desktops only.".into()),
        duration_ms: 40,
        time_ms: 0,
    };
    storage.append_journal(vec![Journal::Screening(Box::new(record.clone()))]).expect("append");
    let [back] = &storage.load_screening().expect("load")[..] else { panic!("one record") };
    assert!(back.time_ms > 0, "stamped when written");
    assert_eq!(*back, ScreeningRecord { time_ms: back.time_ms, ..record });
}

#[test]
fn match_log_decisions_are_read_back_oldest_first() {
    let dir = TempDir::new();
    let storage = Storage::open(&dir.0, &id("exp")).expect("open");
    assert!(storage.load_match_decisions().expect("no logs yet").is_empty());
    let member = |p: &str| json!({ "participant_id": p, "server_rtt_ms": null });
    let matched = |scene: &str, time: u64, a: &str, b: &str| json!({ "event": "match", "scene_id": scene, "game_id": "g", "matchmaker": "fifo", "time_ms": time, "participants": [member(a), member(b)] });
    let round1 = [
        matched("round1", 10, "a", "c"),
        json!({ "event": "probe", "scene_id": "round1", "probe_id": "q", "time_ms": 5, "result": "too_slow", "p2p_rtt_ms": 300, "max_p2p_rtt_ms": 100, "duration_ms": 40, "participants": [member("x"), member("y")] }),
        // A line from before the `event` field: a match.
        json!({ "scene_id": "round1", "game_id": "g0", "matchmaker": "fifo", "time_ms": 20, "participants": [member("d"), member("e")] }),
    ];
    let logs = storage.root().join("match_logs");
    fs::create_dir_all(&logs).expect("dir");
    let lines = |records: &[Value]| records.iter().map(|r| format!("{r}\n")).collect::<String>();
    fs::write(logs.join("round2_matches.jsonl"), lines(&[matched("round2", 30, "a", "b")]))
        .expect("write");
    // A line cut short by a crash is skipped.
    fs::write(logs.join("round1_matches.jsonl"), lines(&round1) + "not json\n").expect("write");
    let decisions: Vec<(&str, Vec<String>)> = storage
        .load_match_decisions()
        .expect("load")
        .iter()
        .map(|d| {
            let kind = match d {
                MatchLogRecord::Match { .. } => "match",
                MatchLogRecord::Probe { result, .. } if result.rejects() => "rejecting probe",
                _ => "other",
            };
            (kind, d.participants().iter().map(|p| p.participant_id.to_string()).collect())
        })
        .collect();
    let pair = |a: &str, b: &str| vec![a.to_owned(), b.to_owned()];
    assert_eq!(
        decisions,
        [
            ("rejecting probe", pair("x", "y")),
            ("match", pair("a", "c")),
            ("match", pair("d", "e")),
            ("match", pair("a", "b")),
        ]
    );
}

#[test]
fn a_journal_batch_keeps_each_files_lines_in_order() {
    let dir = TempDir::new();
    let storage = Storage::open(&dir.0, &id("exp")).expect("open");
    let matched = |n: u64, scene: &str| {
        Journal::Match(MatchLogRecord::Match {
            scene_id: id(scene),
            game_id: id(&format!("g{n}")),
            matchmaker: "fifo".into(),
            participants: Vec::new(),
            probe: None,
            time_ms: n,
        })
    };
    storage
        .append_journal(vec![
            matched(1, "s1"),
            Journal::Progress(id("a"), Progress { scene: 1, played: false }),
            matched(2, "s2"),
            matched(3, "s1"),
            Journal::Progress(id("a"), Progress { scene: 1, played: true }),
        ])
        .expect("append");
    let lines = |path: &str| -> Vec<Value> {
        fs::read_to_string(dir.0.join("exp").join(path))
            .expect("written")
            .lines()
            .map(|l| serde_json::from_str(l).expect("json"))
            .collect()
    };
    let s1: Vec<u64> = lines("match_logs/s1_matches.jsonl")
        .iter()
        .map(|v| v["time_ms"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(s1, [1, 3]);
    assert_eq!(lines("match_logs/s2_matches.jsonl").len(), 1);
    assert_eq!(storage.load_progress().expect("read").last().map(|(_, p)| p.played), Some(true));
}
