//! Groups of three sessions wired as a full mesh: every pair's packets go straight to the
//! other, the relay's part (start once validated) is played here. A member leaving mid-game:
//! the two others stop, agree on a frame and store the same rows.

use super::*;

const IDS: [&str; 3] = ["a", "b", "c"];

/// Three sessions paired into one game of `wide_room_3`, every channel open.
struct Mesh {
    peers: Vec<Session>,
    /// Packets on their way to each session, with the sender's player index.
    flight: Vec<Vec<(u8, Vec<u8>)>>,
    /// Sessions that are gone (their page closed): nothing reaches or leaves them.
    gone: Vec<bool>,
    uploads: Vec<Vec<Upload>>,
}

fn group_paired(me: u8) -> ServerMsg {
    let peers = (0..3u8)
        .filter(|i| *i != me)
        .map(|i| PeerInfo { participant_id: id(IDS[usize::from(i)]), player_index: i })
        .collect();
    ServerMsg::Paired {
        game_id: id("g"),
        player_index: me,
        peers,
        ice_servers: Vec::new(),
        force_relay: false,
        game: Box::new(GameConfig { layout: "wide_room_3".into(), ..short_game() }),
        seed: 5,
        countdown_ms: 0,
        monitoring: MonitoringConfig::default(),
        ends: Box::default(),
    }
}

impl Mesh {
    fn connect() -> Self {
        let mut mesh = Mesh {
            peers: IDS.iter().map(|p| Session::new(Some(id(p)))).collect(),
            flight: vec![Vec::new(); 3],
            gone: vec![false; 3],
            uploads: vec![Vec::new(); 3],
        };
        for (i, name) in IDS.iter().enumerate() {
            mesh.peers[i].handle(Input::Relay(welcome(name)), 0.0);
            let opens = mesh.peers[i].handle(Input::Relay(group_paired(i as u8)), 0.0);
            let partners: Vec<u8> = opens
                .iter()
                .filter_map(|c| match c {
                    Command::OpenPeer { partner, .. } => Some(*partner),
                    _ => None,
                })
                .collect();
            assert_eq!(partners.len(), 2, "one connection per partner");
            for partner in partners {
                let commands = mesh.peers[i].handle(Input::ChannelOpen(partner), 0.0);
                mesh.route(i, commands);
            }
        }
        mesh
    }

    /// Sends what session `from` said to its partners, and keeps its uploads.
    fn route(&mut self, from: usize, commands: Vec<Command>) {
        self.uploads[from].extend(persisted(&commands));
        for command in commands {
            match command {
                Command::SendPeer(to, bytes) if !self.gone[usize::from(to)] => {
                    self.flight[usize::from(to)].push((from as u8, bytes));
                }
                Command::SendRelay(ClientMsg::Validated { .. }) => {
                    let start = ServerMsg::Start { game_id: id("g"), input_delay: None };
                    self.peers[from].handle(Input::Relay(start), 0.0);
                }
                _ => {}
            }
        }
    }

    /// Plays every session from time 0, a frame every 33 ms, until each reached `frame`;
    /// returns the time.
    fn play_to_frame(&mut self, frame: i32, keys: &mut impl FnMut() -> u8) -> f64 {
        let mut now = 0.0;
        while self.peers.iter().any(|p| p.status().frame < frame) {
            now += 33.0;
            self.step(now, keys);
        }
        now
    }

    /// One frame of every session still here at `now`, random keys from `keys`.
    fn step(&mut self, now: f64, keys: &mut impl FnMut() -> u8) {
        for i in 0..3 {
            if self.gone[i] {
                continue;
            }
            for (from, packet) in std::mem::take(&mut self.flight[i]) {
                let commands = self.peers[i].handle(Input::ChannelData(from, packet), now);
                self.route(i, commands);
            }
            let input = NetInput { action: keys(), ..NetInput::default() };
            let commands = self.peers[i].handle(Input::Frame(input, now), now);
            self.route(i, commands);
        }
    }
}

fn keys() -> impl FnMut() -> u8 {
    let mut seed = 7u32;
    move || {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        ((seed >> 16) % 6) as u8
    }
}

#[test]
fn a_group_of_three_plays_every_episode_with_the_same_rows() {
    let mut mesh = Mesh::connect();
    let mut keys = keys();
    for tick in 0..3_000u32 {
        mesh.step(f64::from(tick) * 33.0, &mut keys);
        if mesh.peers.iter().all(|p| p.status().phase == Phase::Done) {
            break;
        }
    }
    assert!(mesh.peers.iter().all(|p| p.status().phase == Phase::Done), "every game completed");
    for ep in 0..2 {
        let files: Vec<Vec<String>> =
            mesh.uploads.iter().map(|u| shared_columns(&u[ep].csv)).collect();
        assert_eq!(files[0].len(), 61, "a header and 60 rows");
        assert_eq!(files[1], files[0]);
        assert_eq!(files[2], files[0]);
        assert!(files[0][0].contains("actions.2"), "the third player's columns");
    }
}

#[test]
fn when_a_member_leaves_the_two_others_stop_agree_and_store_the_same_rows() {
    let mut mesh = Mesh::connect();
    let mut keys = keys();
    let mut now = mesh.play_to_frame(40, &mut keys);
    // c's page closes: a hears it at once, b only later (each plays on as far as c's last
    // inputs let it, then stops and tells the other how far it confirmed).
    mesh.gone[2] = true;
    let commands = mesh.peers[0].handle(Input::ChannelClosed(2), now);
    mesh.route(0, commands);
    for tick in 0..150 {
        now += 33.0;
        if tick == 8 {
            let commands = mesh.peers[1].handle(Input::ChannelClosed(2), now);
            mesh.route(1, commands);
        }
        mesh.step(now, &mut keys);
    }
    let mut stored = Vec::new();
    for (i, peer) in mesh.peers.iter().take(2).enumerate() {
        assert_eq!(peer.status().phase, Phase::PartnerDisconnected, "{i}");
        assert_eq!(peer.status().outcome, Some(Outcome::PartnerDisconnected));
        let [upload] = &mesh.uploads[i][..] else {
            panic!("one partial file: {:?}", mesh.uploads[i].len())
        };
        assert!(upload.sidecar.partial);
        assert_eq!(upload.sidecar.unconfirmed_rows, 0, "every row kept is confirmed");
        stored.push(upload.clone());
    }
    let departure = stored[0].sidecar.departure.clone().expect("the departure is recorded");
    assert_eq!(departure.player, 2);
    assert_eq!(departure.agreed_by, vec![0, 1]);
    assert_eq!(Some(departure.clone()), stored[1].sidecar.departure);
    assert_eq!(stored[0].sidecar.last_frame, departure.last_frame);
    assert!(stored[0].sidecar.rows > 30, "rows before the departure: {}", stored[0].sidecar.rows);
    assert_eq!(shared_columns(&stored[0].csv), shared_columns(&stored[1].csv));
}

#[test]
fn a_member_that_never_answers_is_not_waited_for_past_three_seconds() {
    let mut mesh = Mesh::connect();
    let mut keys = keys();
    let mut now = mesh.play_to_frame(40, &mut keys);
    // a loses c; b's answer never comes (its page froze).
    mesh.gone[1] = true;
    mesh.gone[2] = true;
    let mut commands = mesh.peers[0].handle(Input::ChannelClosed(2), now);
    let is_left =
        |c: &Command| matches!(c, Command::SendPeer(1, bytes) if bytes.first() == Some(&0x04));
    while !commands.iter().any(is_left) {
        now += 33.0;
        commands = mesh.peers[0].handle(Input::Frame(NetInput::default(), now), now);
        assert!(now < 60_000.0, "a never stopped");
    }
    assert!(persisted(&mesh.peers[0].handle(Input::Tick, now + 2_900.0)).is_empty(), "waits for b");
    assert_eq!(mesh.peers[0].status().phase, Phase::Playing);
    let ended = persisted(&mesh.peers[0].handle(Input::Tick, now + 3_000.0));
    assert_eq!(ended.len(), 1, "the partial file is stored");
    assert_eq!(mesh.peers[0].status().phase, Phase::PartnerDisconnected);
    assert_eq!(ended[0].sidecar.departure.as_ref().map(|d| d.agreed_by.clone()), Some(vec![0]));
}

#[test]
fn a_groups_health_report_names_one_connection_type_the_relay_accepts() {
    let mut mesh = Mesh::connect();
    let mut keys = keys();
    let mut now = 0.0;
    mesh.peers[0].handle(Input::ConnectionType(1, "host".into()), now);
    mesh.peers[0].handle(Input::ConnectionType(2, "relay".into()), now);
    assert_eq!(mesh.peers[0].status().connection_type.as_deref(), Some("host,relay"));
    let mut reports = Vec::new();
    while reports.is_empty() && now < 20_000.0 {
        now += 33.0;
        for i in 0..3 {
            for (from, packet) in std::mem::take(&mut mesh.flight[i]) {
                let commands = mesh.peers[i].handle(Input::ChannelData(from, packet), now);
                mesh.route(i, commands);
            }
            let input = NetInput { action: keys(), ..NetInput::default() };
            let commands = mesh.peers[i].handle(Input::Frame(input, now), now);
            if i == 0 {
                reports.extend(commands.iter().filter_map(|c| match c {
                    Command::SendRelay(ClientMsg::Health(h)) => Some(h.clone()),
                    _ => None,
                }));
            }
            mesh.route(i, commands);
        }
    }
    let report = reports.first().expect("a health report");
    assert_eq!(report.connection.as_deref(), Some("relay"), "the least direct link");
    assert!(report.is_plausible());
}
