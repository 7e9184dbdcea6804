//! The HTTP side of the one port: static files (www/ and the wasm package, the admin page),
//! the upgrade of `GET /ws` to a WebSocket, the admin console's routes (`console.rs`), and
//! `POST /data/pages` for what experiment pages store (`pages.rs`).

use std::{
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use axum::{
    Router,
    body::Body,
    extract::{Request, State},
    handler::HandlerWithoutStateExt,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use hyper_util::rt::TokioIo;
use tokio::sync::mpsc;
use tokio_tungstenite::{
    WebSocketStream,
    tungstenite::{handshake::derive_accept_key, protocol::Role, protocol::WebSocketConfig},
};
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tower_http::{
    compression::{
        CompressionLayer,
        predicate::{DefaultPredicate, NotForContentType, Predicate},
    },
    services::ServeDir,
    set_header::SetResponseHeaderLayer,
};

use crate::{connection, hub::Event, lobby::ConnId};

/// Hard limit on one WebSocket message: the largest upload plus its JSON framing. Larger
/// messages end the connection (close code 1009); messages between the protocol limits and
/// this one get a `too_large` error reply.
pub const HARD_MESSAGE_LIMIT: usize = rollgym_protocol::MAX_UPLOAD_BYTES + 64 * 1024;

/// The initial read buffer of a WebSocket.
const READ_BUFFER_BYTES: usize = 512;

/// What the handlers need.
#[derive(Debug, Clone)]
pub(crate) struct AppState {
    pub(crate) hub: mpsc::Sender<Event>,
    pub(crate) shutdown: CancellationToken,
    pub(crate) tracker: TaskTracker,
    pub(crate) next_conn: Arc<AtomicU64>,
    /// The secret of the admin routes (`?token=`).
    pub(crate) admin_token: Arc<str>,
    /// The lobby's snapshot as JSON, replaced by the hub when it changed (the console's live
    /// push; serialized once for every console).
    pub(crate) console: tokio::sync::watch::Sender<Arc<str>>,
    /// Wrong admin tokens lately (`console.rs`).
    pub(crate) wrong_tokens: Arc<std::sync::Mutex<crate::console::WrongTokens>>,
    pub(crate) storage: Arc<crate::storage::Storage>,
}

pub(crate) fn router(www: Option<&Path>, state: AppState) -> Router {
    let built_in = crate::assets::built_in.into_service();
    let routes = Router::new()
        .route("/ws", get(upgrade))
        .route("/admin/status", get(crate::console::status))
        .route("/admin/events", get(crate::console::events))
        .route("/admin/study", post(crate::console::study))
        .route("/admin/end-game", post(crate::console::end_game))
        .route("/admin/exclude", post(crate::console::exclude))
        .route("/admin/participant", get(crate::console::participant))
        .route("/admin/download", get(crate::console::download))
        .route("/admin/file", get(crate::console::file))
        .route("/admin/watch", get(crate::watch::watch))
        .route("/data/pages", post(crate::pages::store))
        .route("/data/client-errors", post(crate::client_errors::report))
        .with_state(state);
    let routes = match www {
        Some(dir) => routes.fallback_service(
            ServeDir::new(dir).append_index_html_on_directories(true).fallback(built_in),
        ),
        None => routes.fallback_service(built_in),
    };
    routes
        // The page and its wasm change with every build; always revalidate (ETag/Last-Modified).
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ))
        // A zip is compressed already (and the data download is streamed as it is written).
        .layer(CompressionLayer::new().compress_when(
            DefaultPredicate::new().and(NotForContentType::const_new("application/zip")),
        ))
}

async fn upgrade(State(state): State<AppState>, mut req: Request) -> Response {
    let headers = req.headers();
    let is_upgrade = headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let version_ok =
        headers.get(header::SEC_WEBSOCKET_VERSION).is_some_and(|v| v.as_bytes() == b"13");
    let Some(key) = headers.get(header::SEC_WEBSOCKET_KEY) else {
        return (StatusCode::BAD_REQUEST, "expected a WebSocket upgrade").into_response();
    };
    if !is_upgrade || !version_ok {
        return (StatusCode::BAD_REQUEST, "expected a WebSocket upgrade (version 13)")
            .into_response();
    }
    let accept = derive_accept_key(key.as_bytes());
    let on_upgrade = hyper::upgrade::on(&mut req);
    let conn = ConnId(state.next_conn.fetch_add(1, Ordering::Relaxed));
    let tracker = state.tracker.clone();
    tracker.spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(upgraded) => upgraded,
            Err(err) => {
                tracing::info!(conn = conn.0, error = %err, "websocket upgrade failed");
                return;
            }
        };
        // Small buffers: the defaults (128 kB each way) would cost over a gigabyte at 10,000
        // participants, whose messages are almost all a few hundred bytes; the read buffer
        // grows for the rare upload.
        let config = WebSocketConfig::default()
            .max_message_size(Some(HARD_MESSAGE_LIMIT))
            .max_frame_size(Some(HARD_MESSAGE_LIMIT))
            .read_buffer_size(READ_BUFFER_BYTES)
            .write_buffer_size(0);
        let ws =
            WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config))
                .await;
        tracing::debug!(conn = conn.0, "websocket open");
        connection::run(conn, ws, state.hub, state.shutdown).await;
        tracing::debug!(conn = conn.0, "websocket closed");
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "upgrade")
        .header(header::UPGRADE, "websocket")
        .header(header::SEC_WEBSOCKET_ACCEPT, accept)
        .body(Body::empty())
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}
