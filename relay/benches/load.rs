//! `make bench`: the relay under many scripted participants. Spawns the release `rollgym`
//! binary (so its memory is measured alone), connects N WebSocket clients that say hello, are
//! matched in pairs and answer the relay's pings, measures request round trips through the hub
//! while all N are connected, then lets everyone leave. Prints one table row per N.
//!
//! N defaults to 1000 and 10000 (`LOAD_SIZES=1000,5000` overrides); 10,000 clients need a
//! file-descriptor limit above 10,000 in each process (`ulimit -n`), which the Makefile raises.
//!
//! So that the tail measures the relay and not two processes fighting over one core, the relay
//! runs pinned to the last core and the load generator (this process, one thread) to the
//! first, where the machine has two or more and `taskset` exists; the CPU seconds each used
//! are printed beside the figures. The last column is how late the generator's own timers
//! fired: a round trip measured while the generator (or its whole core) was held up includes
//! that delay, so a tail without generator lateness beside it is the relay's.

#[path = "support/relay_process.rs"]
mod relay_process;

use std::{
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};

use futures_util::{SinkExt, StreamExt};
use relay_process::{RelayProcess, cpu_seconds, pin_self};
use rollgym_protocol::{ClientMsg, PROTOCOL_VERSION, ParticipantId, ServerMsg, SignalPayload};
use tokio::sync::Barrier;
use tokio_tungstenite::{
    connect_async_with_config,
    tungstenite::{Message, protocol::WebSocketConfig},
};

/// Requests per client during the steady phase (one a second).
const REQUESTS: usize = 5;

/// The relay's experiment: a long countdown and wait, so participants stay connected and
/// matched while measured.
const EXPERIMENT: &str = "[experiment]\nid = \"load\"\n[game]\ncountdown_ms = 60000\n[waiting_room]\ntimeout_ms = 3600000\n";

/// Which core the relay and the load generator run on, when they can be kept apart.
#[derive(Debug, Clone, Copy)]
struct Cores {
    generator: usize,
    relay: usize,
}

/// Decided once, before this process pins itself (after that it sees only its own core).
fn pinning() -> Option<Cores> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let taskset = Command::new("taskset").arg("-V").output().is_ok_and(|o| o.status.success());
    (cores >= 2 && taskset).then_some(Cores { generator: 0, relay: cores - 1 })
}

struct ClientReport {
    matched_after: Duration,
    rtts: Vec<Duration>,
    /// How late each of this client's one-second timers fired: the generator's own stalls
    /// (its thread or its core held up), which every round trip measured then includes.
    late: Vec<Duration>,
}

/// One scripted participant.
async fn participant(url: String, i: usize, start: Instant, barrier: Arc<Barrier>) -> ClientReport {
    // A small read buffer, as the relay's own: the default (128 kB) is zeroed on every read,
    // which made the generator, not the relay, the bottleneck.
    let config = WebSocketConfig::default().read_buffer_size(512).write_buffer_size(0);
    let (mut ws, _) = connect_async_with_config(&url, Some(config), false).await.expect("connect");
    let id = ParticipantId::parse(&format!("load-{i}")).expect("id");
    let hello = ClientMsg::Hello {
        protocol_version: PROTOCOL_VERSION,
        participant_id: Some(id),
        rejoin: false,
    };
    ws.send(Message::text(hello.encode())).await.expect("hello");
    let mut matched_after = None;
    while matched_after.is_none() {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => {
                if let Ok(ServerMsg::Paired { .. }) = ServerMsg::decode(text.as_str()) {
                    matched_after = Some(start.elapsed());
                }
            }
            Some(Ok(_)) => {}
            _ => panic!("connection lost before the match"),
        }
    }
    barrier.wait().await;
    // Steady state: everyone connected and matched; one request a second through the hub (a
    // signal to a non-partner, answered with an error), measured here.
    let stranger = ParticipantId::parse("nobody").expect("id");
    let probe =
        ClientMsg::Signal { to: stranger, payload: SignalPayload::Answer { sdp: String::new() } }
            .encode();
    let mut rtts = Vec::with_capacity(REQUESTS);
    let mut late = Vec::with_capacity(REQUESTS);
    let offset = Duration::from_millis((i % 1000) as u64);
    tokio::time::sleep(offset).await;
    for _ in 0..REQUESTS {
        let sent = Instant::now();
        ws.send(Message::text(probe.clone())).await.expect("send");
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(text))) => {
                    if let Ok(ServerMsg::Error { .. }) = ServerMsg::decode(text.as_str()) {
                        rtts.push(sent.elapsed());
                        break;
                    }
                }
                Some(Ok(_)) => {}
                _ => panic!("connection lost"),
            }
        }
        let wake = sent + Duration::from_secs(1);
        tokio::time::sleep_until(wake.into()).await;
        late.push(wake.elapsed());
    }
    barrier.wait().await;
    ClientReport { matched_after: matched_after.unwrap_or_default(), rtts, late }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[allow(clippy::print_stdout, reason = "a benchmark prints its table")]
fn main() {
    let sizes: Vec<usize> = std::env::var("LOAD_SIZES")
        .unwrap_or_else(|_| "1000,10000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let cores = pinning();
    if let Some(cores) = cores {
        pin_self(cores.generator);
    }
    // One thread: the generator stays on its core and measures without contention of its own.
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let placement = cores.map_or_else(
        || "relay and generator share the cores".to_owned(),
        |c| format!("relay on core {}, generator on core {}", c.relay, c.generator),
    );
    println!("\nrelay under scripted participants ({placement})");
    println!(
        "| participants | all connected and matched | matches/s | request round trip p50 | p99 | relay RSS | relay CPU | generator CPU | generator late p99 / max |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for n in sizes {
        let relay = RelayProcess::start("load", EXPERIMENT, cores.map(|c| c.relay));
        let generator_before = cpu_seconds("/proc/self/stat");
        let barrier = Arc::new(Barrier::new(n + 1));
        let start = Instant::now();
        let reports = runtime.block_on(async {
            let mut tasks = Vec::with_capacity(n);
            for i in 0..n {
                tasks.push(tokio::spawn(participant(relay.ws_url(), i, start, barrier.clone())));
                if i % 200 == 199 {
                    // Let the accept queue drain: a real study's arrivals are spread out too.
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
            barrier.wait().await;
            let all_matched = start.elapsed();
            barrier.wait().await;
            let mut reports = Vec::with_capacity(n);
            for t in tasks {
                reports.push(t.await.expect("participant"));
            }
            (all_matched, reports)
        });
        let (all_matched, reports) = reports;
        let rss_mib = relay.rss_kib() as f64 / 1024.0;
        let relay_cpu = cpu_seconds(&format!("/proc/{}/stat", relay.pid()));
        let generator_cpu = cpu_seconds("/proc/self/stat") - generator_before;
        let mut rtts: Vec<Duration> = reports.iter().flat_map(|r| r.rtts.iter().copied()).collect();
        rtts.sort();
        let mut late: Vec<Duration> = reports.iter().flat_map(|r| r.late.iter().copied()).collect();
        late.sort();
        let last_match = reports.iter().map(|r| r.matched_after).max().unwrap_or_default();
        println!(
            "| {n} | {:.2} s | {:.0} | {:.2} ms | {:.2} ms | {rss_mib:.1} MiB | {relay_cpu:.1} s | {generator_cpu:.1} s | {:.1} / {:.1} ms |",
            all_matched.as_secs_f64(),
            (n / 2) as f64 / last_match.as_secs_f64(),
            percentile(&rtts, 0.5).as_secs_f64() * 1000.0,
            percentile(&rtts, 0.99).as_secs_f64() * 1000.0,
            percentile(&late, 0.99).as_secs_f64() * 1000.0,
            late.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
        );
        drop(relay);
    }
}
