//! A WebRTC peer connection and its one DataChannel (unordered, no retransmits: rollback
//! netcode does its own redundancy, and a late packet is worse than a lost one). The game's
//! connection to the partner and a probe's connection before a match are both links; their
//! events reach the session as the inputs of their kind. The game's link reports its ICE
//! state and restarts ICE when the session asks (a new offer through the same signaling task,
//! so it never overtakes a partner signal). Everything is released on Drop: listeners removed,
//! channel and connection closed.

use std::{
    cell::{Cell, RefCell},
    rc::Rc,
};

use futures_channel::mpsc;
use futures_util::StreamExt;
use gloo_events::EventListener;
use gloo_timers::callback::Timeout;
use js_sys::{Array, Reflect, Uint8Array};
use rollgym_protocol::{IceServer, SignalPayload};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::{JsFuture, spawn_local};
use web_sys::{
    MessageEvent, RtcConfiguration, RtcDataChannel, RtcDataChannelEvent, RtcDataChannelInit,
    RtcDataChannelState, RtcDataChannelType, RtcIceCandidateInit, RtcIceConnectionState,
    RtcIceServer, RtcIceTransportPolicy, RtcOfferOptions, RtcPeerConnection,
    RtcPeerConnectionIceEvent, RtcPeerConnectionState, RtcSdpType, RtcSessionDescriptionInit,
    RtcSignalingState,
};

use crate::{
    core::{
        candidates::CandidateBuffer,
        probe::ProbeEvent,
        session::{IceState, Input},
    },
    web::app::WeakDispatch,
};

/// Which connection a link is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LinkKind {
    /// The game's connection to the partner at this player index (a group has one each).
    Game(u8),
    /// A probe's connection to a possible partner, before a match.
    Probe,
    /// Screening's connection to the relay's own peer: it echoes what the relay sends.
    Screen,
}

impl LinkKind {
    pub(super) fn label(self) -> &'static str {
        match self {
            LinkKind::Game(_) => "game",
            LinkKind::Probe => "probe",
            LinkKind::Screen => "screen",
        }
    }
}

/// What a link reports.
enum LinkEvent {
    Signal(SignalPayload),
    Open,
    Data(Vec<u8>),
    Closed,
    Failed(String),
    ConnectionType(String),
    Ice(IceState),
}

/// What the signaling task does next, in order.
enum Job {
    /// Apply the partner's offer, answer or candidate.
    Apply(SignalPayload),
    /// Make a new offer with fresh ICE credentials (offering side only).
    RestartIce,
}

/// Delivers a link's events as the session inputs of its kind.
#[derive(Clone)]
struct Sink {
    kind: LinkKind,
    events: WeakDispatch,
}

impl Sink {
    fn emit(&self, event: LinkEvent) {
        let input = match (self.kind, event) {
            (LinkKind::Game(p), LinkEvent::Signal(payload)) => Input::LocalSignal(p, payload),
            (LinkKind::Game(p), LinkEvent::Open) => Input::ChannelOpen(p),
            (LinkKind::Game(p), LinkEvent::Data(bytes)) => Input::ChannelData(p, bytes),
            (LinkKind::Game(p), LinkEvent::Closed) => Input::ChannelClosed(p),
            (LinkKind::Game(_), LinkEvent::Failed(reason)) => Input::PeerFailed(reason),
            (LinkKind::Game(p), LinkEvent::ConnectionType(kind)) => Input::ConnectionType(p, kind),
            (LinkKind::Game(p), LinkEvent::Ice(state)) => Input::IceState(p, state),
            (LinkKind::Probe, LinkEvent::Signal(payload)) => {
                Input::Probe(ProbeEvent::LocalSignal(payload))
            }
            (LinkKind::Probe, LinkEvent::Open) => Input::Probe(ProbeEvent::Open),
            (LinkKind::Probe, LinkEvent::Data(bytes)) => Input::Probe(ProbeEvent::Data(bytes)),
            (LinkKind::Probe, LinkEvent::Closed) => Input::Probe(ProbeEvent::Closed),
            (LinkKind::Probe, LinkEvent::Failed(reason)) => {
                Input::Probe(ProbeEvent::Failed(reason))
            }
            (LinkKind::Probe, LinkEvent::ConnectionType(_) | LinkEvent::Ice(_)) => return,
            (LinkKind::Screen, LinkEvent::Signal(payload)) => Input::ScreenSignal(payload),
            (LinkKind::Screen, LinkEvent::Data(bytes)) => Input::ScreenEcho(bytes),
            // The relay judges the connection by what its own peer sees.
            (LinkKind::Screen, _) => return,
        };
        self.events.send(input);
    }
}

pub(super) struct PeerLink {
    pc: RtcPeerConnection,
    channel: Rc<RefCell<Option<Channel>>>,
    /// Partner signals and restarts, carried out strictly in order by one task.
    jobs: mpsc::UnboundedSender<Job>,
    /// Set on Drop so the signaling task stops reporting errors of a connection we closed.
    closed: Rc<Cell<bool>>,
    _listeners: [EventListener; 4],
}

impl PeerLink {
    pub(super) fn open(
        kind: LinkKind,
        initiator: bool,
        ice_servers: &[IceServer],
        force_relay: bool,
        events: WeakDispatch,
    ) -> Result<Self, JsValue> {
        let events = Sink { kind, events };
        let pc =
            RtcPeerConnection::new_with_configuration(&configuration(ice_servers, force_relay))?;
        let channel = Rc::new(RefCell::new(None));
        let on_candidate = {
            let events = events.clone();
            EventListener::new(&pc, "icecandidate", move |event| {
                let candidate =
                    event.dyn_ref::<RtcPeerConnectionIceEvent>().and_then(|e| e.candidate());
                // `None` marks the end of gathering; nothing to send.
                if let Some(c) = candidate {
                    events.emit(LinkEvent::Signal(SignalPayload::IceCandidate {
                        candidate: c.candidate(),
                        sdp_mid: c.sdp_mid(),
                        sdp_m_line_index: c.sdp_m_line_index(),
                    }));
                }
            })
        };
        let on_state = {
            let events = events.clone();
            let pc = pc.clone();
            EventListener::new(&pc.clone(), "connectionstatechange", move |_| {
                if pc.connection_state() == RtcPeerConnectionState::Failed {
                    events.emit(LinkEvent::Failed("the peer-to-peer connection failed".into()));
                }
            })
        };
        let on_ice = {
            let events = events.clone();
            let pc = pc.clone();
            EventListener::new(&pc.clone(), "iceconnectionstatechange", move |_| {
                let state = match pc.ice_connection_state() {
                    RtcIceConnectionState::Connected | RtcIceConnectionState::Completed => {
                        IceState::Connected
                    }
                    RtcIceConnectionState::Disconnected => IceState::Disconnected,
                    RtcIceConnectionState::Failed => IceState::Failed,
                    _ => return,
                };
                events.emit(LinkEvent::Ice(state));
            })
        };
        let on_channel = {
            let events = events.clone();
            let slot = channel.clone();
            let pc_for_channel = pc.clone();
            EventListener::new(&pc, "datachannel", move |event| {
                if let Some(dc) = event.dyn_ref::<RtcDataChannelEvent>().map(|e| e.channel())
                    && dc.label() == kind.label()
                {
                    *slot.borrow_mut() = Some(Channel::attach(dc, &pc_for_channel, events.clone()));
                }
            })
        };
        if initiator {
            let init = RtcDataChannelInit::new();
            init.set_ordered(false);
            init.set_max_retransmits(0);
            let dc = pc.create_data_channel_with_data_channel_dict(kind.label(), &init);
            *channel.borrow_mut() = Some(Channel::attach(dc, &pc, events.clone()));
        }
        let (jobs, incoming) = mpsc::unbounded();
        let closed = Rc::new(Cell::new(false));
        spawn_local(negotiate(pc.clone(), initiator, incoming, events, closed.clone()));
        let listeners = [on_candidate, on_state, on_ice, on_channel];
        Ok(Self { pc, channel, jobs, closed, _listeners: listeners })
    }

    /// Queues a partner's offer, answer or candidate.
    pub(super) fn apply(&self, payload: SignalPayload) {
        let _ = self.jobs.unbounded_send(Job::Apply(payload));
    }

    /// Queues an ICE restart: a new offer, unless one still awaits its answer.
    pub(super) fn restart_ice(&self) {
        let _ = self.jobs.unbounded_send(Job::RestartIce);
    }

    /// Sends on the DataChannel if it is open; drops the packet otherwise (unreliable anyway).
    pub(super) fn send(&self, bytes: &[u8]) {
        if let Some(channel) = self.channel.borrow().as_ref() {
            channel.send(bytes);
        }
    }
}

impl Drop for PeerLink {
    fn drop(&mut self) {
        self.closed.set(true);
        self.channel.borrow_mut().take();
        self.pc.close();
    }
}

fn configuration(ice_servers: &[IceServer], force_relay: bool) -> RtcConfiguration {
    let servers = Array::new();
    for server in ice_servers {
        let entry = RtcIceServer::new();
        let urls: Array = server.urls.iter().map(|u| JsValue::from_str(u)).collect();
        entry.set_urls(&urls);
        if let Some(username) = &server.username {
            entry.set_username(username);
        }
        if let Some(credential) = &server.credential {
            entry.set_credential(credential);
        }
        servers.push(&entry);
    }
    let config = RtcConfiguration::new();
    config.set_ice_servers(&servers);
    if force_relay {
        config.set_ice_transport_policy(RtcIceTransportPolicy::Relay);
    }
    config
}

/// The signaling task: makes the offer (initiator), then applies partner signals and ICE
/// restarts in order, holding back candidates until the remote description is set. The
/// answering side accepts a later offer (a restart) like the first.
async fn negotiate(
    pc: RtcPeerConnection,
    initiator: bool,
    mut incoming: mpsc::UnboundedReceiver<Job>,
    events: Sink,
    closed: Rc<Cell<bool>>,
) {
    let report = |err: JsValue| {
        if !closed.get() {
            events.emit(LinkEvent::Failed(format!("WebRTC negotiation failed: {err:?}")));
        }
    };
    if initiator {
        match describe(&pc, RtcSdpType::Offer, false).await {
            Ok(sdp) => events.emit(LinkEvent::Signal(SignalPayload::Offer { sdp })),
            Err(err) => report(err),
        }
    }
    let mut buffer = CandidateBuffer::default();
    while let Some(job) = incoming.next().await {
        let payload = match job {
            Job::Apply(payload) => payload,
            // A restart while an offer awaits its answer would orphan that answer.
            Job::RestartIce if !initiator || pc.signaling_state() != RtcSignalingState::Stable => {
                continue;
            }
            Job::RestartIce => {
                match describe(&pc, RtcSdpType::Offer, true).await {
                    Ok(sdp) => events.emit(LinkEvent::Signal(SignalPayload::Offer { sdp })),
                    Err(err) => report(err),
                }
                continue;
            }
        };
        let result = match payload {
            SignalPayload::Offer { sdp } if !initiator => {
                let answered = async {
                    set_remote(&pc, RtcSdpType::Offer, &sdp).await?;
                    add_candidates(&pc, buffer.remote_description_set()).await?;
                    describe(&pc, RtcSdpType::Answer, false).await
                };
                answered
                    .await
                    .map(|sdp| events.emit(LinkEvent::Signal(SignalPayload::Answer { sdp })))
            }
            SignalPayload::Answer { sdp } if initiator => {
                let applied = async {
                    set_remote(&pc, RtcSdpType::Answer, &sdp).await?;
                    add_candidates(&pc, buffer.remote_description_set()).await
                };
                applied.await
            }
            SignalPayload::Offer { .. } | SignalPayload::Answer { .. } => {
                Err(JsValue::from_str("unexpected offer/answer for our role"))
            }
            candidate @ SignalPayload::IceCandidate { .. } => match buffer.arrived(candidate) {
                Some(candidate) => add_candidates(&pc, vec![candidate]).await,
                None => Ok(()),
            },
        };
        if let Err(err) = result {
            report(err);
        }
    }
}

/// Creates our offer (with fresh ICE credentials on `ice_restart`) or answer, sets it as the
/// local description and returns its SDP.
async fn describe(
    pc: &RtcPeerConnection,
    kind: RtcSdpType,
    ice_restart: bool,
) -> Result<String, JsValue> {
    let created = match kind {
        RtcSdpType::Offer => {
            let options = RtcOfferOptions::new();
            options.set_ice_restart(ice_restart);
            JsFuture::from(pc.create_offer_with_rtc_offer_options(&options)).await?
        }
        _ => JsFuture::from(pc.create_answer()).await?,
    };
    let sdp = Reflect::get(&created, &"sdp".into())?
        .as_string()
        .ok_or_else(|| JsValue::from_str("the browser produced a description without SDP"))?;
    let init = RtcSessionDescriptionInit::new(kind);
    init.set_sdp(&sdp);
    JsFuture::from(pc.set_local_description(&init)).await?;
    Ok(sdp)
}

async fn set_remote(pc: &RtcPeerConnection, kind: RtcSdpType, sdp: &str) -> Result<(), JsValue> {
    let init = RtcSessionDescriptionInit::new(kind);
    init.set_sdp(sdp);
    JsFuture::from(pc.set_remote_description(&init)).await.map(drop)
}

async fn add_candidates(
    pc: &RtcPeerConnection,
    candidates: Vec<SignalPayload>,
) -> Result<(), JsValue> {
    for payload in candidates {
        let SignalPayload::IceCandidate { candidate, sdp_mid, sdp_m_line_index } = payload else {
            continue;
        };
        let init = RtcIceCandidateInit::new(&candidate);
        init.set_sdp_mid(sdp_mid.as_deref());
        init.set_sdp_m_line_index(sdp_m_line_index);
        JsFuture::from(pc.add_ice_candidate_with_opt_rtc_ice_candidate_init(Some(&init))).await?;
    }
    Ok(())
}

/// How the selected candidate pair's traffic flows: `relay` when a TURN server carries it
/// (either end's candidate is a relay one: a page may send from its own address to the
/// partner's TURN allocation), else `srflx` / `prflx` when either end is behind a NAT, else
/// `host`. Read when the channel opens and again [`REMEASURE_MS`] later.
async fn connection_type(pc: &RtcPeerConnection) -> Option<String> {
    let report = JsFuture::from(pc.get_stats()).await.ok()?;
    let values =
        Reflect::get(&report, &"values".into()).ok()?.dyn_into::<js_sys::Function>().ok()?;
    let stats: Vec<JsValue> =
        js_sys::try_iter(&values.call0(&report).ok()?).ok()??.flatten().collect();
    let field =
        |v: &JsValue, key: &str| Reflect::get(v, &key.into()).ok().and_then(|x| x.as_string());
    let of_type = |kind: &'static str| {
        stats.iter().filter(move |v| field(v, "type").as_deref() == Some(kind))
    };
    let selected_pair = of_type("transport")
        .find_map(|t| field(t, "selectedCandidatePairId"))
        .and_then(|id| of_type("candidate-pair").find(|p| field(p, "id").as_deref() == Some(&id)))
        .or_else(|| {
            of_type("candidate-pair").find(|p| {
                field(p, "state").as_deref() == Some("succeeded")
                    && Reflect::get(p, &"nominated".into()).ok().and_then(|n| n.as_bool())
                        == Some(true)
            })
        })?;
    let kind_of = |id_key: &str, stat: &'static str| {
        let id = field(selected_pair, id_key)?;
        let candidate = of_type(stat).find(|c| field(c, "id").as_deref() == Some(&id))?;
        field(candidate, "candidateType")
    };
    let ends = [
        kind_of("localCandidateId", "local-candidate")?,
        kind_of("remoteCandidateId", "remote-candidate")?,
    ];
    ["relay", "srflx", "prflx", "host"]
        .into_iter()
        .find(|kind| ends.iter().any(|end| end == kind))
        .map(str::to_owned)
}

/// When a game connection's type is read a second time after its channel opened.
const REMEASURE_MS: u32 = 3_000;

/// The DataChannel and its listeners.
struct Channel {
    dc: RtcDataChannel,
    _listeners: [EventListener; 3],
}

impl Channel {
    fn attach(dc: RtcDataChannel, pc: &RtcPeerConnection, events: Sink) -> Self {
        dc.set_binary_type(RtcDataChannelType::Arraybuffer);
        let on_open = {
            let events = events.clone();
            let pc = pc.clone();
            EventListener::new(&dc, "open", move |_| {
                events.emit(LinkEvent::Open);
                if !matches!(events.kind, LinkKind::Game(_)) {
                    return;
                }
                let (pc, events) = (pc.clone(), events.clone());
                let measure = move || {
                    if pc.connection_state() == RtcPeerConnectionState::Closed {
                        return;
                    }
                    let (pc, events) = (pc.clone(), events.clone());
                    spawn_local(async move {
                        if let Some(kind) = connection_type(&pc).await {
                            events.emit(LinkEvent::ConnectionType(kind));
                        }
                    });
                };
                // Again a little later: a partner's TURN allocation whose first check came
                // before its candidate did is `prflx` at first, and the browser retypes it once
                // the candidate is in.
                Timeout::new(REMEASURE_MS, measure.clone()).forget();
                measure();
            })
        };
        let on_message = {
            let events = events.clone();
            EventListener::new(&dc, "message", move |event| {
                let Some(data) = event.dyn_ref::<MessageEvent>().map(|e| e.data()) else {
                    return;
                };
                // Strings and Blobs are not part of the protocol: an empty packet is dropped
                // and counted by the session like any other undecodable one.
                let bytes = if data.is_instance_of::<js_sys::ArrayBuffer>() {
                    Uint8Array::new(&data).to_vec()
                } else {
                    Vec::new()
                };
                events.emit(LinkEvent::Data(bytes));
            })
        };
        let on_close = EventListener::new(&dc, "close", move |_| events.emit(LinkEvent::Closed));
        Self { dc, _listeners: [on_open, on_message, on_close] }
    }

    fn send(&self, bytes: &[u8]) {
        if self.dc.ready_state() == RtcDataChannelState::Open {
            // A full send buffer throws; the packet is simply lost, as on the wire.
            let _ = self.dc.send_with_u8_array(bytes);
        }
    }
}

impl Drop for Channel {
    fn drop(&mut self) {
        self.dc.close();
    }
}
