//! One participant's WebSocket: frames in, [`ClientMsg`]s to the hub, [`Outbound`]s back out.
//!
//! This is the only place that reads or writes WebSocket frames. Malformed input is answered
//! here with an error reply and the connection stays open.

use std::ops::ControlFlow;

use futures_util::{SinkExt, StreamExt};
use rollgym_protocol::ClientMsg;
use tokio::{
    io::{AsyncRead, AsyncWrite},
    sync::mpsc,
};
use tokio_tungstenite::{
    WebSocketStream,
    tungstenite::{
        Message,
        protocol::{CloseFrame, frame::coding::CloseCode},
    },
};
use tokio_util::sync::CancellationToken;

use crate::{
    error::RequestError,
    hub::{Event, OUTBOX_CAPACITY, Outbound},
    lobby::ConnId,
};

/// Serves one connection until the client leaves, the hub closes it, or the relay shuts down.
/// The hub always hears `Disconnected` exactly once, whatever the exit path.
pub(crate) async fn run<S>(
    conn: ConnId,
    mut ws: WebSocketStream<S>,
    hub: mpsc::Sender<Event>,
    shutdown: CancellationToken,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (outbox, mut inbox) = mpsc::channel(OUTBOX_CAPACITY);
    if hub.send(Event::Connected { conn, outbox }).await.is_err() {
        return;
    }
    let mut pings = Pings::default();
    let mut ping_timer = tokio::time::interval(PING_INTERVAL);
    let close = loop {
        tokio::select! {
            _ = ping_timer.tick() => {
                if ws.send(Message::Ping(pings.next().to_vec().into())).await.is_err() {
                    break None;
                }
            }
            frame = ws.next() => {
                if let ControlFlow::Break(close) = on_frame(conn, frame, &mut ws, &hub, &mut pings).await {
                    break close;
                }
            }
            out = inbox.recv() => match out {
                Some(Outbound::Msg(msg)) => {
                    if ws.send(Message::text(msg.encode())).await.is_err() {
                        break None;
                    }
                }
                Some(Outbound::Close) | None => break Some(CloseFrame {
                    code: CloseCode::Policy,
                    reason: "closed by the relay".into(),
                }),
            },
            () = shutdown.cancelled() => break Some(going_away()),
        }
    };
    if let Some(frame) = close {
        // Best effort: the peer may already be gone.
        let _ = ws.close(Some(frame)).await;
    }
    let _ = hub.send(Event::Disconnected { conn }).await;
}

/// Handles one frame from the client: a message goes to the hub, anything malformed is
/// answered here. `Break` ends the connection, with the close frame to send if any.
async fn on_frame<S>(
    conn: ConnId,
    frame: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    ws: &mut WebSocketStream<S>,
    hub: &mpsc::Sender<Event>,
    pings: &mut Pings,
) -> ControlFlow<Option<CloseFrame>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let reply = match frame {
        Some(Ok(Message::Text(text))) => match ClientMsg::decode(text.as_str()) {
            Ok(msg) => {
                if hub.send(Event::Message { conn, msg }).await.is_err() {
                    return ControlFlow::Break(Some(going_away()));
                }
                return ControlFlow::Continue(());
            }
            Err(err) => RequestError::from(err).reply(),
        },
        Some(Ok(Message::Binary(_))) => RequestError::Binary.reply(),
        Some(Ok(Message::Pong(payload))) => {
            if let Some(rtt_ms) = pings.answered(&payload)
                && hub.send(Event::Rtt { conn, rtt_ms }).await.is_err()
            {
                return ControlFlow::Break(Some(going_away()));
            }
            return ControlFlow::Continue(());
        }
        // tungstenite answers pings itself.
        Some(Ok(Message::Ping(_) | Message::Frame(_))) => return ControlFlow::Continue(()),
        Some(Ok(Message::Close(_))) | None => return ControlFlow::Break(None),
        Some(Err(err)) => {
            tracing::info!(conn = conn.0, error = %err, "websocket read failed");
            return ControlFlow::Break(capacity_close(&err));
        }
    };
    match ws.send(Message::text(reply.encode())).await {
        Ok(()) => ControlFlow::Continue(()),
        Err(_) => ControlFlow::Break(None),
    }
}

/// The relay pings every participant this often; the round trips feed the matchmakers.
const PING_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// Pings in flight: a counter payload and when it was sent. Only the last few are remembered,
/// so a client that never answers costs nothing.
#[derive(Debug, Default)]
struct Pings {
    next: u64,
    in_flight: std::collections::VecDeque<(u64, tokio::time::Instant)>,
}

impl Pings {
    fn next(&mut self) -> [u8; 8] {
        self.next += 1;
        if self.in_flight.len() == 8 {
            self.in_flight.pop_front();
        }
        self.in_flight.push_back((self.next, tokio::time::Instant::now()));
        self.next.to_le_bytes()
    }

    /// The round trip of a pong, in ms, if it answers a ping we sent.
    fn answered(&mut self, payload: &[u8]) -> Option<u32> {
        let id = u64::from_le_bytes(payload.try_into().ok()?);
        let index = self.in_flight.iter().position(|(n, _)| *n == id)?;
        let (_, sent) = self.in_flight.remove(index)?;
        Some(u32::try_from(sent.elapsed().as_millis()).unwrap_or(u32::MAX))
    }
}

fn going_away() -> CloseFrame {
    CloseFrame { code: CloseCode::Away, reason: "relay shutting down".into() }
}

/// A frame beyond the hard size limit ends the connection with 1009 (Message Too Big).
fn capacity_close(err: &tokio_tungstenite::tungstenite::Error) -> Option<CloseFrame> {
    match err {
        tokio_tungstenite::tungstenite::Error::Capacity(_) => {
            Some(CloseFrame { code: CloseCode::Size, reason: "message too big".into() })
        }
        _ => None,
    }
}
