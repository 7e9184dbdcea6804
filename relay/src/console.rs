//! The admin console's HTTP side, every route behind the admin token: `GET /admin/status`
//! (the lobby's snapshot once), `GET /admin/events` (the snapshot pushed as server-sent events
//! whenever it changes, at most four times a second, so a console open for hours costs the
//! relay nothing while nothing happens) and `POST /admin/study` (close or reopen the study to
//! new arrivals, with a reason; journaled in `admin_actions.jsonl`).

use std::{
    convert::Infallible,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    Json,
    extract::{Query, State},
    http::StatusCode,
    response::{
        IntoResponse, Response,
        sse::{Event as SseEvent, KeepAlive, Sse},
    },
};
use futures_util::stream::{self, Stream};
use serde::Deserialize;
use tokio::sync::{oneshot, watch};
use tokio_util::sync::CancellationToken;

use crate::{
    http::AppState,
    hub::Event,
    lobby::{AdminCommand, Snapshot},
};

/// Wrong tokens answered per [`GUESS_WINDOW`]; past that, wrong tokens get 429 until the
/// window ends (a right token always passes, so nobody can lock the researcher out).
const GUESSES_PER_WINDOW: u32 = 20;
const GUESS_WINDOW: Duration = Duration::from_secs(10);

/// Counts wrong admin tokens, so the token cannot be guessed at speed.
#[derive(Debug)]
pub(crate) struct WrongTokens {
    window_start: Instant,
    count: u32,
}

impl WrongTokens {
    pub(crate) fn new(now: Instant) -> Self {
        Self { window_start: now, count: 0 }
    }

    /// Records a wrong token at `now`; whether it may still be answered 401 (else 429).
    fn allow(&mut self, now: Instant) -> bool {
        if now.duration_since(self.window_start) >= GUESS_WINDOW {
            *self = Self::new(now);
        }
        self.count += 1;
        self.count <= GUESSES_PER_WINDOW
    }
}

/// The longest reason an admin action keeps.
const MAX_REASON_CHARS: usize = 500;

#[derive(Debug, Deserialize)]
pub(crate) struct AdminQuery {
    token: Option<String>,
}

/// Why a console request was not answered; the one place it becomes a response.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConsoleError {
    #[error("wrong or missing admin token")]
    Unauthorized,
    #[error("too many wrong admin tokens; wait a few seconds")]
    TooManyGuesses,
    #[error("{0}")]
    Unavailable(&'static str),
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let status = match self {
            ConsoleError::Unauthorized => StatusCode::UNAUTHORIZED,
            ConsoleError::TooManyGuesses => StatusCode::TOO_MANY_REQUESTS,
            ConsoleError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        (status, self.to_string()).into_response()
    }
}

/// The lobby's counts as JSON; 401 without the right token.
pub(crate) async fn status(
    State(state): State<AppState>,
    Query(query): Query<AdminQuery>,
) -> Result<Json<Snapshot>, ConsoleError> {
    check(&state, &query)?;
    Ok(Json(snapshot(&state).await?))
}

/// The snapshot now, then every change, as server-sent events (`data:` one JSON snapshot).
/// The stream ends when the relay shuts down.
pub(crate) async fn events(
    State(state): State<AppState>,
    Query(query): Query<AdminQuery>,
) -> Result<Response, ConsoleError> {
    check(&state, &query)?;
    // Subscribed before the first snapshot is taken, so no change falls between the two.
    let changes = state.console.subscribe();
    let first = snapshot(&state).await?;
    Ok(Sse::new(snapshots(first, changes, state.shutdown.clone()))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}

fn snapshots(
    first: Snapshot,
    changes: watch::Receiver<Arc<Snapshot>>,
    shutdown: CancellationToken,
) -> impl Stream<Item = Result<SseEvent, Infallible>> {
    let first = Some(Arc::new(first));
    stream::unfold((first, changes, shutdown), |(first, mut changes, shutdown)| async move {
        let next = match first {
            Some(snapshot) => snapshot,
            None => tokio::select! {
                () = shutdown.cancelled() => return None,
                changed = changes.changed() => {
                    changed.ok()?;
                    changes.borrow_and_update().clone()
                }
            },
        };
        let event = SseEvent::default().json_data(&*next).unwrap_or_default();
        Some((Ok(event), (None, changes, shutdown)))
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StudySwitch {
    open: bool,
    #[serde(default)]
    reason: String,
}

/// Closes or reopens the study to new arrivals; answers with the snapshot after it.
pub(crate) async fn study(
    State(state): State<AppState>,
    Query(query): Query<AdminQuery>,
    Json(switch): Json<StudySwitch>,
) -> Result<Json<Snapshot>, ConsoleError> {
    check(&state, &query)?;
    let reason: String = switch.reason.trim().chars().take(MAX_REASON_CHARS).collect();
    let command = AdminCommand::SetOpen { open: switch.open, reason };
    let (reply, answer) = oneshot::channel();
    Ok(Json(ask(&state, Event::Admin { command, reply }, answer).await?))
}

/// The admin token must be given (`?token=`); compared in constant time.
fn check(state: &AppState, query: &AdminQuery) -> Result<(), ConsoleError> {
    let given = query.token.as_deref().unwrap_or_default();
    if same_secret(given.as_bytes(), state.admin_token.as_bytes()) {
        return Ok(());
    }
    let allowed =
        state.wrong_tokens.lock().map(|mut guesses| guesses.allow(Instant::now())).unwrap_or(false);
    Err(if allowed { ConsoleError::Unauthorized } else { ConsoleError::TooManyGuesses })
}

async fn snapshot(state: &AppState) -> Result<Snapshot, ConsoleError> {
    let (reply, answer) = oneshot::channel();
    ask(state, Event::Snapshot { reply }, answer).await
}

/// Sends `event` to the hub and waits (at most two seconds) for its answer.
async fn ask(
    state: &AppState,
    event: Event,
    answer: oneshot::Receiver<Snapshot>,
) -> Result<Snapshot, ConsoleError> {
    if state.hub.send(event).await.is_err() {
        return Err(ConsoleError::Unavailable("the relay is shutting down"));
    }
    match tokio::time::timeout(Duration::from_secs(2), answer).await {
        Ok(Ok(snapshot)) => Ok(snapshot),
        _ => Err(ConsoleError::Unavailable("the lobby did not answer")),
    }
}

/// Compares secrets in time independent of where they differ.
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len()
        && given.iter().zip(expected).fold(0u8, |diff, (a, b)| diff | (a ^ b)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_tokens_are_answered_at_a_bounded_rate() {
        let start = Instant::now();
        let mut guesses = WrongTokens::new(start);
        for _ in 0..GUESSES_PER_WINDOW {
            assert!(guesses.allow(start));
        }
        assert!(!guesses.allow(start + Duration::from_secs(9)), "the 21st within ten seconds");
        assert!(guesses.allow(start + GUESS_WINDOW), "a new window");
    }

    #[test]
    fn secrets_compare_by_content_and_length() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abd", b"abc"));
        assert!(!same_secret(b"ab", b"abc"));
    }
}
