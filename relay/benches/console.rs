//! `make bench`: what open admin consoles cost the relay. 500 scripted participants are
//! matched and then report their game's health every 2 s (as real pages do), so the lobby
//! changes all the time; 0, 1 and 10 consoles listen to `GET /admin/events` for 20 s. Prints the
//! relay's CPU over those 20 s, the snapshots each console received per second, their size and
//! the bytes per second each console received (the hub paces pushes by size).
//! The relay runs pinned to the last core and this generator to the first (see `load.rs`).

#[path = "support/relay_process.rs"]
mod relay_process;

use std::{process::Command, time::Duration};

use futures_util::{SinkExt, StreamExt};
use relay_process::{ADMIN_TOKEN, RelayProcess, cpu_seconds, pin_self};
use rollgym_protocol::{
    ClientMsg, GameHealth, HEALTH_INTERVAL_MS, PROTOCOL_VERSION, ParticipantId, ServerMsg,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    sync::{mpsc, watch},
};
use tokio_tungstenite::{connect_async, tungstenite::Message};

const PARTICIPANTS: usize = 500;
const WINDOW: Duration = Duration::from_secs(20);
const CONSOLES: [usize; 3] = [0, 1, 10];

/// Long countdown and wait: everyone stays matched while measured.
const EXPERIMENT: &str = "[experiment]\nid = \"console\"\n[game]\ncountdown_ms = 60000\n[waiting_room]\ntimeout_ms = 3600000\n";

/// One participant: hello, matched (then `ready`), then a health report every interval until
/// `stop`.
async fn participant(
    url: String,
    i: usize,
    ready: mpsc::UnboundedSender<()>,
    mut stop: watch::Receiver<bool>,
) {
    let (mut ws, _) = connect_async(&url).await.expect("connect");
    let id = ParticipantId::parse(&format!("console-{i}")).expect("id");
    let hello = ClientMsg::Hello {
        protocol_version: PROTOCOL_VERSION,
        participant_id: Some(id),
        rejoin: false,
    };
    ws.send(Message::text(hello.encode())).await.expect("hello");
    let game_id = loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => {
                if let Ok(ServerMsg::Paired { game_id, .. }) = ServerMsg::decode(text.as_str()) {
                    break game_id;
                }
            }
            Some(Ok(_)) => {}
            _ => panic!("connection lost before the match"),
        }
    };
    // Validated at once: the game waits for its countdown instead of being dissolved.
    let validated = ClientMsg::Validated { game_id: game_id.clone(), env: None, rtt_ms: None };
    ws.send(Message::text(validated.encode())).await.expect("validated");
    let _ = ready.send(());
    // Spread over the interval, as real pages are.
    let offset = (i as u64 * 7919) % u64::from(HEALTH_INTERVAL_MS);
    tokio::time::sleep(Duration::from_millis(offset)).await;
    let mut frame = 0;
    let mut every = tokio::time::interval(Duration::from_millis(u64::from(HEALTH_INTERVAL_MS)));
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            _ = every.tick() => {
                frame += 60;
                let report = GameHealth {
                    game_id: game_id.clone(),
                    rtt_ms: Some(30 + (frame as u32 % 17)),
                    connection: Some("host".into()),
                    rollbacks: frame as u64 / 10,
                    frame,
                    confirmed_frame: frame - 2,
                    episode: 0,
                    desyncs: 0,
                    stalled: false,
                    pending_uploads: 0,
                };
                let msg = ClientMsg::Health(Box::new(report)).encode();
                if ws.send(Message::text(msg)).await.is_err() {
                    break;
                }
            }
            incoming = ws.next() => if incoming.is_none() { break },
        }
    }
}

/// One console: `GET /admin/events` over a plain TCP stream until `stop` (`ready` once the
/// first snapshot arrived); returns the snapshots (`data:` lines) and bytes received.
async fn console(
    addr: std::net::SocketAddr,
    ready: mpsc::UnboundedSender<()>,
    mut stop: watch::Receiver<bool>,
) -> (usize, usize) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!(
        "GET /admin/events?token={ADMIN_TOKEN} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.expect("request");
    let (mut events, mut bytes) = (0, 0);
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            read = stream.read(&mut buffer) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    bytes += n;
                    let before = events;
                    events += buffer[..n].windows(5).filter(|w| w == b"data:").count();
                    if before == 0 && events > 0 {
                        let _ = ready.send(());
                    }
                }
            },
        }
    }
    (events, bytes)
}

/// The relay on the last core and this process on the first, where the machine allows.
fn placement() -> Option<usize> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let taskset = Command::new("taskset").arg("-V").output().is_ok_and(|o| o.status.success());
    if cores < 2 || !taskset {
        return None;
    }
    pin_self(0);
    Some(cores - 1)
}

#[allow(clippy::print_stdout, reason = "a benchmark prints its table")]
fn main() {
    let relay_core = placement();
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    println!(
        "\nadmin consoles open while {PARTICIPANTS} participants report health every {HEALTH_INTERVAL_MS} ms ({} s window)",
        WINDOW.as_secs()
    );
    println!(
        "| consoles | relay CPU (share of one core) | snapshots/s per console | snapshot size | bytes/s per console |"
    );
    println!("|---|---|---|---|---|");
    for consoles in CONSOLES {
        let relay = RelayProcess::start("console", EXPERIMENT, relay_core);
        let (stop, stopped) = watch::channel(false);
        let (cpu, received) = runtime.block_on(async {
            let (ready, mut readied) = mpsc::unbounded_channel();
            let mut people = Vec::new();
            for i in 0..PARTICIPANTS {
                let task = participant(relay.ws_url(), i, ready.clone(), stopped.clone());
                people.push(tokio::spawn(task));
            }
            // Everyone matched before the consoles open, every console live before the window.
            for _ in 0..PARTICIPANTS {
                readied.recv().await.expect("a participant matched");
            }
            let (live, mut lived) = mpsc::unbounded_channel();
            let watchers: Vec<_> = (0..consoles)
                .map(|_| tokio::spawn(console(relay.addr, live.clone(), stopped.clone())))
                .collect();
            for _ in 0..consoles {
                lived.recv().await.expect("a console live");
            }
            let before = cpu_seconds(&format!("/proc/{}/stat", relay.pid()));
            tokio::time::sleep(WINDOW).await;
            let cpu = cpu_seconds(&format!("/proc/{}/stat", relay.pid())) - before;
            let _ = stop.send(true);
            let mut received = Vec::new();
            for watcher in watchers {
                received.push(watcher.await.expect("console"));
            }
            for person in people {
                let _ = person.await;
            }
            (cpu, received)
        });
        let seconds = WINDOW.as_secs_f64();
        let (events, bytes) = received.iter().fold((0, 0), |(e, b), (de, db)| (e + de, b + db));
        let per = consoles.max(1) as f64;
        let size = if events > 0 {
            format!("{:.0} kB", bytes as f64 / events as f64 / 1000.0)
        } else {
            "–".into()
        };
        println!(
            "| {consoles} | {:.1} % | {:.1} | {size} | {:.0} kB/s |",
            cpu / WINDOW.as_secs_f64() * 100.0,
            events as f64 / per / seconds,
            bytes as f64 / per / seconds / 1000.0,
        );
        drop(relay);
    }
}
