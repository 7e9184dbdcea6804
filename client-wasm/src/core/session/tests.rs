use rollgym_protocol::{ErrorCode, GameEnds, MonitoringConfig, PeerInfo, Upload};

use super::*;
use crate::core::netcode::NO_ACTION;
use crate::core::status::SceneStatus;

/// Any kind of id, by the type the place it goes to expects.
fn id<T: From<rollgym_protocol::SafeId>>(s: &str) -> T {
    rollgym_protocol::SafeId::parse(s).expect("valid").into()
}

fn short_game() -> GameConfig {
    GameConfig {
        max_steps: 60,
        num_episodes: 2,
        countdown_ms: 200,
        between_episodes_ms: 100,
        ..GameConfig::default()
    }
}

fn paired_msg(me: u8, partner: u8, partner_id: &str) -> ServerMsg {
    paired_with_countdown(me, partner, partner_id, 0)
}

fn paired_with_countdown(me: u8, partner: u8, partner_id: &str, countdown_ms: u32) -> ServerMsg {
    ServerMsg::Paired {
        game_id: id("g"),
        player_index: me,
        peers: vec![PeerInfo { participant_id: id(partner_id), player_index: partner }],
        ice_servers: Vec::new(),
        force_relay: false,
        game: Box::new(short_game()),
        seed: 5,
        countdown_ms,
        monitoring: MonitoringConfig::default(),
        ends: Box::default(),
    }
}

/// Player `me` of a pair of "a" and "b" paired into `game` (no countdown), watched by
/// `monitoring`, ending as `ends` say.
fn paired_into(
    me: u8,
    game: GameConfig,
    monitoring: MonitoringConfig,
    ends: GameEnds,
) -> ServerMsg {
    let partner = if me == 0 { "b" } else { "a" };
    let ServerMsg::Paired { game_id, player_index, peers, ice_servers, force_relay, seed, .. } =
        paired_msg(me, 1 - me, partner)
    else {
        unreachable!()
    };
    ServerMsg::Paired {
        game_id,
        player_index,
        peers,
        ice_servers,
        force_relay,
        game: Box::new(game),
        seed,
        countdown_ms: 0,
        monitoring,
        ends: Box::new(ends),
    }
}

fn welcome(participant: &str) -> ServerMsg {
    ServerMsg::Welcome {
        protocol_version: PROTOCOL_VERSION,
        participant_id: id(participant),
        experiment: "e".into(),
    }
}

fn paired(session: &mut Session, me: u8, partner: u8) -> Vec<Command> {
    session.handle(Input::Relay(paired_msg(me, partner, "partner")), 0.0)
}

fn persisted(commands: &[Command]) -> Vec<Upload> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::Persist(pending) => Some(pending.upload()),
            _ => None,
        })
        .collect()
}

/// The shared columns of a CSV: each line up to the first local column.
fn shared_columns(csv: &str) -> Vec<String> {
    let header: Vec<&str> = csv.lines().next().expect("a header").split(',').collect();
    let cut = rollgym_protocol::episode::shared_columns(&header);
    assert!(cut < header.len(), "local columns");
    csv.lines().map(|l| l.split(',').take(cut).collect::<Vec<_>>().join(",")).collect()
}

/// Plays the relay's part for two directly wired sessions: once a peer reports its connection
/// validated, it gets the start signal.
fn relay_part(peer: &mut Session, commands: &[Command]) {
    let validated =
        commands.iter().any(|c| matches!(c, Command::SendRelay(ClientMsg::Validated { .. })));
    if validated {
        peer.handle(Input::Relay(ServerMsg::Start { game_id: id("g"), input_delay: None }), 0.0);
    }
}

fn sent_to_peer(commands: Vec<Command>) -> Vec<Vec<u8>> {
    commands
        .into_iter()
        .filter_map(|c| match c {
            Command::SendPeer(_, bytes) => Some(bytes),
            _ => None,
        })
        .collect()
}

#[test]
fn says_hello_with_the_url_id() {
    let mut s = Session::new(Some(id("p1")));
    assert_eq!(
        s.handle(Input::RelayOpen, 0.0),
        vec![Command::SendRelay(ClientMsg::Hello {
            protocol_version: PROTOCOL_VERSION,
            participant_id: Some(id("p1")),
            rejoin: false,
        })]
    );
}

#[test]
fn lower_player_index_offers() {
    let mut s = Session::new(None);
    assert!(matches!(paired(&mut s, 0, 1)[..], [Command::OpenPeer { initiator: true, .. }]));
    let mut s = Session::new(None);
    assert!(matches!(paired(&mut s, 1, 0)[..], [Command::OpenPeer { initiator: false, .. }]));
    assert_eq!(s.status().phase, Phase::Matched);
    assert_eq!(s.status().player_index, Some(1));
}

#[test]
fn signals_go_to_the_partner_and_only_the_partners_are_applied() {
    let mut s = Session::new(None);
    paired(&mut s, 0, 1);
    let offer = SignalPayload::Offer { sdp: "o".into() };
    assert_eq!(
        s.handle(Input::LocalSignal(1, offer.clone()), 0.0),
        vec![Command::SendRelay(ClientMsg::Signal { to: id("partner"), payload: offer.clone() })]
    );
    let from_stranger = ServerMsg::Signal { from: id("stranger"), payload: offer.clone() };
    assert!(s.handle(Input::Relay(from_stranger), 0.0).is_empty());
    let from_partner = ServerMsg::Signal { from: id("partner"), payload: offer.clone() };
    assert_eq!(s.handle(Input::Relay(from_partner), 0.0), vec![Command::ApplySignal(1, offer)]);
}

#[test]
fn ping_pong_sets_the_round_trip() {
    let mut a = Session::new(None);
    let mut b = Session::new(None);
    paired(&mut a, 0, 1);
    paired(&mut b, 1, 0);
    let [ping] = &sent_to_peer(a.handle(Input::ChannelOpen(1), 100.0))[..] else { panic!() };
    let [pong] = &sent_to_peer(b.handle(Input::ChannelData(0, ping.clone()), 0.0))[..] else {
        panic!()
    };
    assert!(a.handle(Input::ChannelData(1, pong.clone()), 112.0).is_empty());
    assert_eq!(a.status().p2p_rtt_ms, Some(12.0));
}

#[test]
fn garbage_on_the_channel_is_counted_and_dropped() {
    let mut s = Session::new(None);
    paired(&mut s, 0, 1);
    assert!(s.handle(Input::ChannelData(1, vec![0xff, 0, 1]), 0.0).is_empty());
    assert!(s.handle(Input::ChannelData(1, Vec::new()), 0.0).is_empty());
    assert_eq!(s.dropped_packets(), 2);
    assert_eq!(s.status().phase, Phase::Matched);
}

#[test]
fn partner_leaving_ends_the_game_once() {
    let ([mut a, _b], _) = start_pair();
    assert_eq!(a.handle(Input::ChannelClosed(1), 0.0).first(), Some(&Command::ClosePeer));
    assert_eq!(a.status().phase, Phase::PartnerDisconnected);
    assert_eq!(a.status().outcome, Some(Outcome::PartnerDisconnected));
    assert!(a.handle(Input::ChannelClosed(1), 0.0).is_empty(), "already handled");
    assert!(a.handle(Input::Tick, 0.0).is_empty(), "no pings after the end");
}

#[test]
fn a_connection_lost_before_the_start_waits_for_the_relays_word() {
    let ([mut a, _b], _) = connect_pair();
    assert_eq!(a.handle(Input::ChannelClosed(1), 0.0), vec![Command::ClosePeer]);
    assert!(!a.status().phase.is_terminal(), "nothing was played: no end yet");
    assert!(a.netcode().is_none());
    // The relay gives up on the game (partner left, or never validated): waiting again.
    a.handle(Input::Relay(ServerMsg::Repool { message: "again".into() }), 0.0);
    assert_eq!(a.status().phase, Phase::Waiting);

    // Or the relay starts it anyway (both had validated): it cannot be played.
    let ([mut c, _d], _) = connect_pair();
    c.handle(Input::ChannelClosed(1), 0.0);
    c.handle(Input::Relay(ServerMsg::Start { game_id: id("g"), input_delay: None }), 0.0);
    assert_eq!(c.status().phase, Phase::PartnerDisconnected);
}

#[test]
fn outside_a_game_a_dropped_relay_connection_is_reopened() {
    let mut s = Session::new(None);
    s.handle(Input::Relay(welcome("a")), 0.0);
    s.handle(Input::Relay(ServerMsg::Waiting { waiting: 1, needed: 2 }), 0.0);
    assert_eq!(s.handle(Input::RelayClosed, 0.0), vec![Command::Reconnect]);
    assert!(s.status().notice.is_some(), "the page says it is reconnecting");
    let hello = s.handle(Input::RelayOpen, 0.0);
    assert!(matches!(&hello[..], [Command::SendRelay(ClientMsg::Hello { rejoin: false, .. })]));
    s.handle(Input::Relay(welcome("a")), 0.0);
    assert_eq!(s.status().notice, None);
    // Before the relay ever answered, a closed connection is an error.
    let mut fresh = Session::new(None);
    fresh.handle(Input::RelayClosed, 0.0);
    assert_eq!(fresh.status().phase, Phase::Error);
}

#[test]
fn the_relay_saying_the_partner_left_ends_a_running_game_only_when_the_partner_is_silent() {
    let ([mut a, _b], _) = start_pair();
    assert!(
        a.handle(Input::Relay(ServerMsg::PartnerLeft { participant_id: id("b") }), 0.0).is_empty()
    );
    assert_eq!(a.status().phase, Phase::Playing, "the channel is still up");
    a.matched_mut().expect("matched").links[0].silent = true; // what ggrs's NetworkInterrupted sets
    a.handle(Input::Frame(NetInput::default(), 0.0), 1.0e9);
    assert_eq!(a.status().phase, Phase::PartnerDisconnected);
}

#[test]
fn fatal_relay_errors_show_their_message() {
    let mut s = Session::new(Some(id("dup")));
    let error = ServerMsg::Error {
        code: ErrorCode::DuplicateParticipant,
        message: "already connected in another tab".into(),
        fatal: true,
    };
    s.handle(Input::Relay(error), 0.0);
    assert_eq!(s.status().phase, Phase::Error);
    assert_eq!(s.status().last_error.as_deref(), Some("already connected in another tab"));
    // The close that follows keeps the more useful message.
    s.handle(Input::RelayClosed, 0.0);
    assert_eq!(s.status().last_error.as_deref(), Some("already connected in another tab"));
}

#[test]
fn a_page_that_cannot_run_the_game_fails_once_and_closes_its_connection() {
    let (mut peers, _) = connect_pair();
    let commands = peers[0].handle(Input::Fatal("the clock could not start".into()), 0.0);
    assert_eq!(commands, vec![Command::ClosePeer, Command::CloseRelay]);
    assert_eq!(peers[0].status().phase, Phase::Error);
    assert_eq!(peers[0].status().last_error.as_deref(), Some("the clock could not start"));
    assert!(!peers[0].needs_relay(), "nothing to come back for");
    // Said once: a second report changes nothing.
    assert!(peers[0].handle(Input::Fatal("again".into()), 0.0).is_empty());
    assert_eq!(peers[0].status().last_error.as_deref(), Some("the clock could not start"));
}

#[test]
fn waiting_room_count_and_time_waited_are_shown() {
    let mut s = Session::new(None);
    s.handle(Input::Relay(ServerMsg::Waiting { waiting: 1, needed: 2 }), 1000.0);
    assert_eq!(s.status().phase, Phase::Waiting);
    assert_eq!(s.status().waiting, Some((1, 2)));
    s.handle(Input::Relay(ServerMsg::Waiting { waiting: 2, needed: 2 }), 3000.0);
    s.handle(Input::Tick, 62_500.0);
    assert_eq!(s.status().waited_s, Some(61), "counted from the first waiting message");
}

/// Two sessions whose channels are wired directly: the whole client core plays a game.
#[test]
fn two_sessions_play_every_episode_to_done_with_equal_hashes() {
    let (mut peers, mut in_flight) = connect_pair();
    let mut phases = Vec::new();
    let mut uploads: [Vec<Upload>; 2] = [Vec::new(), Vec::new()];
    let mut x = 99u32;
    for tick in 0..2000 {
        for i in 0..2 {
            for packet in std::mem::take(&mut in_flight[i]) {
                in_flight[1 - i].extend(sent_to_peer(
                    peers[i].handle(Input::ChannelData((1 - i) as u8, packet), 0.0),
                ));
            }
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let action = if x.is_multiple_of(3) { (x % 6) as u8 } else { NO_ACTION };
            let input =
                Input::Frame(NetInput { action, focused: true, held: false, slow: false }, 0.0);
            let commands = peers[i].handle(input, f64::from(tick));
            relay_part(&mut peers[i], &commands);
            uploads[i].extend(persisted(&commands));
            in_flight[1 - i].extend(sent_to_peer(commands));
        }
        phases.push(peers[0].status().phase);
        if peers.iter().all(|p| p.status().phase == Phase::Done) {
            break;
        }
    }
    let [a, b] = &peers;
    assert_eq!(a.status().phase, Phase::Done);
    assert_eq!(b.status().phase, Phase::Done);
    assert_eq!(a.status().outcome, Some(Outcome::Complete));
    assert_eq!(a.status().episodes.len(), 2);
    assert_eq!(a.status().episodes, b.status().episodes);
    for phase in [Phase::Matched, Phase::Playing, Phase::BetweenEpisodes] {
        assert!(phases.contains(&phase), "{phase:?} was shown");
    }
    assert_eq!(a.status().last_error, None);
    // Each peer exported both episodes, max_steps rows each, identical shared columns.
    assert_eq!((uploads[0].len(), uploads[1].len()), (2, 2));
    for (episode, (ua, ub)) in uploads[0].iter().zip(&uploads[1]).enumerate() {
        assert_eq!(ua.episode, episode as u32);
        assert_eq!(ua.upload_id, ub.upload_id, "one id per game and episode");
        assert_eq!(ua.csv.lines().count(), 61, "header plus one row per step");
        assert_eq!(shared_columns(&ua.csv), shared_columns(&ub.csv));
        assert_eq!(ua.sidecar.rows, 60);
        assert_eq!(ua.sidecar.outcome, Outcome::Complete);
        assert_eq!(ua.sidecar.participants[1].participant_id.as_str(), "b");
    }
    assert_eq!(a.status().exports.len(), 2);
}

#[test]
fn uploads_are_kept_until_acknowledged_and_resent_after_a_reconnect() {
    let mut s = Session::new(Some(id("me")));
    let upload = Upload {
        upload_id: id("g-ep0"),
        participant_id: id("me"),
        game_id: id("g"),
        scene_id: id("overcooked"),
        episode: 0,
        csv: "episode,t\n".into(),
        sidecar: Default::default(),
    };
    let stranger =
        Upload { participant_id: id("someone-else"), upload_id: id("x-ep0"), ..upload.clone() };
    let mine = PendingUpload::new(upload);
    s.handle(Input::Restored(vec![mine.clone(), PendingUpload::new(stranger)]), 0.0);
    assert!(s.needs_relay());
    let resent = s.handle(Input::Relay(welcome("me")), 0.0);
    assert_eq!(resent, vec![Command::SendRelayText(mine.message)], "only our own, as it was");
    assert_eq!(
        s.handle(Input::RelayClosed, 0.0),
        vec![Command::Reconnect],
        "undelivered data needs the relay"
    );
    let acked = s.handle(Input::Relay(ServerMsg::UploadAck { upload_id: id("g-ep0") }), 0.0);
    assert_eq!(acked, vec![Command::Forget { participant: id("me"), upload_id: id("g-ep0") }]);
}

/// Two sessions, welcomed, paired and with their channels open; returns them and the packets
/// each must deliver to the other.
fn connect_pair() -> ([Session; 2], [Vec<Vec<u8>>; 2]) {
    let mut peers = [Session::new(Some(id("a"))), Session::new(Some(id("b")))];
    for (peer, id) in peers.iter_mut().zip(["a", "b"]) {
        peer.handle(Input::Relay(welcome(id)), 0.0);
    }
    peers[0].handle(Input::Relay(paired_msg(0, 1, "b")), 0.0);
    peers[1].handle(Input::Relay(paired_msg(1, 0, "a")), 0.0);
    let mut in_flight: [Vec<Vec<u8>>; 2] = [Vec::new(), Vec::new()];
    for i in 0..2 {
        in_flight[1 - i]
            .extend(sent_to_peer(peers[i].handle(Input::ChannelOpen((1 - i) as u8), 0.0)));
    }
    (peers, in_flight)
}

/// Packets on their way to each of two sessions.
pub(super) type InFlight = [Vec<Vec<u8>>; 2];

/// One frame of both sessions at `now`: each takes the packets in flight to it, then
/// simulates `input(player, tick, session)`; its packets go in flight to the other. Returns
/// each side's commands.
pub(super) fn step_pair(
    peers: &mut [Session; 2],
    flight: &mut InFlight,
    (tick, now): (u32, f64),
    input: &mut impl FnMut(usize, u32, &mut Session) -> NetInput,
) -> [Vec<Command>; 2] {
    let mut seen: [Vec<Command>; 2] = [Vec::new(), Vec::new()];
    for i in 0..2 {
        for packet in std::mem::take(&mut flight[i]) {
            flight[1 - i].extend(sent_to_peer(
                peers[i].handle(Input::ChannelData((1 - i) as u8, packet), now),
            ));
        }
        let frame = Input::Frame(input(i, tick, &mut peers[i]), now);
        let commands = peers[i].handle(frame, now);
        flight[1 - i].extend(sent_to_peer(commands.clone()));
        seen[i] = commands;
    }
    seen
}

/// Plays both sessions from `from_ms`, a frame every 33 ms, until both are done; every
/// upload of each.
pub(super) fn play_to_the_end(
    peers: &mut [Session; 2],
    flight: &mut InFlight,
    from_ms: f64,
    mut input: impl FnMut(usize, u32, &mut Session) -> NetInput,
) -> [Vec<Upload>; 2] {
    let mut uploads = [Vec::new(), Vec::new()];
    for tick in 0..2_000u32 {
        let now = from_ms + f64::from(tick) * 33.0;
        let commands = step_pair(peers, flight, (tick, now), &mut input);
        for (mine, commands) in uploads.iter_mut().zip(&commands) {
            mine.extend(persisted(commands));
        }
        if peers.iter().all(|p| p.status().phase == Phase::Done) {
            return uploads;
        }
    }
    panic!("the game never ended")
}

/// Connects two sessions and runs them until both are playing; returns the in-flight queues.
pub(super) fn start_pair() -> ([Session; 2], [Vec<Vec<u8>>; 2]) {
    let (mut peers, mut in_flight) = connect_pair();
    for tick in 0..500 {
        for i in 0..2 {
            for packet in std::mem::take(&mut in_flight[i]) {
                in_flight[1 - i].extend(sent_to_peer(
                    peers[i].handle(Input::ChannelData((1 - i) as u8, packet), 0.0),
                ));
            }
            let frame = Input::Frame(NetInput::default(), 0.0);
            let commands = peers[i].handle(frame, f64::from(tick) * 33.0);
            relay_part(&mut peers[i], &commands);
            in_flight[1 - i].extend(sent_to_peer(commands));
        }
        if peers.iter().all(|p| p.status().phase == Phase::Playing) {
            return (peers, in_flight);
        }
    }
    panic!("never started playing")
}

#[test]
fn a_repeated_channel_open_leaves_the_running_game_alone() {
    let ([mut a, _b], _) = start_pair();
    let frame = a.status().frame;
    assert_eq!(a.handle(Input::ChannelOpen(1), 20_000.0), Vec::new());
    assert_eq!(a.status().phase, Phase::Playing);
    assert_eq!(a.status().last_error, None);
    a.handle(Input::Frame(NetInput::default(), 0.0), 20_033.0);
    assert!(a.status().frame >= frame, "the same game goes on");
}

#[test]
fn a_page_frozen_past_the_timeout_reports_partner_away_when_the_channel_closes() {
    let ([mut a, _b], _) = start_pair();
    // The last tick was within the first 500 x 33 ms; the next one comes much later.
    let after_freeze = 1.0e9;
    a.handle(Input::Frame(NetInput::default(), 0.0), after_freeze);
    a.handle(Input::ChannelClosed(1), after_freeze + 1.0);
    assert_eq!(a.status().phase, Phase::PartnerDisconnected);
    assert_eq!(a.status().outcome, Some(Outcome::PartnerAway));
}

#[test]
fn a_closed_channel_without_a_freeze_is_a_disconnect_once_the_inputs_held_run_out() {
    let (mut peers, mut flight) = start_pair();
    for tick in 0..20 {
        for i in 0..2 {
            for packet in std::mem::take(&mut flight[i]) {
                flight[1 - i].extend(sent_to_peer(
                    peers[i].handle(Input::ChannelData((1 - i) as u8, packet), 0.0),
                ));
            }
            let now = 17_000.0 + f64::from(tick) * 33.0;
            flight[1 - i]
                .extend(sent_to_peer(peers[i].handle(Input::Frame(NetInput::default(), 0.0), now)));
        }
    }
    let [a, _b] = &mut peers;
    let mut commands = a.handle(Input::ChannelClosed(1), 20_000.0);
    for tick in 1..=30 {
        if a.status().phase == Phase::PartnerDisconnected {
            break;
        }
        commands = a.handle(Input::Frame(NetInput::default(), 0.0), 20_000.0 + f64::from(tick));
    }
    assert_eq!(a.status().phase, Phase::PartnerDisconnected);
    assert_eq!(a.status().outcome, Some(Outcome::PartnerDisconnected));
    let [partial] = &persisted(&commands)[..] else { panic!("one partial episode: {commands:?}") };
    assert!(partial.sidecar.partial);
}

/// The race a page that closes right after its `finished` event runs: it confirmed the last
/// frame, its partner holds every input but has not simulated that frame yet.
#[test]
fn a_partner_that_finished_and_closed_first_leaves_enough_to_finish() {
    let (mut peers, mut flight) = start_pair();
    let mut uploads: [Vec<Upload>; 2] = [Vec::new(), Vec::new()];
    'play: for tick in 0..4000 {
        for i in 0..2 {
            for packet in std::mem::take(&mut flight[i]) {
                flight[1 - i].extend(sent_to_peer(
                    peers[i].handle(Input::ChannelData((1 - i) as u8, packet), 0.0),
                ));
            }
            let now = 20_000.0 + f64::from(tick) * 33.0;
            let commands = peers[i].handle(Input::Frame(NetInput::default(), 0.0), now);
            uploads[i].extend(persisted(&commands));
            flight[1 - i].extend(sent_to_peer(commands));
            if peers[0].status().phase == Phase::Done {
                break 'play;
            }
        }
    }
    let [a, b] = &mut peers;
    assert_eq!(a.status().phase, Phase::Done);
    for packet in std::mem::take(&mut flight[1]) {
        b.handle(Input::ChannelData(0, packet), 0.0);
    }
    assert_ne!(b.status().phase, Phase::Done, "b has a frame left to simulate");
    assert!(b.handle(Input::ChannelClosed(0), 1.0e6).is_empty(), "b plays on");
    for tick in 1..=10 {
        let commands = b.handle(Input::Frame(NetInput::default(), 0.0), 1.0e6 + f64::from(tick));
        uploads[1].extend(persisted(&commands));
        if b.status().phase == Phase::Done {
            break;
        }
    }
    assert_eq!(b.status().phase, Phase::Done);
    assert_eq!(b.status().outcome, Some(Outcome::Complete));
    assert_eq!(a.status().episodes, b.status().episodes);
    assert_eq!((uploads[0].len(), uploads[1].len()), (2, 2));
    let last = |u: &[Upload]| shared_columns(&u[1].csv);
    assert_eq!(last(&uploads[0]), last(&uploads[1]), "the last episode agrees");
    assert!(!uploads[1][1].sidecar.partial);
}

#[test]
fn a_waiting_room_timeout_excludes_with_the_message_and_code() {
    let mut s = Session::new(None);
    s.handle(Input::Relay(ServerMsg::Waiting { waiting: 1, needed: 2 }), 0.0);
    let timeout = ServerMsg::exit(
        rollgym_protocol::OutcomeName::WaitTimeout,
        "no partner".into(),
        Some("C0DE".into()),
        None,
    );
    s.handle(Input::Relay(timeout), 0.0);
    assert_eq!(s.status().phase, Phase::Excluded);
    assert_eq!(s.status().outcome, Some(Outcome::Timeout));
    assert_eq!(s.status().exit.as_ref().and_then(|e| e.completion_code.as_deref()), Some("C0DE"));
    assert!(
        s.handle(Input::Relay(paired_msg(0, 1, "late")), 0.0).is_empty(),
        "no game after the exit"
    );
}

#[test]
fn play_waits_for_the_relay_start_after_validating_and_shows_the_countdown() {
    let mut a = Session::new(Some(id("a")));
    let mut b = Session::new(Some(id("b")));
    a.handle(Input::Relay(welcome("a")), 0.0);
    b.handle(Input::Relay(welcome("b")), 0.0);
    a.handle(Input::Relay(paired_with_countdown(0, 1, "b", 3000)), 1000.0);
    b.handle(Input::Relay(paired_with_countdown(1, 0, "a", 3000)), 1000.0);
    a.handle(Input::Tick, 1100.0);
    assert_eq!(a.status().phase, Phase::Countdown);
    assert_eq!(a.status().countdown, Some(3));
    let mut flight: [Vec<Vec<u8>>; 2] = [Vec::new(), Vec::new()];
    flight[1].extend(sent_to_peer(a.handle(Input::ChannelOpen(1), 1200.0)));
    flight[0].extend(sent_to_peer(b.handle(Input::ChannelOpen(0), 1200.0)));
    let mut validated = [false, false];
    for tick in 0..300 {
        let now = 1200.0 + f64::from(tick) * 10.0;
        for (i, peer) in [&mut a, &mut b].into_iter().enumerate() {
            for packet in std::mem::take(&mut flight[i]) {
                flight[1 - i].extend(sent_to_peer(
                    peer.handle(Input::ChannelData((1 - i) as u8, packet), now),
                ));
            }
            let commands = peer.handle(Input::Frame(NetInput::default(), 0.0), now);
            validated[i] |= commands
                .iter()
                .any(|c| matches!(c, Command::SendRelay(ClientMsg::Validated { .. })));
            flight[1 - i].extend(sent_to_peer(commands));
        }
    }
    assert_eq!(validated, [true, true], "both report the handshake");
    assert_eq!(a.status().frame, 0, "no frame simulated before the start");
    assert_eq!(a.status().phase, Phase::Matched, "countdown over, waiting for the start");
    a.handle(Input::Relay(ServerMsg::Start { game_id: id("g"), input_delay: None }), 5000.0);
    a.handle(Input::Frame(NetInput::default(), 0.0), 5010.0);
    assert_eq!(a.status().phase, Phase::Playing);
    assert!(a.status().frame > 0);
}

#[test]
fn a_repool_forgets_the_game_and_waits_again() {
    let mut s = Session::new(Some(id("a")));
    s.handle(Input::Relay(welcome("a")), 0.0);
    paired(&mut s, 0, 1);
    s.handle(Input::ChannelOpen(1), 0.0);
    let out = s.handle(Input::Relay(ServerMsg::Repool { message: "try again".into() }), 0.0);
    assert_eq!(out, vec![Command::ClosePeer]);
    assert_eq!(s.status().phase, Phase::Waiting);
    assert_eq!(s.status().game_id, None);
    assert_eq!(s.status().notice.as_deref(), Some("try again"));
    assert!(s.netcode().is_none());
    // A new pairing works as the first did.
    assert!(matches!(paired(&mut s, 1, 0)[..], [Command::OpenPeer { initiator: false, .. }]));
}

fn scene(index: u32, kind: &str, last: bool) -> ServerMsg {
    let view = match kind {
        "static" => rollgym_protocol::SceneView::Static {
            id: id(&format!("s{index}")),
            title: "Welcome".into(),
            html: "<p>Read this</p>".into(),
            button: Some("Continue".into()),
            completion_code: None,
        },
        _ => rollgym_protocol::SceneView::Gym { id: id(&format!("s{index}")) },
    };
    ServerMsg::Scene { index, view, last }
}

#[test]
fn a_static_scene_is_shown_and_continue_advances_once() {
    let mut s = Session::new(Some(id("a")));
    s.handle(Input::Relay(welcome("a")), 0.0);
    s.handle(Input::Relay(scene(0, "static", false)), 0.0);
    assert_eq!(s.status().phase, Phase::Scene);
    assert_eq!(s.status().scene.as_ref().map(|sc| sc.title.as_str()), Some("Welcome"));
    assert_eq!(
        s.handle(Input::Continue, 0.0),
        vec![Command::SendRelay(ClientMsg::Advance { from: 0 })]
    );
    assert!(s.handle(Input::Continue, 0.0).is_empty(), "a double click advances once");
    s.handle(Input::Relay(scene(1, "gym", false)), 0.0);
    assert_eq!(s.status().phase, Phase::Waiting);
}

/// A gym scene that is not the last, as the session records it.
fn gym_scene(index: u32) -> SceneStatus {
    SceneStatus {
        index,
        id: "g".into(),
        kind: "gym",
        title: String::new(),
        html: String::new(),
        button: None,
        completion_code: None,
        last: false,
    }
}

#[test]
fn after_the_game_both_finish_then_the_next_scene_follows() {
    let ([mut a, mut b], mut flight) = start_pair();
    for peer in [&mut a, &mut b] {
        peer.status.scene = Some(gym_scene(1));
    }
    let mut advanced = [false, false];
    for tick in 0..4000 {
        let now = f64::from(tick) * 10.0;
        for (i, peer) in [&mut a, &mut b].into_iter().enumerate() {
            for packet in std::mem::take(&mut flight[i]) {
                flight[1 - i].extend(sent_to_peer(
                    peer.handle(Input::ChannelData((1 - i) as u8, packet), now),
                ));
            }
            let mut commands = peer.handle(Input::Frame(NetInput::default(), 0.0), now);
            if tick % 50 == 0 {
                commands.extend(peer.handle(Input::Tick, now));
            }
            advanced[i] |= commands.contains(&Command::SendRelay(ClientMsg::Advance { from: 1 }));
            flight[1 - i].extend(sent_to_peer(commands));
        }
        if advanced == [true, true] {
            break;
        }
    }
    assert_eq!(advanced, [true, true], "both move on once both are finished");
    let finished = |s: &Session| s.matched().is_some_and(|m| m.links[0].finished);
    assert!(finished(&a) && finished(&b), "each heard the other finish");
    // The relay restarts before it answers: back, a asks again for the next scene.
    assert_eq!(a.handle(Input::RelayClosed, 0.0), vec![Command::Reconnect]);
    let hello = a.handle(Input::RelayOpen, 0.0);
    assert!(matches!(&hello[..], [Command::SendRelay(ClientMsg::Hello { rejoin: true, .. })]));
    let id = a.status().participant_id.clone().unwrap_or_else(|| "a".into());
    let again = a.handle(Input::Relay(welcome(&id)), 0.0);
    assert!(again.contains(&Command::SendRelay(ClientMsg::Advance { from: 1 })), "{again:?}");
    let next = a.handle(Input::Relay(scene(2, "static", true)), 0.0);
    assert_eq!(next, vec![Command::ClosePeer], "the game's connection is torn down");
    assert_eq!(a.status().phase, Phase::Scene);
    assert!(a.netcode().is_none());
}

fn waiting_session(id: &str) -> Session {
    let mut s = Session::new(None);
    s.handle(Input::Relay(welcome(id)), 0.0);
    s.handle(Input::Relay(ServerMsg::Waiting { waiting: 1, needed: 2 }), 0.0);
    s
}

fn probe_msg(initiator: bool) -> ServerMsg {
    ServerMsg::Probe {
        probe_id: id("q1"),
        peer: id("other"),
        initiator,
        ice_servers: Vec::new(),
        force_relay: false,
    }
}

fn probe_packets(commands: &[Command]) -> Vec<Vec<u8>> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::SendProbe(bytes) => Some(bytes.clone()),
            _ => None,
        })
        .collect()
}

fn probe_results(commands: &[Command]) -> Vec<Option<u32>> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::SendRelay(ClientMsg::ProbeResult { rtt_ms, .. }) => Some(*rtt_ms),
            _ => None,
        })
        .collect()
}

/// Two waiting sessions probe each other over a wire with a 30 ms round trip.
#[test]
fn two_waiting_sessions_probe_each_other_and_report_the_median() {
    let mut a = waiting_session("a");
    let mut b = waiting_session("b");
    let open = a.handle(Input::Relay(probe_msg(true)), 0.0);
    assert!(matches!(&open[..], [Command::OpenProbe { initiator: true, .. }]));
    b.handle(Input::Relay(probe_msg(false)), 0.0);
    assert!(a.probing() && b.probing());
    // Signaling goes through the relay, tagged with the probe.
    let offer = SignalPayload::Offer { sdp: "v=0".into() };
    assert_eq!(
        a.handle(Input::Probe(ProbeEvent::LocalSignal(offer.clone())), 1.0),
        vec![Command::SendRelay(ClientMsg::ProbeSignal {
            probe_id: id("q1"),
            payload: offer.clone()
        })]
    );
    let forwarded = ServerMsg::ProbeSignal { probe_id: id("q1"), payload: offer.clone() };
    assert_eq!(
        b.handle(Input::Relay(forwarded), 2.0),
        vec![Command::ApplyProbeSignal(offer.clone())]
    );
    let stale = ServerMsg::ProbeSignal { probe_id: id("q0"), payload: offer };
    assert!(b.handle(Input::Relay(stale), 2.0).is_empty(), "another probe's signal is dropped");

    // Only a's channel side is simulated in full: b answers every ping.
    let mut now = 100.0;
    let mut to_b = probe_packets(&a.handle(Input::Probe(ProbeEvent::Open), now));
    b.handle(Input::Probe(ProbeEvent::Open), now);
    let mut results = Vec::new();
    while let Some(ping) = to_b.pop() {
        let pong = probe_packets(&b.handle(Input::Probe(ProbeEvent::Data(ping)), now + 15.0));
        now += 30.0;
        let out = a.handle(Input::Probe(ProbeEvent::Data(pong[0].clone())), now);
        results.extend(probe_results(&out));
        to_b.extend(probe_packets(&out));
    }
    assert_eq!(results, vec![Some(30)]);
    assert_eq!(a.status().probe_rtt_ms, Some(30));
    assert_eq!(a.status().probes, 1);
    // The relay ends the probe: the connection may close; a late end of another probe is not
    // ours.
    a.handle(Input::Relay(ServerMsg::ProbeEnd { probe_id: id("q0") }), now);
    assert!(a.probing());
    a.handle(Input::Relay(ServerMsg::ProbeEnd { probe_id: id("q1") }), now);
    assert!(!a.probing());
    assert_eq!(a.status().phase, Phase::Waiting, "still in the waiting room");
}

#[test]
fn a_probe_connection_that_fails_reports_a_failure_once() {
    let mut s = waiting_session("a");
    s.handle(Input::Relay(probe_msg(false)), 0.0);
    let out = s.handle(Input::Probe(ProbeEvent::Failed("ice".into())), 10.0);
    assert_eq!(probe_results(&out), vec![None]);
    assert!(probe_results(&s.handle(Input::Probe(ProbeEvent::Closed), 11.0)).is_empty());
    // Never opened, never ended by the relay: the connection is dropped eventually.
    s.handle(Input::Tick, crate::core::probe::LINGER_MS);
    assert!(!s.probing());
}

#[test]
fn a_probe_that_never_connects_reports_before_the_relay_gives_up() {
    let mut s = waiting_session("a");
    s.handle(Input::Relay(probe_msg(true)), 1_000.0);
    assert!(probe_results(&s.handle(Input::Tick, 9_000.0)).is_empty());
    assert_eq!(probe_results(&s.handle(Input::Tick, 10_000.0)), vec![None]);
}

#[test]
fn a_probe_request_outside_the_waiting_room_is_declined() {
    let mut s = Session::new(None);
    s.handle(Input::Relay(welcome("a")), 0.0);
    s.handle(Input::Relay(scene(0, "static", false)), 0.0);
    let out = s.handle(Input::Relay(probe_msg(true)), 0.0);
    assert_eq!(probe_results(&out), vec![None]);
    assert!(!s.probing());
}

#[test]
fn being_paired_ends_any_probe() {
    let mut s = waiting_session("a");
    s.handle(Input::Relay(probe_msg(true)), 0.0);
    s.handle(Input::Relay(paired_msg(0, 1, "other")), 0.0);
    assert!(!s.probing());
    assert_eq!(s.status().probes, 1, "kept for the page and tests");
}

#[test]
fn coming_back_after_the_end_shows_a_thank_you() {
    let mut s = Session::new(None);
    s.handle(Input::Relay(welcome("a")), 0.0);
    let finished = ServerMsg::Error {
        code: ErrorCode::AlreadyFinished,
        message: "participant a has already completed this study".into(),
        fatal: true,
    };
    s.handle(Input::Relay(finished), 0.0);
    assert_eq!(s.status().phase, Phase::Excluded);
    assert_eq!(s.status().outcome, Some(Outcome::AlreadyFinished));
    assert!(s.status().exit.as_ref().is_some_and(|e| e.message.contains("already completed")));
}

#[test]
fn after_a_game_the_same_scene_is_never_entered_again() {
    let ([mut a, _b], _flight) = start_pair();
    a.status.phase = Phase::Done;
    a.status.scene = Some(gym_scene(1));
    assert!(a.handle(Input::Relay(scene(1, "gym", false)), 0.0).is_empty());
    assert_eq!(a.status().phase, Phase::Done, "a stale scene message is ignored");
    a.handle(Input::Relay(scene(2, "static", true)), 0.0);
    assert_eq!(a.status().phase, Phase::Scene);
}

mod console;
mod envs;
mod groups;
mod input_delay;
mod latency;
mod monitoring;
mod reconnect;
mod screening;
