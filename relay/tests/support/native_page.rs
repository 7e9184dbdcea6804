//! A scripted page with a real WebRTC stack (webrtc-rs on the client side too): it meets the
//! relay's own screening peer as a browser would (offers a DataChannel, echoes every message).
//! Shared by the relay tests and the screening benchmark (`benches/screening.rs`).

use std::{net::SocketAddr, sync::Arc, time::Duration};

use futures_util::{SinkExt, StreamExt};
use rollgym_protocol::{
    ClientMsg, PROTOCOL_VERSION, ParticipantId, ScreenFacts, ServerMsg, SignalPayload,
};
use tokio::{net::TcpStream, sync::mpsc};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async, tungstenite::Message};
use webrtc::{
    data_channel::{DataChannel, DataChannelEvent},
    peer_connection::{
        PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCConfigurationBuilder,
        RTCIceGatheringState, RTCSessionDescription, SettingEngineBuilder,
    },
};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long one screening may take under load in a test.
const SCREENING_PATIENCE: Duration = Duration::from_secs(60);

struct Gathering(mpsc::UnboundedSender<()>);

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Gathering {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self.0.send(());
        }
    }
}

/// Greets the relay at `addr` as `id`, meets its screening peer, reports desktop facts and
/// returns the relay's verdict: the first scene (passed) or an exit.
pub(crate) async fn screen(addr: SocketAddr, id: &str) -> ServerMsg {
    tokio::time::timeout(SCREENING_PATIENCE, screen_inner(addr, id))
        .await
        .unwrap_or_else(|_| panic!("{id}: screening did not end in time"))
}

async fn screen_inner(addr: SocketAddr, id: &str) -> ServerMsg {
    let (mut ws, _) = connect_async(format!("ws://{addr}/ws")).await.expect("connect");
    let participant_id = Some(ParticipantId::parse(id).expect("a valid id"));
    send(
        &mut ws,
        &ClientMsg::Hello { protocol_version: PROTOCOL_VERSION, participant_id, rejoin: false },
    )
    .await;
    assert!(matches!(recv(&mut ws).await, ServerMsg::Welcome { .. }));
    let ServerMsg::Screen(request) = recv(&mut ws).await else { panic!("{id}: no screening") };
    assert!(request.webrtc, "the relay's peer is asked for");
    let (gathered, mut gathering) = mpsc::unbounded_channel();
    let settings = SettingEngineBuilder::new()
        .with_ice_connection_attempts(Some(Duration::from_millis(20)), None)
        .with_include_loopback_candidate(true)
        .build();
    let pc = PeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .with_setting_engine(settings)
        .with_handler(Arc::new(Gathering(gathered)))
        .with_udp_addrs(vec!["127.0.0.1:0".to_owned()])
        .build()
        .await
        .expect("a peer connection");
    let channel = pc.create_data_channel("rollgym-screen", None).await.expect("a channel");
    let echo = tokio::spawn(echo(channel));
    let offer = pc.create_offer(None).await.expect("an offer");
    pc.set_local_description(offer).await.expect("local offer");
    gathering.recv().await.expect("gathering completes");
    let sdp = pc.local_description().await.expect("the offer").sdp;
    send(&mut ws, &ClientMsg::ScreenSignal { payload: SignalPayload::Offer { sdp } }).await;
    let ServerMsg::ScreenSignal { payload: SignalPayload::Answer { sdp } } = recv(&mut ws).await
    else {
        panic!("{id}: no answer")
    };
    let answer = RTCSessionDescription::answer(sdp).expect("an answer");
    pc.set_remote_description(answer).await.expect("remote answer");
    let facts = ScreenFacts {
        user_agent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0.0.0 Safari/537.36".into(),
        window: [1280, 800],
        screen: [1920, 1080],
        ..ScreenFacts::default()
    };
    send(&mut ws, &ClientMsg::ScreenFacts(Box::new(facts))).await;
    let verdict = loop {
        match recv(&mut ws).await {
            ServerMsg::Waiting { .. } => continue,
            verdict => break verdict,
        }
    };
    let _ = pc.close().await;
    echo.abort();
    let _ = ws.close(None).await;
    verdict
}

async fn send(ws: &mut Ws, msg: &ClientMsg) {
    ws.send(Message::text(msg.encode())).await.expect("send");
}

/// Sends every message back, as the page does.
async fn echo(channel: Arc<dyn DataChannel>) {
    while let Some(event) = channel.poll().await {
        match event {
            DataChannelEvent::OnMessage(message) => {
                let _ = channel.send(message.data).await;
            }
            DataChannelEvent::OnClose => break,
            _ => {}
        }
    }
}

/// The next protocol message (control frames skipped).
async fn recv(ws: &mut Ws) -> ServerMsg {
    loop {
        match ws.next().await.expect("connection open").expect("valid frame") {
            Message::Text(text) => return ServerMsg::decode(text.as_str()).expect("decodable"),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}
