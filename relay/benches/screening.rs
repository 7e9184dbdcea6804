//! `make bench`: the relay's own WebRTC peer (screening) under 1,000 native WebRTC pages
//! (webrtc-rs on the page side too), 50 at a time, against the release `rollgym` binary. Prints
//! screenings per second and the relay's memory and open file descriptors (its UDP sockets
//! among them) before and after each of two rounds: a peer that frees everything ends each
//! round with the descriptors it began with, and a second round adds no memory to the first.

#[path = "../tests/support/native_page.rs"]
mod native_page;
#[path = "support/relay_process.rs"]
mod relay_process;

use std::time::{Duration, Instant};

use relay_process::RelayProcess;
use rollgym_protocol::ServerMsg;

const SCREENINGS: usize = 1000;
const AT_ONCE: usize = 50;

const EXPERIMENT: &str =
    "[experiment]\nid = \"bench\"\n[screening]\nwebrtc = true\nmax_rtt_ms = 500\nrtt_samples = 3\n";

#[allow(clippy::print_stdout, reason = "a benchmark prints its table")]
fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let relay = RelayProcess::start("screening", EXPERIMENT, None);
    runtime.block_on(async {
        // One screening first, so what the relay sets up once is in the "before" figures.
        native_page::screen(relay.addr, "warm-up").await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        println!();
        println!("| round | screenings | at once | admitted | screenings/s | relay RSS before / after | relay open fds before / after |");
        println!("|---|---|---|---|---|---|---|");
        // Two rounds: memory a second round adds on top of the first is a leak; what the
        // first adds and the second does not is the allocator keeping its peak.
        for round in 1..=2 {
            let (rss_before, fds_before) = (relay.rss_kib(), relay.open_fds());
            let started = Instant::now();
            let mut admitted = 0;
            for batch in (0..SCREENINGS).collect::<Vec<_>>().chunks(AT_ONCE) {
                let pages = batch
                    .iter()
                    .map(|i| native_page::screen(relay.addr, format!("r{round}p{i}").leak()));
                for verdict in futures_util::future::join_all(pages).await {
                    admitted += usize::from(matches!(verdict, ServerMsg::Scene { .. }));
                }
            }
            let elapsed = started.elapsed().as_secs_f64();
            // Every peer connection closes once its screening is decided; give the last ones time.
            tokio::time::sleep(Duration::from_secs(2)).await;
            let (rss_after, fds_after) = (relay.rss_kib(), relay.open_fds());
            println!(
                "| {round} | {SCREENINGS} | {AT_ONCE} | {admitted} | {:.0} | {:.1} / {:.1} MiB | {fds_before} / {fds_after} |",
                SCREENINGS as f64 / elapsed,
                rss_before as f64 / 1024.0,
                rss_after as f64 / 1024.0,
            );
        }
    });
}
