//! The async driver of the [`Lobby`]: one task owns it, receives connection events over a
//! channel and carries out the returned actions. Nothing here decides anything.

use std::{collections::HashMap, sync::Arc};

use rollgym_protocol::{ClientMsg, ServerMsg, Upload};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::{
    error::UploadError,
    lobby::{Action, ConnId, Lobby},
    storage::Storage,
};

/// What a connection task tells the hub.
#[derive(Debug)]
pub(crate) enum Event {
    Connected { conn: ConnId, outbox: mpsc::Sender<Outbound> },
    Message { conn: ConnId, msg: ClientMsg },
    Disconnected { conn: ConnId },
}

/// What the hub tells a connection task.
#[derive(Debug)]
pub(crate) enum Outbound {
    Msg(ServerMsg),
    Close,
}

/// Messages a connection may have queued before the hub gives up on it as too slow.
pub(crate) const OUTBOX_CAPACITY: usize = 256;

/// Runs until every sender of `events` is dropped (all connections and the listener gone).
/// Once `shutdown` is cancelled nothing more is sent: connections closing because the relay
/// stops must not look like partners leaving.
pub(crate) async fn run(
    mut lobby: Lobby,
    storage: Arc<Storage>,
    mut events: mpsc::Receiver<Event>,
    shutdown: CancellationToken,
) {
    let mut outboxes: HashMap<ConnId, mpsc::Sender<Outbound>> = HashMap::new();
    while let Some(event) = events.recv().await {
        let actions = match event {
            Event::Connected { conn, outbox } => {
                outboxes.insert(conn, outbox);
                lobby.connected(conn);
                Vec::new()
            }
            Event::Message { conn, msg } => lobby.message(conn, msg),
            Event::Disconnected { conn } => {
                outboxes.remove(&conn);
                lobby.disconnected(conn)
            }
        };
        if shutdown.is_cancelled() {
            continue;
        }
        for action in actions {
            let (conn, outbound) = match action {
                Action::Send(conn, msg) => (conn, Outbound::Msg(msg)),
                Action::Refuse(conn, err) => (conn, Outbound::Msg(err.reply())),
                Action::Close(conn) => (conn, Outbound::Close),
                Action::RefuseUpload(conn, upload_id, err) => {
                    (conn, Outbound::Msg(err.reply(upload_id)))
                }
                Action::Store(conn, upload) => {
                    if let Some(outbox) = outboxes.get(&conn) {
                        store(storage.clone(), *upload, outbox.clone());
                    }
                    continue;
                }
            };
            let Some(outbox) = outboxes.get(&conn) else {
                continue;
            };
            // Never await a slow client here: one stuck browser must not stall the lobby.
            if outbox.try_send(outbound).is_err() {
                tracing::warn!(conn = conn.0, "outbox full or closed; dropping connection");
                outboxes.remove(&conn);
            }
        }
    }
}

/// Writes an upload on the blocking pool (file IO must not stall the hub), then answers the
/// uploader. If the connection is gone by then, the client re-sends after reconnecting.
fn store(storage: Arc<Storage>, upload: Upload, outbox: mpsc::Sender<Outbound>) {
    tokio::spawn(async move {
        let upload_id = upload.upload_id.clone();
        let result = tokio::task::spawn_blocking(move || storage.store(&upload)).await;
        let reply = match result {
            Ok(Ok(stored)) => {
                tracing::info!(upload = %upload_id, path = %stored.csv.display(), "upload stored");
                ServerMsg::UploadAck { upload_id }
            }
            Ok(Err(err)) => err.reply(upload_id),
            Err(join) => UploadError::Storage(join.to_string()).reply(upload_id),
        };
        let _ = outbox.send(Outbound::Msg(reply)).await;
    });
}
