//! `GET /admin/watch?game=` (behind the admin token): a running game as server-sent events
//! for the console's live view. First `start` (the game's settings and players) and, when the
//! episode under way already has rows, `frames` with all of them; then `frames` with every
//! batch its page forwards (about five a second), and `end` when the game is over
//! (`{"reason": "over"}`), the console fell too far behind (`"lagged"`: it may watch again)
//! or the relay stops (`"shutdown"`). While at least one console watches, one player's page
//! forwards its confirmed rows; when the last stream is dropped it stops.

use std::{convert::Infallible, sync::Arc, time::Duration};

use axum::{
    extract::{Query, State},
    response::{
        IntoResponse, Response,
        sse::{Event as SseEvent, KeepAlive, Sse},
    },
};
use futures_util::stream::{self, Stream};
use rollgym_protocol::GameId;
use serde::Deserialize;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::{
    console::{AdminQuery, ConsoleError, ask, check},
    http::AppState,
    hub::{Event, Watching},
};

#[derive(Debug, Deserialize)]
pub(crate) struct WatchQuery {
    token: Option<String>,
    game: String,
}

pub(crate) async fn watch(
    State(state): State<AppState>,
    Query(query): Query<WatchQuery>,
) -> Result<Response, ConsoleError> {
    check(&state, &AdminQuery { token: query.token.clone() })?;
    let game_id = GameId::parse(&query.game)
        .map_err(|_| ConsoleError::NotFound(format!("no game {:?}", query.game)))?;
    let (reply, answer) = oneshot::channel();
    let watching = ask(&state, Event::Watch { game_id: game_id.clone(), reply }, answer).await??;
    let guard = Unwatch { game_id: Some(game_id), hub: state.hub.clone() };
    Ok(Sse::new(events(watching, guard, state.shutdown.clone()))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}

/// Tells the hub the console stopped watching when its stream is dropped, however it ends.
struct Unwatch {
    game_id: Option<GameId>,
    hub: mpsc::Sender<Event>,
}

impl Drop for Unwatch {
    fn drop(&mut self) {
        let (Some(game_id), hub) = (self.game_id.take(), self.hub.clone()) else { return };
        // Drop cannot wait for room in the hub's channel; a task can (it ends at shutdown
        // with the channel).
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = hub.send(Event::Unwatch { game_id }).await;
            });
        }
    }
}

/// What the stream sends next.
enum Next {
    Start(Box<Watching>),
    /// The rows the episode under way had before this console watched.
    SoFar(String, broadcast::Receiver<Arc<str>>),
    Live(broadcast::Receiver<Arc<str>>),
    Done,
}

fn events(
    watching: Watching,
    guard: Unwatch,
    shutdown: CancellationToken,
) -> impl Stream<Item = Result<SseEvent, Infallible>> {
    stream::unfold(
        (Next::Start(Box::new(watching)), guard, shutdown),
        |(next, guard, shutdown)| async move {
            let (event, next) = match next {
                Next::Done => return None,
                Next::Start(watching) => {
                    let Watching { start, rows } = *watching;
                    let json = serde_json::to_string(&start.start).unwrap_or_default();
                    let next = match &start.so_far {
                        Some(so_far) => {
                            Next::SoFar(serde_json::to_string(so_far).unwrap_or_default(), rows)
                        }
                        None => Next::Live(rows),
                    };
                    (SseEvent::default().event("start").data(json), next)
                }
                Next::SoFar(json, rows) => {
                    (SseEvent::default().event("frames").data(json), Next::Live(rows))
                }
                Next::Live(mut rows) => tokio::select! {
                    () = shutdown.cancelled() => (end("shutdown"), Next::Done),
                    received = rows.recv() => match received {
                        Ok(json) => (SseEvent::default().event("frames").data(&*json), Next::Live(rows)),
                        Err(broadcast::error::RecvError::Lagged(_)) => (end("lagged"), Next::Done),
                        Err(broadcast::error::RecvError::Closed) => (end("over"), Next::Done),
                    },
                },
            };
            Some((Ok(event), (next, guard, shutdown)))
        },
    )
}

fn end(reason: &str) -> SseEvent {
    SseEvent::default().event("end").data(format!("{{\"reason\":\"{reason}\"}}"))
}
