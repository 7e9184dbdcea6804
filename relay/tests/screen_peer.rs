//! The relay's own WebRTC peer under real DataChannels from native WebRTC pages (webrtc-rs on
//! both sides): every screening is answered, measured and recorded, and everything it opened
//! is closed again afterwards.

mod support;

use std::time::Duration;

use rollgym_protocol::{ExperimentConfig, ScreeningRecord, ServerMsg};
use rollgym_relay::config;
use support::{TestRelay, native_page};

/// The bundled experiment, screening every arrival through the relay's peer.
fn screening_webrtc() -> ExperimentConfig {
    let mut experiment = config::load(None).expect("bundled config");
    experiment.screening.webrtc = true;
    experiment.screening.max_rtt_ms = Some(500);
    experiment.screening.rtt_samples = 3;
    experiment.loading.timeout_ms = 120_000;
    experiment
}

/// The screening lines written so far.
fn screening_lines(relay: &TestRelay) -> Vec<ScreeningRecord> {
    let path = relay.data_dir.join("overcooked_demo/screening.jsonl");
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a screening record"))
        .collect()
}

/// Open file descriptors of this process (sockets included).
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

async fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !check() {
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_page_meets_the_peer_is_measured_and_admitted() {
    let relay = TestRelay::start_experiment(screening_webrtc()).await;
    let verdict = native_page::screen(relay.addr, "native-1").await;
    assert!(matches!(verdict, ServerMsg::Scene { index: 0, .. }), "{verdict:?}");
    wait_for("the screening line", || !screening_lines(&relay).is_empty()).await;
    let [line] = &screening_lines(&relay)[..] else { panic!("one line") };
    assert!(line.passed, "{line:?}");
    let peer = line.webrtc.as_ref().expect("the peer's report");
    assert!(peer.connected);
    assert_eq!(peer.rtt_samples.len(), 3);
    assert!(peer.rtt_ms.is_some_and(|rtt| rtt < 500), "{peer:?}");
    assert!(peer.candidate_types.contains(&"host".to_owned()), "{peer:?}");
    relay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_screenings_are_all_answered_and_leave_nothing_open() {
    const PAGES: usize = 200;
    let relay = TestRelay::start_experiment(screening_webrtc()).await;
    // Warm up once so lazily created state (runtimes, caches) is not counted as a leak.
    let _ = native_page::screen(relay.addr, "warm-up").await;
    let baseline = open_fds();
    let screenings = (0..PAGES).map(|i| {
        let relay = &relay;
        async move { native_page::screen(relay.addr, &format!("native-{i}")).await }
    });
    let verdicts = futures_util::future::join_all(screenings).await;
    let admitted =
        verdicts.iter().filter(|v| matches!(v, ServerMsg::Scene { index: 0, .. })).count();
    assert_eq!(admitted, PAGES, "every page was answered and passed: {verdicts:?}");
    wait_for("every screening line", || screening_lines(&relay).len() == PAGES + 1).await;
    let lines = screening_lines(&relay);
    assert!(lines.iter().all(|l| l.webrtc.as_ref().is_some_and(|p| p.connected)));
    // Every peer connection (the relay's and the pages') is closed: its UDP socket with it.
    wait_for("sockets closed again", || open_fds() <= baseline + 4).await;
    relay.shutdown().await;
}
