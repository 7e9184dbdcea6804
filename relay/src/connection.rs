//! One participant's WebSocket: frames in, [`ClientMsg`]s to the hub, [`Outbound`]s back out.
//!
//! This is the only place that reads or writes WebSocket frames. Malformed input is answered
//! here with an error reply and the connection stays open.

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
    let close = loop {
        tokio::select! {
            frame = ws.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    match ClientMsg::decode(text.as_str()) {
                        Ok(msg) => {
                            if hub.send(Event::Message { conn, msg }).await.is_err() {
                                break Some(going_away());
                            }
                        }
                        Err(err) => {
                            let reply = RequestError::from(err).reply();
                            if ws.send(Message::text(reply.encode())).await.is_err() {
                                break None;
                            }
                        }
                    }
                }
                Some(Ok(Message::Binary(_))) => {
                    let reply = RequestError::Binary.reply();
                    if ws.send(Message::text(reply.encode())).await.is_err() {
                        break None;
                    }
                }
                // tungstenite answers pings itself; pongs feed server RTT later.
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                Some(Ok(Message::Close(_))) | None => break None,
                Some(Err(err)) => {
                    tracing::info!(conn = conn.0, error = %err, "websocket read failed");
                    break capacity_close(&err);
                }
            },
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
