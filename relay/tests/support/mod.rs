//! A real relay on port 0 and scripted WebSocket participants.

#![allow(dead_code, reason = "each test file uses a different part of the helpers")]

pub(crate) mod native_page;

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use futures_util::{SinkExt, StreamExt};
use rollgym_protocol::{
    ClientMsg, ErrorCode, ExperimentConfig, PROTOCOL_VERSION, ParticipantId, ServerMsg,
};
use rollgym_relay::{Relay, RelayOptions, config};
use tokio::{net::TcpStream, sync::oneshot, task::JoinHandle};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async, tungstenite::Message};

/// The admin token of every test relay.
pub(crate) const ADMIN_TOKEN: &str = "test-admin-token";

/// How long a test waits for an expected message before failing.
const PATIENCE: Duration = Duration::from_secs(5);

pub(crate) struct TestRelay {
    pub(crate) addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    pub(crate) data_dir: PathBuf,
    /// Keep the data directory when this relay is dropped (to restart on it).
    pub(crate) keep_data: bool,
}

impl TestRelay {
    pub(crate) async fn start() -> Self {
        let data_dir = std::env::temp_dir().join(format!("rollgym-test-{}", unique_suffix()));
        Self::start_in(data_dir).await
    }

    /// A relay on an existing data directory (a restart).
    pub(crate) async fn start_in(data_dir: PathBuf) -> Self {
        Self::start_with(config::load(None).expect("bundled config"), data_dir).await
    }

    /// A relay running `experiment` on a fresh data directory.
    pub(crate) async fn start_experiment(experiment: ExperimentConfig) -> Self {
        let data_dir = std::env::temp_dir().join(format!("rollgym-test-{}", unique_suffix()));
        Self::start_with(experiment, data_dir).await
    }

    /// A relay running `experiment` on an existing data directory (a restart).
    pub(crate) async fn start_with_data(experiment: ExperimentConfig, data_dir: PathBuf) -> Self {
        Self::start_with(experiment, data_dir).await
    }

    /// A relay serving `www_dir` in front of its built-in files.
    pub(crate) async fn start_serving(www_dir: PathBuf) -> Self {
        let data_dir = std::env::temp_dir().join(format!("rollgym-test-{}", unique_suffix()));
        let experiment = config::load(None).expect("bundled config");
        Self::start_options(experiment, data_dir, Some(www_dir)).await
    }

    async fn start_with(experiment: ExperimentConfig, data_dir: PathBuf) -> Self {
        Self::start_options(experiment, data_dir, None).await
    }

    async fn start_options(
        experiment: ExperimentConfig,
        data_dir: PathBuf,
        www_dir: Option<PathBuf>,
    ) -> Self {
        let options = RelayOptions {
            experiment,
            addr: "127.0.0.1:0".parse().expect("addr"),
            www_dir,
            data_dir: data_dir.clone(),
            admin_token: Some(ADMIN_TOKEN.into()),
        };
        let relay = Relay::bind(options).await.expect("bind");
        let addr = relay.local_addr();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(relay.run(async {
            let _ = stopped.await;
        }));
        Self { addr, stop: Some(stop), task: Some(task), data_dir, keep_data: false }
    }

    pub(crate) async fn client(&self) -> Client {
        let (ws, _) = connect_async(format!("ws://{}/ws", self.addr)).await.expect("connect");
        Client { ws }
    }

    /// Stops the relay and waits until it has closed every connection.
    pub(crate) async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(PATIENCE, task).await.expect("relay stops in time").expect("join");
        }
    }
}

impl Drop for TestRelay {
    fn drop(&mut self) {
        if !self.keep_data {
            let _ = std::fs::remove_dir_all(&self.data_dir);
        }
    }
}

fn unique_suffix() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!("{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

pub(crate) struct Client {
    pub(crate) ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    pub(crate) async fn send(&mut self, msg: &ClientMsg) {
        self.send_text(msg.encode()).await;
    }

    pub(crate) async fn send_text(&mut self, text: String) {
        self.ws.send(Message::text(text)).await.expect("send");
    }

    /// Sends `hello` as `id` and returns the welcome.
    async fn greet(&mut self, id: &str, rejoin: bool) -> ServerMsg {
        let participant_id = Some(pid(id));
        self.send(&ClientMsg::Hello { protocol_version: PROTOCOL_VERSION, participant_id, rejoin })
            .await;
        let welcome = self.recv().await;
        assert!(matches!(welcome, ServerMsg::Welcome { .. }), "{welcome:?}");
        welcome
    }

    /// Says hello as `id` and returns the welcome.
    pub(crate) async fn hello(&mut self, id: &str) -> ServerMsg {
        let welcome = self.greet(id, false).await;
        // Every participant starts in the first scene (the bundled experiment: its one game).
        let scene = self.recv().await;
        assert!(matches!(scene, ServerMsg::Scene { index: 0, .. }), "{scene:?}");
        welcome
    }

    /// Comes back as `id` to a game that started (`hello` with `rejoin`): welcomed, placed
    /// nowhere.
    pub(crate) async fn rejoin(&mut self, id: &str) {
        self.greet(id, true).await;
    }

    /// The next protocol message; fails the test if none comes.
    pub(crate) async fn recv(&mut self) -> ServerMsg {
        tokio::time::timeout(PATIENCE, self.recv_patiently()).await.expect("a message in time")
    }

    /// The next protocol message, however long it takes (the caller bounds the wait).
    pub(crate) async fn recv_patiently(&mut self) -> ServerMsg {
        loop {
            let frame = self.ws.next().await.expect("connection open").expect("valid frame");
            match frame {
                Message::Text(text) => return ServerMsg::decode(text.as_str()).expect("decodable"),
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("unexpected frame {other:?}"),
            }
        }
    }

    /// Every message the relay sent this client before it handled everything the client sent
    /// so far: sends a request the relay always refuses (leaving a scene it is not in) and
    /// collects what comes before the refusal. Messages to one connection keep their order, so
    /// "nothing happened" is an explicit condition, not a stretch of silence.
    pub(crate) async fn barrier(&mut self) -> Vec<ServerMsg> {
        self.send(&ClientMsg::Advance { from: u32::MAX }).await;
        let mut before = Vec::new();
        loop {
            match self.recv().await {
                ServerMsg::Error {
                    code: ErrorCode::WrongScene | ErrorCode::HelloRequired, ..
                } => {
                    return before;
                }
                other => before.push(other),
            }
        }
    }

    /// Like [`Client::barrier`], expecting nothing but waiting-room counts before it.
    pub(crate) async fn expect_nothing(&mut self) {
        let events: Vec<ServerMsg> = self
            .barrier()
            .await
            .into_iter()
            .filter(|m| !matches!(m, ServerMsg::Waiting { .. }))
            .collect();
        assert!(events.is_empty(), "expected nothing, got {events:?}");
    }

    /// Answers `count` of the relay's pings (it pings every second), each `delay` late, and
    /// returns once the relay has taken the last answer into account (a barrier after it).
    /// Protocol messages other than waiting-room counts fail the test.
    pub(crate) async fn answer_pings(&mut self, count: usize, delay: Duration) {
        let mut answered = 0;
        while answered < count {
            let frame = tokio::time::timeout(PATIENCE * 2, self.ws.next())
                .await
                .expect("the relay pings every second");
            match frame {
                Some(Ok(Message::Ping(_))) => {
                    // The simulated slowness of this client, not a wait for something.
                    tokio::time::sleep(delay).await;
                    // tungstenite queued the pong; flushing sends it now.
                    self.ws.flush().await.expect("pong sent");
                    answered += 1;
                }
                Some(Ok(frame)) if is_quiet(&frame) => continue,
                other => panic!("unexpected while answering pings: {other:?}"),
            }
        }
        self.expect_nothing().await;
    }

    /// Waits for the relay to close the connection and returns the close code.
    pub(crate) async fn closed(&mut self) -> Option<u16> {
        loop {
            match tokio::time::timeout(PATIENCE, self.ws.next()).await.expect("close in time") {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| f.code.into()),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    }
}

/// Control frames and waiting-room counts: nothing a pumping test waits for.
fn is_quiet(frame: &Message) -> bool {
    match frame {
        Message::Ping(_) | Message::Pong(_) => true,
        Message::Text(text) => {
            matches!(ServerMsg::decode(text.as_str()), Ok(ServerMsg::Waiting { .. }))
        }
        _ => false,
    }
}

pub(crate) fn pid(id: &str) -> ParticipantId {
    ParticipantId::parse(id).expect("valid id")
}

/// The first `lines` records of a match log, once they are written (on the blocking pool).
pub(crate) async fn match_log(path: &std::path::Path, lines: usize) -> Vec<serde_json::Value> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let records: Vec<serde_json::Value> = std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect();
        if records.len() >= lines {
            return records;
        }
        assert!(tokio::time::Instant::now() < deadline, "{path:?} has {} lines", records.len());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
