//! `POST /data/client-errors`: a participant's page reports an uncaught error, an unhandled
//! rejection or a `console.error` line (`rollgym.js` sends them, fire and forget), for the
//! admin console's problems and `client_errors.jsonl`.
//!
//! Untrusted like everything from the network: the body is bounded and its shape checked; the
//! lobby keeps reports only from participants it knows, at most twenty a minute each. A report
//! the relay does not keep is answered `202 {"kept": false, ...}`, not an error status, so a
//! participant's console is not filled with failed requests about a diagnostics channel.

use axum::{
    Json,
    body::{Body, to_bytes},
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use rollgym_protocol::ClientErrorRecord;
use serde::Serialize;
use tokio::sync::oneshot;

use crate::{http::AppState, hub::Event};

/// The largest report body accepted.
const MAX_REPORT_BYTES: usize = 8 * 1024;

#[derive(Serialize)]
struct Reply {
    kept: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

pub(crate) async fn report(State(state): State<AppState>, body: Body) -> Response {
    let mut response = match accept(&state, body).await {
        Ok(Ok(())) => (StatusCode::OK, Json(Reply { kept: true, reason: None })).into_response(),
        Ok(Err(refused)) => {
            (StatusCode::ACCEPTED, Json(Reply { kept: false, reason: Some(refused) }))
                .into_response()
        }
        Err((status, why)) => {
            (status, Json(Reply { kept: false, reason: Some(why) })).into_response()
        }
    };
    // Pages on another origin report too (a simple request: text/plain, no credentials).
    response
        .headers_mut()
        .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

/// `Ok(Ok)` kept, `Ok(Err)` refused by the lobby, `Err` not a report at all.
async fn accept(state: &AppState, body: Body) -> Result<Result<(), String>, (StatusCode, String)> {
    let bytes = to_bytes(body, MAX_REPORT_BYTES)
        .await
        .map_err(|_| (StatusCode::PAYLOAD_TOO_LARGE, format!("over {MAX_REPORT_BYTES} bytes")))?;
    let mut report: ClientErrorRecord = serde_json::from_slice(&bytes)
        .map_err(|e| (StatusCode::BAD_REQUEST, format!("malformed report: {e}")))?;
    // The relay's clock, whatever the page said.
    report.time_ms = crate::storage::unix_ms();
    let (reply, answer) = oneshot::channel();
    let unavailable = || (StatusCode::SERVICE_UNAVAILABLE, "the relay is shutting down".to_owned());
    let event = Event::ClientError { report: Box::new(report), reply };
    state.hub.send(event).await.map_err(|_| unavailable())?;
    let result = answer.await.map_err(|_| unavailable())?;
    Ok(result.map_err(|refused| refused.to_string()))
}
