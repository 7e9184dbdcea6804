//! The admin console's HTTP side, every route behind the admin token: `GET /admin/status`
//! (the lobby's snapshot once), `GET /admin/events` (the snapshot pushed as server-sent events
//! whenever it changes, at most four times a second and less often as it grows (the hub paces
//! it), so a console open for hours costs the relay nothing while nothing happens),
//! `GET /admin/participant` (one participant's
//! timeline and data files), `GET /admin/file` (one stored file: the console's replay reads an
//! episode with it), `GET /admin/download` (the data directory, or one scene's, as a zip) and
//! the actions, each with a reason and journaled in `admin_actions.jsonl`:
//! `POST /admin/study` (close or reopen the study to new arrivals), `POST /admin/end-game`,
//! `POST /admin/exclude`.

use std::{
    convert::Infallible,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    Json,
    extract::{Query, State},
    http::{StatusCode, header},
    response::{
        IntoResponse, Response,
        sse::{Event as SseEvent, KeepAlive, Sse},
    },
};
use futures_util::stream::{self, Stream};
use rollgym_protocol::{GameId, ParticipantId, SceneId};
use serde::{Deserialize, Serialize};
use tokio::sync::{oneshot, watch};
use tokio_util::sync::CancellationToken;

use crate::{
    download,
    http::AppState,
    hub::Event,
    lobby::{AdminCommand, AdminError, ParticipantDetail, Snapshot},
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
    pub(crate) token: Option<String>,
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
    #[error("{0}")]
    NotFound(String),
    #[error("cannot read the data directory: {0}")]
    Storage(String),
}

impl From<AdminError> for ConsoleError {
    fn from(err: AdminError) -> Self {
        ConsoleError::NotFound(err.to_string())
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let status = match self {
            ConsoleError::Unauthorized => StatusCode::UNAUTHORIZED,
            ConsoleError::TooManyGuesses => StatusCode::TOO_MANY_REQUESTS,
            ConsoleError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ConsoleError::NotFound(_) => StatusCode::NOT_FOUND,
            ConsoleError::Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
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
    changes: watch::Receiver<Arc<str>>,
    shutdown: CancellationToken,
) -> impl Stream<Item = Result<SseEvent, Infallible>> {
    let first: Option<Arc<str>> = Some(serde_json::to_string(&first).unwrap_or_default().into());
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
        let event = SseEvent::default().data(&*next);
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
    let reason = bounded(&switch.reason);
    act(&state, AdminCommand::SetOpen { open: switch.open, reason }).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EndGame {
    game_id: GameId,
    #[serde(default)]
    reason: String,
}

/// Ends a running game for every player; answers with the snapshot after it (404 when no such
/// game runs).
pub(crate) async fn end_game(
    State(state): State<AppState>,
    Query(query): Query<AdminQuery>,
    Json(end): Json<EndGame>,
) -> Result<Json<Snapshot>, ConsoleError> {
    check(&state, &query)?;
    act(&state, AdminCommand::EndGame { game_id: end.game_id, reason: bounded(&end.reason) }).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Exclude {
    participant_id: ParticipantId,
    /// What the participant is shown.
    #[serde(default)]
    message: String,
    #[serde(default)]
    reason: String,
}

/// Excludes a participant; answers with the snapshot after it (404 for a stranger).
pub(crate) async fn exclude(
    State(state): State<AppState>,
    Query(query): Query<AdminQuery>,
    Json(exclude): Json<Exclude>,
) -> Result<Json<Snapshot>, ConsoleError> {
    check(&state, &query)?;
    let command = AdminCommand::Exclude {
        participant: exclude.participant_id,
        message: bounded(&exclude.message),
        reason: bounded(&exclude.reason),
    };
    act(&state, command).await
}

/// An action's text as kept: trimmed, at most [`MAX_REASON_CHARS`].
fn bounded(text: &str) -> String {
    text.trim().chars().take(MAX_REASON_CHARS).collect()
}

async fn act(state: &AppState, command: AdminCommand) -> Result<Json<Snapshot>, ConsoleError> {
    let (reply, answer) = oneshot::channel();
    Ok(Json(ask(state, Event::Admin { command, reply }, answer).await??))
}

#[derive(Debug, Deserialize)]
pub(crate) struct ParticipantQuery {
    token: Option<String>,
    id: ParticipantId,
}

/// One participant: its row, its timeline and its data files (paths in the data directory).
#[derive(Debug, Serialize)]
pub(crate) struct ParticipantView {
    #[serde(flatten)]
    detail: ParticipantDetail,
    files: Vec<String>,
}

pub(crate) async fn participant(
    State(state): State<AppState>,
    Query(query): Query<ParticipantQuery>,
) -> Result<Json<ParticipantView>, ConsoleError> {
    check(&state, &AdminQuery { token: query.token.clone() })?;
    let (reply, answer) = oneshot::channel();
    let event = Event::Participant { participant: query.id.clone(), reply };
    let detail = ask(&state, event, answer)
        .await?
        .ok_or_else(|| ConsoleError::NotFound(format!("no participant {} seen", query.id)))?;
    let root = state.storage.root().to_path_buf();
    let prefix = format!("{}_ep", query.id);
    let files = tokio::task::spawn_blocking(move || download::files_under(&root, &root))
        .await
        .map_err(|e| ConsoleError::Storage(e.to_string()))?
        .map_err(|e| ConsoleError::Storage(e.to_string()))?
        .into_iter()
        .filter(|path| path.file_name().is_some_and(|n| n.to_string_lossy().starts_with(&prefix)))
        .map(|path| path.to_string_lossy().into_owned())
        .collect();
    Ok(Json(ParticipantView { detail, files }))
}

#[derive(Debug, Deserialize)]
pub(crate) struct FileQuery {
    token: Option<String>,
    /// A path in the data directory as `GET /admin/participant` lists it.
    path: String,
}

/// One stored file (the console's replay reads an episode's CSV and sidecar): only plain
/// names inside the data directory, never a temporary file.
pub(crate) async fn file(
    State(state): State<AppState>,
    Query(query): Query<FileQuery>,
) -> Result<Response, ConsoleError> {
    check(&state, &AdminQuery { token: query.token.clone() })?;
    if !stored_path(&query.path) {
        return Err(ConsoleError::NotFound(format!("no stored file {:?}", query.path)));
    }
    let full = state.storage.root().join(&query.path);
    let text = tokio::fs::read_to_string(&full)
        .await
        .map_err(|_| ConsoleError::NotFound(format!("no stored file {:?}", query.path)))?;
    let kind = if query.path.ends_with(".json") {
        "application/json"
    } else {
        "text/plain; charset=utf-8"
    };
    Ok(([(header::CONTENT_TYPE, kind)], text).into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct DownloadQuery {
    token: Option<String>,
    /// One scene's files only.
    scene: Option<SceneId>,
}

/// The data directory (or one scene's) as a zip, streamed.
pub(crate) async fn download(
    State(state): State<AppState>,
    Query(query): Query<DownloadQuery>,
) -> Result<Response, ConsoleError> {
    check(&state, &AdminQuery { token: query.token.clone() })?;
    let root = state.storage.root().to_path_buf();
    let experiment =
        root.file_name().map_or_else(|| "data".into(), |n| n.to_string_lossy().into_owned());
    let dir = match &query.scene {
        Some(scene) => root.join(scene.as_str()),
        None => root.clone(),
    };
    if !dir.is_dir() {
        let what = query.scene.map_or_else(|| "the experiment".into(), |s| format!("scene {s}"));
        return Err(ConsoleError::NotFound(format!("no data stored for {what} yet")));
    }
    let (base, walk) = (root.clone(), dir);
    let files = tokio::task::spawn_blocking(move || download::files_under(&base, &walk))
        .await
        .map_err(|e| ConsoleError::Storage(e.to_string()))?
        .map_err(|e| ConsoleError::Storage(e.to_string()))?;
    let name = match &query.scene {
        Some(scene) => format!("{experiment}-{scene}.zip"),
        None => format!("{experiment}.zip"),
    };
    let chunks = download::stream_zip(root, experiment, files);
    let body = axum::body::Body::from_stream(stream::unfold(chunks, |mut chunks| async move {
        chunks.recv().await.map(|chunk| (chunk, chunks))
    }));
    let headers = [
        (header::CONTENT_TYPE, "application/zip".to_owned()),
        (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
    ];
    Ok((headers, body).into_response())
}

/// The admin token must be given (`?token=`); compared in constant time.
pub(crate) fn check(state: &AppState, query: &AdminQuery) -> Result<(), ConsoleError> {
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
pub(crate) async fn ask<T>(
    state: &AppState,
    event: Event,
    answer: oneshot::Receiver<T>,
) -> Result<T, ConsoleError> {
    if state.hub.send(event).await.is_err() {
        return Err(ConsoleError::Unavailable("the relay is shutting down"));
    }
    match tokio::time::timeout(Duration::from_secs(2), answer).await {
        Ok(Ok(snapshot)) => Ok(snapshot),
        _ => Err(ConsoleError::Unavailable("the lobby did not answer")),
    }
}

/// A path to a stored file as the console lists them: plain names joined by `/`, none hidden
/// (temporary files start with a dot), none leading out of the data directory.
fn stored_path(path: &str) -> bool {
    let plain = |part: &str| {
        !part.is_empty() && !part.starts_with('.') && !part.contains(['\\', ':', '\0'])
    };
    path.len() <= 512 && path.split('/').all(plain)
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
    fn only_plain_paths_inside_the_data_directory_are_served() {
        assert!(stored_path("overcooked/p1_ep0.csv"));
        assert!(stored_path("admin_actions.jsonl"));
        for bad in [
            "../secret",
            "overcooked/../../etc/passwd",
            "/etc/passwd",
            ".p1_ep0.csv.tmp-1-2",
            "a//b",
            "",
            "c:\\x",
        ] {
            assert!(!stored_path(bad), "{bad}");
        }
    }

    #[test]
    fn secrets_compare_by_content_and_length() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abd", b"abc"));
        assert!(!same_secret(b"ab", b"abc"));
    }
}
