//! Binding the port and running the relay until shutdown.

use std::{
    future::Future,
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, atomic::AtomicU64},
};

use rollgym_protocol::{ConfigError, ExperimentConfig, ParticipantId, SafeId};
use tokio::{net::TcpListener, sync::mpsc};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    error::StartError,
    http, hub,
    lobby::{Lobby, Progress},
    screen_peer::ScreenPeer,
    storage::Storage,
};

/// Everything `rollgym serve` needs.
#[derive(Debug, Clone)]
pub struct RelayOptions {
    pub experiment: ExperimentConfig,
    pub addr: SocketAddr,
    /// Served at `/` in front of the built-in page and package (`assets.rs`): a researcher's
    /// own pages. `None` serves the built-in files alone.
    pub www_dir: Option<PathBuf>,
    /// Root of the research data (`<data_dir>/<experiment>/...`).
    pub data_dir: PathBuf,
    /// The secret of the admin page; `None` draws a random one at start.
    pub admin_token: Option<String>,
}

/// A relay bound to its port, not yet serving. Binding first lets callers (tests, `make run`)
/// learn the real address when they asked for port 0.
#[derive(Debug)]
pub struct Relay {
    listener: TcpListener,
    options: RelayOptions,
    storage: Arc<Storage>,
    /// Read back from the data directory: where returning participants continue.
    progress: Vec<(ParticipantId, Progress)>,
    /// Read back from the match logs, oldest first.
    decisions: Vec<rollgym_protocol::MatchLogRecord>,
    /// `screening.jsonl`, read back so a participant turned away stays turned away.
    screenings: Vec<rollgym_protocol::ScreeningRecord>,
    /// Read back from `admin_actions.jsonl`: whether the study is closed.
    admin: Vec<rollgym_protocol::AdminRecord>,
    admin_token: Arc<str>,
    /// Time-limited TURN credentials for every page (`[webrtc.turn]`).
    turn: Option<crate::turn::Issuer>,
}

impl Relay {
    pub async fn bind(options: RelayOptions) -> Result<Self, StartError> {
        if let Some(dir) = options.www_dir.as_ref().filter(|dir| !dir.is_dir()) {
            return Err(StartError::MissingWww(dir.clone()));
        }
        let experiment_id = SafeId::parse(&options.experiment.experiment.id).map_err(|e| {
            StartError::InvalidConfig {
                path: "experiment".into(),
                source: ConfigError::BadExperimentId(options.experiment.experiment.id.clone(), e),
            }
        })?;
        let turn = crate::turn::Issuer::new(
            options.experiment.webrtc.turn.as_ref(),
            std::env::var(crate::turn::SECRET_ENV).ok(),
        )
        .map_err(StartError::Turn)?;
        let storage = Storage::open(&options.data_dir, &experiment_id)
            .map_err(|source| StartError::DataDir { path: options.data_dir.clone(), source })?;
        // Without them, returning participants would start over (and could overwrite their
        // data) and GroupReunion would forget partners, so unreadable journals stop the start.
        let journal_error =
            |source| StartError::ReadJournal { path: storage.root().to_owned(), source };
        let progress = storage.load_progress().map_err(journal_error)?;
        let decisions = storage.load_match_decisions().map_err(journal_error)?;
        let screenings = storage.load_screening().map_err(journal_error)?;
        let admin = storage.load_admin().map_err(journal_error)?;
        let listener = TcpListener::bind(options.addr)
            .await
            .map_err(|source| StartError::Bind { addr: options.addr, source })?;
        let admin_token: Arc<str> = match &options.admin_token {
            Some(token) => token.as_str().into(),
            None => format!("{:032x}", rand::random::<u128>()).into(),
        };
        Ok(Self {
            listener,
            options,
            storage: Arc::new(storage),
            progress,
            decisions,
            screenings,
            admin,
            admin_token,
            turn,
        })
    }

    /// The token the admin page needs (`/admin.html?token=...`).
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or(self.options.addr)
    }

    /// Serves until `shutdown` completes, then closes every WebSocket (code 1001) and waits for
    /// the connection tasks to finish.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) {
        let screen_peer = ScreenPeer::new(&self.options.experiment, self.local_addr());
        let mut lobby = Lobby::new(self.options.experiment.clone(), rand::random());
        if !self.progress.is_empty() {
            tracing::info!(records = self.progress.len(), "participants' progress restored");
        }
        lobby.restore_progress(self.progress);
        lobby.restore_decisions(self.decisions);
        lobby.restore_screening(self.screenings);
        lobby.restore_admin(self.admin);
        let (console, _) = tokio::sync::watch::channel(Arc::<str>::from("{}"));
        let (hub_tx, hub_rx) = mpsc::channel(1024);
        let cancel = CancellationToken::new();
        let parts = hub::Parts {
            storage: self.storage.clone(),
            screen_peer: screen_peer.clone(),
            hub: hub_tx.downgrade(),
            console: console.clone(),
            turn: self.turn.clone(),
        };
        let hub_task = tokio::spawn(hub::run(lobby, parts, hub_rx, cancel.clone()));
        let tracker = TaskTracker::new();
        let state = http::AppState {
            hub: hub_tx,
            shutdown: cancel.clone(),
            tracker: tracker.clone(),
            next_conn: Arc::new(AtomicU64::new(1)),
            admin_token: self.admin_token.clone(),
            storage: self.storage.clone(),
            console,
            wrong_tokens: Arc::new(std::sync::Mutex::new(crate::console::WrongTokens::new(
                std::time::Instant::now(),
            ))),
        };
        let app = http::router(self.options.www_dir.as_deref(), state);
        let stop = cancel.clone();
        let serve = axum::serve(self.listener, app).with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down");
            stop.cancel();
        });
        if let Err(err) = serve.await {
            tracing::error!(error = %err, "http server failed");
        }
        cancel.cancel();
        tracker.close();
        tracker.wait().await;
        // Every screening's peer connection closes (its report goes nowhere now).
        screen_peer.shut_down().await;
        // The router (holding the last hub sender) is gone, so the hub ends.
        let _ = hub_task.await;
        tracing::info!("relay stopped");
    }
}
