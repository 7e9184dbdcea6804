//! The relay's own WebRTC peer (webrtc-rs), met by every arriving page when screening asks for
//! it (`[screening] webrtc` or `max_rtt_ms`). The page offers a DataChannel (signaling over its
//! WebSocket), the peer answers, pings over the channel one at a time ([`pinger`]) and reports
//! what it found ([`PeerReport`]: connected, round trips, the candidate types the page gathered)
//! to the hub, which hands it to the lobby to judge. It proves that this browser on this network
//! can do WebRTC over UDP at all, and measures the path a game would take.
//!
//! Bounded: at most `[webrtc] server_peer_max_concurrent` screenings at once (more wait their
//! turn), each given up after `[screening] webrtc_timeout_ms` plus the measuring time, and every peer
//! connection closed when its screening ends, however it ends (done, failed, timed out, the
//! page gone, the relay stopping), so its UDP socket and memory go with it.

mod candidates;
mod pinger;

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use bytes::BytesMut;
use rollgym_protocol::{ExperimentConfig, PeerReport, ServerMsg, SignalPayload};
use rtc::ice::mdns::MulticastDnsMode;
use tokio::sync::{Semaphore, mpsc};
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use webrtc::{
    data_channel::{DataChannel, DataChannelEvent},
    peer_connection::{
        PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCConfigurationBuilder,
        RTCIceGatheringState, RTCIceServer, RTCPeerConnectionState, RTCSessionDescription,
        SettingEngineBuilder,
    },
};

use crate::median::median;
pub use pinger::PING_TIMEOUT_MS;
use pinger::{Pinger, Step};
pub use webrtc::peer_connection::RTCIceCandidateInit;

use crate::{hub::Event, hub::Outbound, lobby::ConnId};

/// How each screening connects and measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measure {
    /// From the page's offer to an open DataChannel.
    pub connect: Duration,
    pub samples: u32,
    pub limit_ms: u64,
}

/// The peer: cheap to clone, shared by the hub.
#[derive(Clone)]
pub struct ScreenPeer {
    inner: Arc<Inner>,
}

struct Inner {
    udp_addrs: Vec<String>,
    ice_servers: Vec<RTCIceServer>,
    measure: Measure,
    permits: Semaphore,
    /// Screenings under way (or waiting for a permit), by connection.
    sessions: Mutex<HashMap<ConnId, Session>>,
    tasks: TaskTracker,
    shutdown: CancellationToken,
    next_id: std::sync::atomic::AtomicU64,
}

struct Session {
    /// Tells this screening apart from a later one of the same connection.
    id: u64,
    /// The page's trickled ICE candidates.
    candidates: mpsc::UnboundedSender<RTCIceCandidateInit>,
    cancel: CancellationToken,
}

impl std::fmt::Debug for ScreenPeer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScreenPeer")
            .field("udp_addrs", &self.inner.udp_addrs)
            .field("active", &self.active())
            .finish()
    }
}

impl ScreenPeer {
    /// A peer with the experiment's settings; `relay_addr` is where the relay listens (its host
    /// is the default UDP address).
    pub fn new(config: &ExperimentConfig, relay_addr: SocketAddr) -> Self {
        let udp_addrs = if config.webrtc.server_peer_addrs.is_empty() {
            let ip = relay_addr.ip();
            let ip = if ip.is_unspecified() { "127.0.0.1".parse().unwrap_or(ip) } else { ip };
            vec![SocketAddr::new(ip, 0).to_string()]
        } else {
            config.webrtc.server_peer_addrs.clone()
        };
        let ice_servers = config
            .webrtc
            .ice_servers
            .iter()
            .map(|s| RTCIceServer {
                urls: s.urls.clone(),
                username: s.username.clone().unwrap_or_default(),
                credential: s.credential.clone().unwrap_or_default(),
            })
            .collect();
        let screening = &config.screening;
        let measure = Measure {
            connect: Duration::from_millis(u64::from(screening.webrtc_timeout_ms)),
            samples: screening.rtt_samples,
            limit_ms: u64::from(screening.rtt_time_limit_ms),
        };
        let permits = config.webrtc.server_peer_max_concurrent as usize;
        Self {
            inner: Arc::new(Inner {
                udp_addrs,
                ice_servers,
                measure,
                permits: Semaphore::new(permits),
                sessions: Mutex::new(HashMap::new()),
                tasks: TaskTracker::new(),
                shutdown: CancellationToken::new(),
                next_id: std::sync::atomic::AtomicU64::new(0),
            }),
        }
    }

    /// A page's offer: starts its screening (replacing any earlier one of that connection).
    /// The answer goes to `outbox`; the report to the hub through `hub`.
    pub(crate) fn offer(
        &self,
        conn: ConnId,
        sdp: String,
        outbox: mpsc::Sender<Outbound>,
        hub: mpsc::WeakSender<Event>,
    ) {
        let (candidates, trickled) = mpsc::unbounded_channel();
        let cancel = self.inner.shutdown.child_token();
        let id = self.inner.next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let session = Session { id, candidates, cancel: cancel.clone() };
        if let Some(old) = self.sessions().insert(conn, session) {
            old.cancel.cancel();
        }
        let inner = self.inner.clone();
        self.inner.tasks.spawn(async move {
            let report = screen(&inner, sdp, &outbox, trickled, &cancel).await;
            {
                let mut sessions = inner.sessions.lock().unwrap_or_else(|p| p.into_inner());
                // Only this screening's entry: a newer offer may have replaced it.
                if sessions.get(&conn).is_some_and(|s| s.id == id) {
                    sessions.remove(&conn);
                }
            }
            tracing::debug!(conn = conn.0, connected = report.connected, rtt = ?report.rtt_ms, "screening peer done");
            if let Some(hub) = hub.upgrade() {
                let _ = hub.send(Event::ScreenReport { conn, report: Box::new(report) }).await;
            }
        });
    }

    /// A candidate the page trickled after its offer.
    pub(crate) fn candidate(&self, conn: ConnId, candidate: RTCIceCandidateInit) {
        if let Some(session) = self.sessions().get(&conn) {
            let _ = session.candidates.send(candidate);
        }
    }

    /// The page's screening is over (decided, or the page left): close its connection.
    pub(crate) fn end(&self, conn: ConnId) {
        if let Some(session) = self.sessions().remove(&conn) {
            session.cancel.cancel();
        }
    }

    /// Screenings under way or waiting.
    pub fn active(&self) -> usize {
        self.sessions().len()
    }

    /// Ends every screening and waits until each peer connection is closed.
    pub async fn shut_down(&self) {
        self.inner.shutdown.cancel();
        self.inner.tasks.close();
        self.inner.tasks.wait().await;
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<ConnId, Session>> {
        self.inner.sessions.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One screening, from the offer to the report; never fails, the report says what happened.
async fn screen(
    inner: &Inner,
    sdp: String,
    outbox: &mpsc::Sender<Outbound>,
    mut trickled: mpsc::UnboundedReceiver<RTCIceCandidateInit>,
    cancel: &CancellationToken,
) -> PeerReport {
    let started = tokio::time::Instant::now();
    let mut report = PeerReport::default();
    candidates::collect(&mut report.candidate_types, &sdp);
    let limit = inner.measure.connect + Duration::from_millis(inner.measure.limit_ms + 1_000);
    let result = tokio::select! {
        permit = inner.permits.acquire() => match permit {
            Ok(_permit) => {
                let met = meet(inner, sdp, outbox, &mut trickled, &mut report);
                tokio::time::timeout(limit, met).await.unwrap_or(Err("timed out".into()))
            }
            Err(_) => Err("the relay is stopping".into()),
        },
        () = cancel.cancelled() => Err("ended before it was done".into()),
    };
    if let Err(error) = result {
        report.error = Some(error);
    }
    report.rtt_ms = median(&report.rtt_samples);
    report.duration_ms = started.elapsed().as_millis() as u64;
    report
}

/// What the peer connection's handler tells the screening task.
enum PcEvent {
    Gathered,
    Failed,
    Channel(Arc<dyn DataChannel>),
}

struct Handler(mpsc::UnboundedSender<PcEvent>);

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self.0.send(PcEvent::Gathered);
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        if state == RTCPeerConnectionState::Failed {
            let _ = self.0.send(PcEvent::Failed);
        }
    }

    async fn on_data_channel(&self, channel: Arc<dyn DataChannel>) {
        let _ = self.0.send(PcEvent::Channel(channel));
    }
}

/// Builds the peer connection, talks, and closes it whatever happened.
async fn meet(
    inner: &Inner,
    sdp: String,
    outbox: &mpsc::Sender<Outbound>,
    trickled: &mut mpsc::UnboundedReceiver<RTCIceCandidateInit>,
    report: &mut PeerReport,
) -> Result<(), String> {
    let (events, mut from_handler) = mpsc::unbounded_channel();
    let loopback = inner.udp_addrs.iter().any(|a| a.starts_with("127.") || a.starts_with("[::1]"));
    let settings = SettingEngineBuilder::new()
        // The default 200 ms between connectivity checks is most of the time to connect.
        .with_ice_connection_attempts(Some(Duration::from_millis(20)), None)
        .with_include_loopback_candidate(loopback)
        // Pages' mDNS host names cannot be resolved from a server anyway, and joining the
        // multicast group fails where there is no multicast route (ENODEV ends the connection).
        .with_multicast_dns_mode(MulticastDnsMode::Disabled)
        .build();
    let config = RTCConfigurationBuilder::new().with_ice_servers(inner.ice_servers.clone()).build();
    let pc = PeerConnectionBuilder::new()
        .with_configuration(config)
        .with_setting_engine(settings)
        .with_handler(Arc::new(Handler(events)))
        .with_udp_addrs(inner.udp_addrs.clone())
        .build()
        .await
        .map_err(|e| format!("cannot create the peer connection: {e}"))?;
    let result = talk(&pc, inner.measure, sdp, outbox, trickled, &mut from_handler, report).await;
    if let Err(err) = pc.close().await {
        tracing::debug!(error = %err, "closing a screening peer connection");
    }
    result
}

/// Answers the offer, waits for the channel (taking trickled candidates), then measures.
async fn talk(
    pc: &impl PeerConnection,
    measure: Measure,
    sdp: String,
    outbox: &mpsc::Sender<Outbound>,
    trickled: &mut mpsc::UnboundedReceiver<RTCIceCandidateInit>,
    from_handler: &mut mpsc::UnboundedReceiver<PcEvent>,
    report: &mut PeerReport,
) -> Result<(), String> {
    let offer = RTCSessionDescription::offer(sdp).map_err(|e| format!("bad offer: {e}"))?;
    pc.set_remote_description(offer).await.map_err(|e| format!("bad offer: {e}"))?;
    let answer = pc.create_answer(None).await.map_err(|e| format!("no answer: {e}"))?;
    pc.set_local_description(answer).await.map_err(|e| format!("no answer: {e}"))?;
    let channel = tokio::time::timeout(measure.connect, async {
        let mut answered = false;
        loop {
            tokio::select! {
                Some(candidate) = trickled.recv() => {
                    candidates::collect(&mut report.candidate_types, &candidate.candidate);
                    if let Err(err) = pc.add_ice_candidate(candidate).await {
                        tracing::debug!(error = %err, "a page's candidate was not taken");
                    }
                }
                event = from_handler.recv() => match event {
                    Some(PcEvent::Gathered) if !answered => {
                        answered = true;
                        // Not trickled: the answer carries every candidate of ours.
                        let local = pc.local_description().await.ok_or("no local description")?;
                        let payload = SignalPayload::Answer { sdp: local.sdp };
                        let msg = Box::new(ServerMsg::ScreenSignal { payload });
                        outbox.send(Outbound::Msg(msg)).await.map_err(|_| "the page left")?;
                    }
                    Some(PcEvent::Channel(channel)) => return Ok(channel),
                    Some(PcEvent::Failed) => return Err("the connection failed"),
                    Some(PcEvent::Gathered) => {}
                    None => return Err("the peer connection went away"),
                },
            }
        }
    })
    .await
    .map_err(|_| format!("no DataChannel within {} ms", measure.connect.as_millis()))?
    .map_err(str::to_owned)?;
    report.connected = true;
    ping(channel.as_ref(), measure, report).await
}

/// Pings over the open channel until enough samples or the time limit.
async fn ping(
    channel: &dyn DataChannel,
    measure: Measure,
    report: &mut PeerReport,
) -> Result<(), String> {
    let start = tokio::time::Instant::now();
    let now = || start.elapsed().as_millis() as u64;
    let mut pinger = Pinger::new(measure.samples, measure.limit_ms, now());
    loop {
        let wait_until = match pinger.poll(now()) {
            Step::Send(bytes) => {
                channel.send(BytesMut::from(&bytes[..])).await.map_err(|e| format!("send: {e}"))?;
                continue;
            }
            Step::Done => break,
            Step::Wait(at) => start + Duration::from_millis(at),
        };
        tokio::select! {
            event = channel.poll() => match event {
                Some(DataChannelEvent::OnMessage(message)) => pinger.pong(&message.data, now()),
                Some(DataChannelEvent::OnClose) | None => break,
                Some(_) => {}
            },
            () = tokio::time::sleep_until(wait_until) => {}
        }
    }
    report.rtt_samples = pinger.samples().to_vec();
    Ok(())
}
