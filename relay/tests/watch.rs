//! Watching a game through real HTTP and WebSockets: `GET /admin/watch` needs the token and a
//! running game; the first watcher turns the first player's feed on, the rows it forwards come
//! out of the stream, dropping the stream turns the feed off, and a game that ends ends the
//! stream.

mod support;

use rollgym_protocol::{ClientMsg, ExperimentConfig, GameId, ServerMsg, SpectateFrames};
use rollgym_relay::config;
use support::{ADMIN_TOKEN, Client, TestRelay};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

fn quick() -> ExperimentConfig {
    let mut experiment = config::load(None).expect("bundled config");
    experiment.game.countdown_ms = 0;
    experiment
}

/// A server-sent-events response read over a plain HTTP/1.1 connection (chunked).
struct Stream {
    reader: BufReader<tokio::net::TcpStream>,
    buffered: String,
}

impl Stream {
    /// Opens `path`; returns the status and, for 200, the stream.
    async fn open(relay: &TestRelay, path: &str) -> (u16, Option<Stream>) {
        let mut tcp = tokio::net::TcpStream::connect(relay.addr).await.expect("connect");
        let request = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", relay.addr);
        tcp.write_all(request.as_bytes()).await.expect("write");
        let mut reader = BufReader::new(tcp);
        let mut status_line = String::new();
        reader.read_line(&mut status_line).await.expect("status line");
        let status = status_line.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status");
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).await.expect("header");
            if header == "\r\n" {
                break;
            }
        }
        let stream = (status == 200).then(|| Stream { reader, buffered: String::new() });
        (status, stream)
    }

    /// The next event's name and data; `None` when the response ended.
    async fn next(&mut self) -> Option<(String, String)> {
        loop {
            if let Some((event, rest)) = self.buffered.split_once("\n\n") {
                let (event, rest) = (event.to_owned(), rest.to_owned());
                self.buffered = rest;
                let field = |name: &str| {
                    event.lines().find_map(|l| l.strip_prefix(name)).unwrap_or_default().to_owned()
                };
                if event.starts_with(':') {
                    continue; // a keep-alive comment
                }
                return Some((field("event: "), field("data: ")));
            }
            let mut size = String::new();
            self.reader.read_line(&mut size).await.ok()?;
            let size = usize::from_str_radix(size.trim(), 16).ok()?;
            if size == 0 {
                return None;
            }
            let mut chunk = vec![0; size + 2];
            self.reader.read_exact(&mut chunk).await.ok()?;
            self.buffered.push_str(&String::from_utf8_lossy(&chunk[..size]));
        }
    }

    async fn next_in_time(&mut self) -> Option<(String, String)> {
        tokio::time::timeout(std::time::Duration::from_secs(5), self.next()).await.expect("in time")
    }
}

/// The next message that is not a waiting-room count.
async fn next_event(client: &mut Client) -> ServerMsg {
    loop {
        match client.recv().await {
            ServerMsg::Waiting { .. } => continue,
            other => return other,
        }
    }
}

/// Two players paired and started; returns them in player order.
async fn started(relay: &TestRelay) -> (Client, Client, GameId) {
    let (mut first, mut second) = (relay.client().await, relay.client().await);
    first.hello("a").await;
    second.hello("b").await;
    let mut players = Vec::new();
    for mut c in [first, second] {
        let ServerMsg::Paired { game_id, player_index, .. } = next_event(&mut c).await else {
            panic!("paired")
        };
        c.send(&ClientMsg::Validated { game_id: game_id.clone(), env: None, rtt_ms: None }).await;
        players.push((player_index, c, game_id));
    }
    players.sort_by_key(|(index, _, _)| *index);
    let [(_, mut zero, game), (_, mut one, _)] = <[_; 2]>::try_from(players).ok().expect("two");
    for c in [&mut zero, &mut one] {
        assert_eq!(
            next_event(c).await,
            ServerMsg::Start { game_id: game.clone(), input_delay: None }
        );
    }
    (zero, one, game)
}

fn rows(game: &GameId, t: u32, count: usize) -> SpectateFrames {
    SpectateFrames {
        game_id: game.clone(),
        episode: 0,
        t,
        frame: 90 + t as i32,
        seed: (t == 0).then_some(u64::MAX - 1),
        actions: vec![2; count * 2],
        state_hash: u64::MAX,
    }
}

#[tokio::test]
async fn a_watched_game_streams_its_rows_until_the_watch_or_the_game_ends() {
    let relay = TestRelay::start_experiment(quick()).await;
    let (mut zero, mut one, game) = started(&relay).await;
    let watch = |token: &str, game: &str| format!("/admin/watch?token={token}&game={game}");
    assert_eq!(Stream::open(&relay, &watch("wrong", game.as_str())).await.0, 401);
    assert_eq!(Stream::open(&relay, &watch(ADMIN_TOKEN, "g-nope")).await.0, 404);

    let (status, stream) = Stream::open(&relay, &watch(ADMIN_TOKEN, game.as_str())).await;
    assert_eq!(status, 200);
    let mut stream = stream.expect("a stream");
    let (event, data) = stream.next_in_time().await.expect("start");
    assert_eq!(event, "start");
    let start: serde_json::Value = serde_json::from_str(&data).expect("JSON");
    assert_eq!(start["settings"]["env"], "overcooked");
    assert_eq!(next_event(&mut zero).await, ServerMsg::Watch { game_id: game.clone(), on: true });
    assert!(one.barrier().await.is_empty(), "only the first player feeds");

    let sent = rows(&game, 0, 10);
    zero.send(&ClientMsg::Frames(Box::new(sent.clone()))).await;
    let (event, data) = stream.next_in_time().await.expect("frames");
    assert_eq!(event, "frames");
    assert_eq!(
        serde_json::from_str::<SpectateFrames>(&data).expect("a batch"),
        sent,
        "64-bit values whole"
    );

    // The console goes away: the page stops feeding.
    drop(stream);
    assert_eq!(next_event(&mut zero).await, ServerMsg::Watch { game_id: game.clone(), on: false });

    // Watching again: the page is asked to feed again from the episode's first row; a second
    // console gets what the relay kept of the episode so far, then the same rows as the first.
    let (_, stream) = Stream::open(&relay, &watch(ADMIN_TOKEN, game.as_str())).await;
    let mut stream = stream.expect("a stream");
    assert_eq!(stream.next_in_time().await.expect("start").0, "start");
    assert_eq!(next_event(&mut zero).await, ServerMsg::Watch { game_id: game.clone(), on: true });
    zero.send(&ClientMsg::Frames(Box::new(sent.clone()))).await;
    assert_eq!(stream.next_in_time().await.expect("frames").0, "frames");
    let (_, later) = Stream::open(&relay, &watch(ADMIN_TOKEN, game.as_str())).await;
    let mut later = later.expect("a stream");
    assert_eq!(later.next_in_time().await.expect("start").0, "start");
    let (event, data) = later.next_in_time().await.expect("the episode so far");
    assert_eq!((event.as_str(), serde_json::from_str(&data).ok()), ("frames", Some(sent)));
    let more = rows(&game, 10, 4);
    zero.send(&ClientMsg::Frames(Box::new(more.clone()))).await;
    for watcher in [&mut stream, &mut later] {
        let (_, data) = watcher.next_in_time().await.expect("frames");
        assert_eq!(serde_json::from_str::<SpectateFrames>(&data).ok(), Some(more.clone()));
    }
    drop(one);
    for watcher in [&mut stream, &mut later] {
        let (event, data) = watcher.next_in_time().await.expect("the end");
        assert_eq!((event.as_str(), data.as_str()), ("end", r#"{"reason":"over"}"#));
        assert_eq!(watcher.next_in_time().await, None, "the response ends");
    }
    relay.shutdown().await;
}
