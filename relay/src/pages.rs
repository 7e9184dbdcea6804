//! `POST /data/pages`: what a participant's experiment page stores next to the game data (the
//! answers of a questionnaire, a consent record), one JSON file per participant and name:
//! `data/<experiment>/pages/<participant>_<name>.json`, written atomically and acknowledged
//! only once on disk.
//!
//! Untrusted like everything from the network: the body is bounded, its shape checked, the
//! ids are safe for file names, and only a participant the relay has seen in this experiment
//! may store anything (a stranger cannot fill the disk under invented ids).

use std::sync::Arc;

use axum::{
    Json,
    body::{Body, to_bytes},
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use rollgym_protocol::{ParticipantId, SafeId};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use crate::{http::AppState, hub::Event, storage::Storage};

/// The largest body accepted.
pub(crate) const MAX_PAGE_DATA_BYTES: usize = 256 * 1024;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PageData {
    participant_id: ParticipantId,
    /// Names the file; the same rules as ids.
    name: SafeId,
    data: serde_json::Value,
}

/// Why page data was not stored.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PageDataError {
    #[error("page data over {MAX_PAGE_DATA_BYTES} bytes")]
    TooLarge,
    #[error("malformed page data: {0}")]
    Malformed(String),
    #[error("participant {0} has not taken part in this study")]
    UnknownParticipant(ParticipantId),
    #[error("the relay is shutting down")]
    Unavailable,
    #[error("the data could not be written; try again")]
    Storage,
}

impl PageDataError {
    fn status(&self) -> StatusCode {
        match self {
            PageDataError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            PageDataError::Malformed(_) => StatusCode::BAD_REQUEST,
            PageDataError::UnknownParticipant(_) => StatusCode::FORBIDDEN,
            PageDataError::Unavailable | PageDataError::Storage => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            PageDataError::TooLarge => "too_large",
            PageDataError::Malformed(_) => "malformed",
            PageDataError::UnknownParticipant(_) => "unknown_participant",
            PageDataError::Unavailable => "unavailable",
            PageDataError::Storage => "storage_failed",
        }
    }
}

#[derive(Serialize)]
struct Reply {
    stored: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

/// The one place a page-data error becomes a response: its status and a JSON body the page
/// can act on (`stored: false`, a code, a message).
impl IntoResponse for PageDataError {
    fn into_response(self) -> Response {
        tracing::info!(error = %self, "page data refused");
        let reply =
            Reply { stored: false, code: Some(self.code()), message: Some(self.to_string()) };
        (self.status(), Json(reply)).into_response()
    }
}

pub(crate) async fn store(State(state): State<AppState>, body: Body) -> Response {
    let mut response = match accept(&state, body).await {
        Ok(()) => Json(Reply { stored: true, code: None, message: None }).into_response(),
        Err(err) => err.into_response(),
    };
    // An experiment page served from another origin may store data too: nothing here relies
    // on cookies or credentials, and its request is a simple one (text/plain, no preflight).
    response
        .headers_mut()
        .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

async fn accept(state: &AppState, body: Body) -> Result<(), PageDataError> {
    let bytes = to_bytes(body, MAX_PAGE_DATA_BYTES).await.map_err(|_| PageDataError::TooLarge)?;
    let page: PageData =
        serde_json::from_slice(&bytes).map_err(|e| PageDataError::Malformed(e.to_string()))?;
    let (reply, known) = oneshot::channel();
    let ask = Event::Knows { participant: page.participant_id.clone(), reply };
    state.hub.send(ask).await.map_err(|_| PageDataError::Unavailable)?;
    if !known.await.map_err(|_| PageDataError::Unavailable)? {
        return Err(PageDataError::UnknownParticipant(page.participant_id));
    }
    let json = serde_json::to_vec_pretty(&page.data)
        .map_err(|e| PageDataError::Malformed(e.to_string()))?;
    let storage = Arc::clone(&state.storage);
    let (participant, name) = (page.participant_id, page.name);
    tokio::task::spawn_blocking(move || write(&storage, &participant, &name, &json))
        .await
        .map_err(|_| PageDataError::Storage)?
}

fn write(
    storage: &Storage,
    participant: &ParticipantId,
    name: &SafeId,
    json: &[u8],
) -> Result<(), PageDataError> {
    let dir = storage.root().join("pages");
    let path = dir.join(format!("{participant}_{name}.json"));
    std::fs::create_dir_all(&dir).and_then(|()| storage.write_atomic(&path, json)).map_err(
        |err| {
            tracing::error!(path = %path.display(), error = %err, "cannot store page data");
            PageDataError::Storage
        },
    )?;
    tracing::info!(participant = %participant, name = %name, "page data stored");
    Ok(())
}
