//! `make bench`: what open admin consoles cost the relay. 500 scripted participants are
//! matched and then report their game's health every 2 s (as real pages do), so the lobby
//! changes all the time; 0, 1 and 10 consoles listen to `GET /admin/events` for 20 s. Prints the
//! relay's CPU over those 20 s, the snapshots each console received per second, their size and
//! the bytes per second each console received (the hub paces pushes by size).
//! The relay runs pinned to the last core and this generator to the first (see `load.rs`).

#[path = "support/relay_process.rs"]
mod relay_process;

use std::{
    process::{Command, Stdio},
    time::Duration,
};

use futures_util::{SinkExt, StreamExt};
use relay_process::{ADMIN_TOKEN, RelayProcess};
use rollgym_protocol::{
    ClientMsg, GameHealth, HEALTH_INTERVAL_MS, PROTOCOL_VERSION, ParticipantId, ServerMsg,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    sync::watch,
};
use tokio_tungstenite::{connect_async, tungstenite::Message};

const PARTICIPANTS: usize = 500;
const WINDOW: Duration = Duration::from_secs(20);
const CONSOLES: [usize; 3] = [0, 1, 10];

/// Long countdown and wait: everyone stays matched while measured.
const EXPERIMENT: &str = "[experiment]\nid = \"console\"\n[game]\ncountdown_ms = 60000\n[waiting_room]\ntimeout_ms = 3600000\n";

/// One participant: hello, matched, then a health report every interval until `stop`.
async fn participant(url: String, i: usize, mut stop: watch::Receiver<bool>) {
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
    let validated = ClientMsg::Validated { game_id: game_id.clone(), env: None };
    ws.send(Message::text(validated.encode())).await.expect("validated");
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

/// One console: `GET /admin/events` over a plain TCP stream until `stop`; returns the
/// snapshots (`data:` lines) and bytes received.
async fn console(addr: std::net::SocketAddr, mut stop: watch::Receiver<bool>) -> (usize, usize) {
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
                    events += buffer[..n].windows(5).filter(|w| w == b"data:").count();
                }
            },
        }
    }
    (events, bytes)
}

fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> =
        stat.rsplit_once(')').map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// The relay on the last core and this process on the first, where the machine allows.
fn placement() -> Option<usize> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let taskset = Command::new("taskset").arg("-V").output().is_ok_and(|o| o.status.success());
    if cores < 2 || !taskset {
        return None;
    }
    let pid = std::process::id().to_string();
    let _ =
        Command::new("taskset").args(["-a", "-c", "-p", "0", &pid]).stdout(Stdio::null()).status();
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
            let mut people = Vec::new();
            for i in 0..PARTICIPANTS {
                people.push(tokio::spawn(participant(relay.ws_url(), i, stopped.clone())));
            }
            // Everyone matched and reporting before the window opens.
            tokio::time::sleep(Duration::from_secs(3)).await;
            let watchers: Vec<_> =
                (0..consoles).map(|_| tokio::spawn(console(relay.addr, stopped.clone()))).collect();
            tokio::time::sleep(Duration::from_secs(1)).await;
            let before = cpu_seconds(relay.pid());
            tokio::time::sleep(WINDOW).await;
            let cpu = cpu_seconds(relay.pid()) - before;
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
        let seconds = WINDOW.as_secs_f64() + 1.0;
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
