//! The async driver of the [`Lobby`]: one task owns it, receives connection events over a
//! channel and carries out the returned actions. Nothing here decides anything.

use std::{collections::HashMap, sync::Arc};

use rollgym_protocol::{
    ClientErrorRecord, ClientMsg, GameId, ParticipantId, PeerReport, ServerMsg, SpectateFrames,
    Upload,
};
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use crate::{
    error::UploadError,
    lobby::{
        Action, AdminCommand, AdminError, ConnId, Lobby, ParticipantDetail, ReportRefused,
        Snapshot, WatchStart,
    },
    screen_peer::{RTCIceCandidateInit, ScreenPeer},
    storage::{Journal, Storage},
};

/// What a connection task tells the hub.
#[derive(Debug)]
pub(crate) enum Event {
    Connected {
        conn: ConnId,
        outbox: mpsc::Sender<Outbound>,
    },
    Message {
        conn: ConnId,
        msg: ClientMsg,
    },
    /// A WebSocket ping was answered after this many milliseconds.
    Rtt {
        conn: ConnId,
        rtt_ms: u32,
    },
    Disconnected {
        conn: ConnId,
    },
    /// The admin page asks where everyone is.
    Snapshot {
        reply: tokio::sync::oneshot::Sender<Snapshot>,
    },
    /// Whether this participant has taken part in the experiment (page data may be stored).
    Knows {
        participant: ParticipantId,
        reply: tokio::sync::oneshot::Sender<bool>,
    },
    /// An action from the admin console; answered with the snapshot after it.
    Admin {
        command: AdminCommand,
        reply: tokio::sync::oneshot::Sender<Result<Snapshot, AdminError>>,
    },
    /// The admin console asks about one participant.
    Participant {
        participant: ParticipantId,
        reply: tokio::sync::oneshot::Sender<Option<ParticipantDetail>>,
    },
    /// The storage layer is done with an upload the lobby admitted.
    Stored {
        participant: ParticipantId,
        game_id: GameId,
        episode: u32,
        /// Stored, with its episode's parity once every player's file is in; or why not.
        result: Result<Option<bool>, String>,
    },
    /// A participant's page reported an error.
    ClientError {
        report: Box<ClientErrorRecord>,
        reply: tokio::sync::oneshot::Sender<Result<(), ReportRefused>>,
    },
    /// The relay's own peer finished screening a page.
    ScreenReport {
        conn: ConnId,
        report: Box<PeerReport>,
    },
    /// An admin console starts watching a game: answered with what it needs first and the
    /// game's rows from now on (`watch.rs`).
    Watch {
        game_id: GameId,
        reply: tokio::sync::oneshot::Sender<Result<Watching, AdminError>>,
    },
    /// A console stopped watching (its stream was dropped).
    Unwatch {
        game_id: GameId,
    },
}

/// A console's view of a watched game: what it needs first, then every batch of rows as an
/// SSE-ready JSON text (serialized once for every watcher).
#[derive(Debug)]
pub(crate) struct Watching {
    pub(crate) start: WatchStart,
    pub(crate) rows: broadcast::Receiver<Arc<str>>,
}

/// Batches a watching console may fall behind by before its stream ends (it can watch
/// again): about 25 s of a game at five batches a second.
const WATCH_BACKLOG: usize = 128;

/// What the hub works with besides the lobby.
pub(crate) struct Parts {
    pub(crate) storage: Arc<Storage>,
    pub(crate) screen_peer: ScreenPeer,
    /// The hub's own channel, for the screening peer's reports (weak: the hub still ends when
    /// every connection and the listener are gone).
    pub(crate) hub: mpsc::WeakSender<Event>,
    /// Where the lobby's snapshot (as JSON) goes for open admin consoles.
    pub(crate) console: tokio::sync::watch::Sender<Arc<str>>,
    /// Adds time-limited TURN credentials to the messages that hand out ICE servers.
    pub(crate) turn: Option<crate::turn::Issuer>,
}

/// What the hub tells a connection task.
#[derive(Debug)]
pub(crate) enum Outbound {
    /// Boxed: every connection's outbox allocates a block of 32 slots up front, and a slot
    /// holding a whole `ServerMsg` made that block 4 kB per participant.
    Msg(Box<ServerMsg>),
    Close,
}

/// How often open admin consoles may get a new snapshot: at most every 250 ms, and less often
/// as the snapshot grows (a push of N bytes waits N / [`CONSOLE_BYTES_PER_S`] seconds), so a
/// study of hundreds of participants does not cost a researcher's connection megabytes a
/// second.
const CONSOLE_PUSH_INTERVAL: std::time::Duration = std::time::Duration::from_millis(250);
const CONSOLE_BYTES_PER_S: usize = 50_000;
const CONSOLE_PUSH_INTERVAL_MAX: std::time::Duration = std::time::Duration::from_secs(5);

/// The pause after pushing a snapshot of `bytes` bytes.
fn push_pause(bytes: usize) -> std::time::Duration {
    let paced = std::time::Duration::from_millis((bytes * 1000 / CONSOLE_BYTES_PER_S) as u64);
    paced.clamp(CONSOLE_PUSH_INTERVAL, CONSOLE_PUSH_INTERVAL_MAX)
}

/// Messages a connection may have queued before the hub gives up on it as too slow.
pub(crate) const OUTBOX_CAPACITY: usize = 256;

/// Runs until every sender of `events` is dropped (all connections and the listener gone).
/// Once `shutdown` is cancelled nothing more is sent: connections closing because the relay
/// stops must not look like partners leaving.
pub(crate) async fn run(
    mut lobby: Lobby,
    parts: Parts,
    mut events: mpsc::Receiver<Event>,
    shutdown: CancellationToken,
) {
    let Parts { storage, screen_peer, hub, console, turn } = parts;
    // The lobby's time: milliseconds since the hub started (monotonic).
    let start = tokio::time::Instant::now();
    let now = || start.elapsed().as_millis() as u64;
    let (journal, journal_writer) = journal_writer(storage.clone());
    let mut driver = Driver::new(storage, journal, screen_peer, hub, turn);
    // One timer, moved only when the lobby's next deadline changes.
    let alarm = tokio::time::sleep_until(start);
    tokio::pin!(alarm);
    let mut armed = None;
    // Open consoles get the snapshot only after something happened, paced by its size.
    let publish = tokio::time::sleep(CONSOLE_PUSH_INTERVAL);
    tokio::pin!(publish);
    let mut changed = false;
    loop {
        let deadline = lobby.poll_timeout();
        if let Some(at_ms) = deadline.filter(|at| armed != Some(*at)) {
            alarm.as_mut().reset(start + std::time::Duration::from_millis(at_ms));
        }
        armed = deadline;
        let actions = tokio::select! {
            event = events.recv() => match event {
                None => break,
                Some(event) => driver.on_event(&mut lobby, event, now()),
            },
            () = &mut alarm, if deadline.is_some() => lobby.tick(now()),
            () = &mut publish, if changed => {
                changed = false;
                let mut pause = CONSOLE_PUSH_INTERVAL;
                if console.receiver_count() > 0 {
                    let json = serde_json::to_string(&lobby.snapshot(now())).unwrap_or_default();
                    pause = push_pause(json.len());
                    console.send_replace(Arc::from(json));
                }
                publish.as_mut().reset(tokio::time::Instant::now() + pause);
                continue;
            }
        };
        changed = true;
        if shutdown.is_cancelled() {
            continue;
        }
        for action in actions {
            driver.carry_out(action);
        }
    }
    // Every decision made is on disk before the relay stops.
    drop(driver);
    let _ = journal_writer.await;
}

/// What the hub task owns besides the lobby: the way to each connection and to the disk.
struct Driver {
    outboxes: HashMap<ConnId, mpsc::Sender<Outbound>>,
    storage: Arc<Storage>,
    journal: mpsc::UnboundedSender<Journal>,
    screen_peer: ScreenPeer,
    hub: mpsc::WeakSender<Event>,
    /// The consoles watching each game.
    watchers: HashMap<GameId, broadcast::Sender<Arc<str>>>,
    turn: Option<crate::turn::Issuer>,
}

impl Driver {
    fn new(
        storage: Arc<Storage>,
        journal: mpsc::UnboundedSender<Journal>,
        screen_peer: ScreenPeer,
        hub: mpsc::WeakSender<Event>,
        turn: Option<crate::turn::Issuer>,
    ) -> Self {
        let (outboxes, watchers) = (HashMap::new(), HashMap::new());
        Self { outboxes, storage, journal, screen_peer, hub, watchers, turn }
    }

    /// Hands an event to the lobby; returns what it decided.
    fn on_event(&mut self, lobby: &mut Lobby, event: Event, now_ms: u64) -> Vec<Action> {
        match event {
            Event::Connected { conn, outbox } => {
                self.outboxes.insert(conn, outbox);
                lobby.connected(conn);
                Vec::new()
            }
            Event::Message { conn, msg } => lobby.message(conn, msg, now_ms),
            Event::Rtt { conn, rtt_ms } => {
                lobby.rtt_sample(conn, rtt_ms);
                Vec::new()
            }
            Event::Disconnected { conn } => {
                self.outboxes.remove(&conn);
                lobby.disconnected(conn, now_ms)
            }
            Event::Snapshot { reply } => {
                // The asker may have given up; nothing to do then.
                let _ = reply.send(lobby.snapshot(now_ms));
                Vec::new()
            }
            Event::Participant { participant, reply } => {
                let _ = reply.send(lobby.participant(&participant));
                Vec::new()
            }
            Event::Stored { participant, game_id, episode, result } => {
                lobby.stored(&participant, &game_id, episode, result, now_ms);
                Vec::new()
            }
            Event::Knows { participant, reply } => {
                let _ = reply.send(lobby.knows(&participant));
                Vec::new()
            }
            Event::ScreenReport { conn, report } => lobby.peer_report(conn, *report, now_ms),
            Event::ClientError { report, reply } => {
                let (result, actions) = match lobby.client_error(*report, now_ms) {
                    Ok(actions) => (Ok(()), actions),
                    Err(refused) => (Err(refused), Vec::new()),
                };
                let _ = reply.send(result);
                actions
            }
            Event::Watch { game_id, reply } => self.watch(lobby, game_id, reply),
            Event::Unwatch { game_id } => self.unwatch(lobby, &game_id),
            Event::Admin { command, reply } => match lobby.admin(command, now_ms) {
                Ok(actions) => {
                    let _ = reply.send(Ok(lobby.snapshot(now_ms)));
                    actions
                }
                Err(err) => {
                    let _ = reply.send(Err(err));
                    Vec::new()
                }
            },
        }
    }

    /// A console starts watching: subscribed to the game's rows in the same step the lobby
    /// hands out the rows so far, so none falls between the two.
    fn watch(
        &mut self,
        lobby: &mut Lobby,
        game_id: GameId,
        reply: tokio::sync::oneshot::Sender<Result<Watching, AdminError>>,
    ) -> Vec<Action> {
        let (start, actions) = match lobby.watch(&game_id) {
            Ok(started) => started,
            Err(err) => {
                let _ = reply.send(Err(err));
                return Vec::new();
            }
        };
        let sender = self
            .watchers
            .entry(game_id.clone())
            .or_insert_with(|| broadcast::channel(WATCH_BACKLOG).0);
        let watching = Watching { start, rows: sender.subscribe() };
        if reply.send(Ok(watching)).is_err() {
            // The console gave up before its stream existed: nobody will unwatch for it.
            let mut actions = actions;
            actions.extend(lobby.unwatch(&game_id));
            return actions;
        }
        actions
    }

    /// A console stopped watching; the channel goes with the last one.
    fn unwatch(&mut self, lobby: &mut Lobby, game_id: &GameId) -> Vec<Action> {
        if self.watchers.get(game_id).is_some_and(|w| w.receiver_count() == 0) {
            self.watchers.remove(game_id);
        }
        lobby.unwatch(game_id)
    }

    /// A message for a connection, with its own TURN credentials where it hands out ICE
    /// servers (stamped now: the lobby reads no clock).
    fn outgoing(&self, conn: ConnId, mut msg: ServerMsg) -> Outbound {
        if let (Some(turn), Some(servers)) = (&self.turn, crate::turn::ice_servers_mut(&mut msg)) {
            let now_s = crate::storage::unix_ms() / 1000;
            servers.push(turn.issue(now_s, &format!("c{}", conn.0)));
        }
        Outbound::Msg(Box::new(msg))
    }

    /// Pushes a watched game's rows to its consoles, serialized once for all of them.
    fn push_rows(&self, batch: &SpectateFrames) {
        if let Some(watchers) = self.watchers.get(&batch.game_id) {
            let json = serde_json::to_string(batch).unwrap_or_default();
            // No receiver left is fine: the last console's unwatch is on its way.
            let _ = watchers.send(Arc::from(json));
        }
    }

    /// Queues a journal line for the writer (in decision order).
    fn log(&self, line: Journal) {
        let _ = self.journal.send(line);
    }

    /// Carries out one of the lobby's actions. Never awaits: a slow client or disk must not
    /// stall the lobby.
    fn carry_out(&mut self, action: Action) {
        let (conn, outbound) = match action {
            Action::Send(conn, msg) => (conn, self.outgoing(conn, msg)),
            Action::Refuse(conn, err) => (conn, Outbound::Msg(Box::new(err.reply()))),
            Action::Close(conn) => (conn, Outbound::Close),
            Action::RefuseUpload(conn, upload_id, err) => {
                (conn, Outbound::Msg(Box::new(err.reply(upload_id))))
            }
            Action::Store { conn, upload, players } => {
                if let Some(outbox) = self.outboxes.get(&conn) {
                    let sinks = (outbox.clone(), self.hub.clone());
                    store(self.storage.clone(), *upload, players, sinks);
                }
                return;
            }
            Action::ScreenPeerOffer { conn, sdp } => {
                if let Some(outbox) = self.outboxes.get(&conn) {
                    self.screen_peer.offer(conn, sdp, outbox.clone(), self.hub.clone());
                }
                return;
            }
            Action::ScreenPeerCandidate { conn, candidate, mid, index } => {
                self.screen_peer.candidate(
                    conn,
                    RTCIceCandidateInit {
                        candidate,
                        sdp_mid: mid,
                        sdp_mline_index: index,
                        ..Default::default()
                    },
                );
                return;
            }
            Action::EndScreenPeer(conn) => {
                self.screen_peer.end(conn);
                return;
            }
            Action::Spectate(batch) => return self.push_rows(&batch),
            // Dropping the sender ends every watcher's stream after the rows it holds.
            Action::SpectateEnd(game_id) => return drop(self.watchers.remove(&game_id)),
            Action::LogMatch(mut record) => {
                // Stamped at the decision, not when the line reaches the disk.
                record.set_time_ms(crate::storage::unix_ms());
                return self.log(Journal::Match(record));
            }
            Action::RecordProgress { participant, progress } => {
                return self.log(Journal::Progress(participant, progress));
            }
            Action::LogScreening(record) => return self.log(Journal::Screening(record)),
            Action::LogAdmin(record) => return self.log(Journal::Admin(record)),
            Action::LogClientError(record) => return self.log(Journal::ClientError(record)),
        };
        let Some(outbox) = self.outboxes.get(&conn) else { return };
        if outbox.try_send(outbound).is_err() {
            tracing::warn!(conn = conn.0, "outbox full or closed; dropping connection");
            self.outboxes.remove(&conn);
        }
    }
}

/// Writes an upload on the blocking pool (file IO must not stall the hub), then answers the
/// uploader and tells the lobby (for the console). If the connection is gone by then, the
/// client re-sends after reconnecting.
fn store(
    storage: Arc<Storage>,
    upload: Upload,
    players: Vec<ParticipantId>,
    (outbox, hub): (mpsc::Sender<Outbound>, mpsc::WeakSender<Event>),
) {
    let (participant, game_id, episode) =
        (upload.participant_id.clone(), upload.game_id.clone(), upload.episode);
    let partial = upload.sidecar.partial;
    tokio::spawn(async move {
        let upload_id = upload.upload_id.clone();
        let result = tokio::task::spawn_blocking(move || storage.store(&upload, &players)).await;
        let (reply, outcome) = match result {
            Ok(Ok(stored)) => {
                tracing::info!(upload = %upload_id, path = %stored.csv.display(), "upload stored");
                // Partial files may end at different frames: they agree if their common rows do.
                let parity = stored
                    .parity
                    .as_ref()
                    .map(|p| if partial { p.agrees_where_both_have_rows() } else { p.is_equal() });
                (ServerMsg::UploadAck { upload_id }, Ok(parity))
            }
            Ok(Err(err)) => {
                let why = err.to_string();
                (err.reply(upload_id), Err(why))
            }
            Err(join) => {
                let err = UploadError::Storage(join.to_string());
                let why = err.to_string();
                (err.reply(upload_id), Err(why))
            }
        };
        let _ = outbox.send(Outbound::Msg(Box::new(reply))).await;
        if let Some(hub) = hub.upgrade() {
            let _ =
                hub.send(Event::Stored { participant, game_id, episode, result: outcome }).await;
        }
    });
}

/// An append-only record of the lobby's decisions.
/// One writer appends journal records in the order the lobby made the decisions (a probe
/// before the match it admitted), on the blocking pool. Whatever queued up while it wrote goes
/// out together, with one fsync per file (a burst of matches costs one fsync per batch, not
/// one per line). It ends once the sender is dropped and everything sent is written.
fn journal_writer(
    storage: Arc<Storage>,
) -> (mpsc::UnboundedSender<Journal>, tokio::task::JoinHandle<()>) {
    let (records, mut queue) = mpsc::unbounded_channel::<Journal>();
    let writer = tokio::spawn(async move {
        while let Some(first) = queue.recv().await {
            let mut batch = vec![first];
            while let Ok(more) = queue.try_recv() {
                batch.push(more);
            }
            let storage = storage.clone();
            let written = tokio::task::spawn_blocking(move || storage.append_journal(batch));
            match written.await {
                Ok(Ok(())) => {}
                Ok(Err(err)) => tracing::error!(error = %err, "cannot write the journal"),
                Err(err) => tracing::error!(error = %err, "journal writer failed"),
            }
        }
    });
    (records, writer)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn large_snapshots_are_pushed_less_often() {
        assert_eq!(push_pause(2_000), CONSOLE_PUSH_INTERVAL, "a small study: four a second");
        assert_eq!(push_pause(100_000), Duration::from_secs(2), "about 50 kB/s per console");
        assert_eq!(push_pause(10_000_000), CONSOLE_PUSH_INTERVAL_MAX, "never less than every 5 s");
    }
}
