//! Groups of three sessions wired as a full mesh: every pair's packets go straight to the
//! other, the relay's part (start once validated) is played here. A member leaving mid-game:
//! the two others stop, agree on a frame and store the same rows.

use rollgym_protocol::episode::Departure;

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
    /// Packets from the first session to the second are lost.
    cut: Option<(u8, u8)>,
    /// This many of the next "member left" packets are lost.
    lose_left: usize,
    /// When set, a random generator's state: each packet waits a random number of frames
    /// (so packets also overtake each other) and sessions miss a frame now and then, as
    /// pages in a busy browser do.
    jitter: Option<u32>,
}

fn group_paired(me: u8, game: &GameConfig) -> ServerMsg {
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
        game: Box::new(game.clone()),
        seed: 5,
        countdown_ms: 0,
        monitoring: MonitoringConfig::default(),
        ends: Box::default(),
    }
}

fn trio_game() -> GameConfig {
    GameConfig { layout: "wide_room_3".into(), ..short_game() }
}

impl Mesh {
    fn connect() -> Self {
        Self::connect_with(&trio_game())
    }

    fn connect_with(game: &GameConfig) -> Self {
        let mut mesh = Mesh {
            peers: IDS.iter().map(|p| Session::new(Some(id(p)))).collect(),
            flight: vec![Vec::new(); 3],
            gone: vec![false; 3],
            uploads: vec![Vec::new(); 3],
            cut: None,
            lose_left: 0,
            jitter: None,
        };
        for (i, name) in IDS.iter().enumerate() {
            mesh.peers[i].handle(Input::Relay(welcome(name)), 0.0);
            let opens = mesh.peers[i].handle(Input::Relay(group_paired(i as u8, game)), 0.0);
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
                Command::SendPeer(to, _) if self.cut == Some((from as u8, to)) => {}
                Command::SendPeer(_, bytes)
                    if self.lose_left > 0 && bytes.first() == Some(&0x04) =>
                {
                    self.lose_left -= 1;
                }
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
                if self.chance(40) {
                    self.flight[i].push((from, packet));
                    continue;
                }
                let commands = self.peers[i].handle(Input::ChannelData(from, packet), now);
                self.route(i, commands);
            }
            if self.chance(10) {
                continue;
            }
            let input = NetInput { action: keys(), ..NetInput::default() };
            let commands = self.peers[i].handle(Input::Frame(input, now), now);
            self.route(i, commands);
        }
    }
}

impl Mesh {
    /// With jitter, true `percent` % of the time; never without.
    fn chance(&mut self, percent: u32) -> bool {
        let Some(state) = &mut self.jitter else { return false };
        *state ^= *state << 13;
        *state ^= *state >> 17;
        *state ^= *state << 5;
        *state % 100 < percent
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

fn continuing_trio() -> GameConfig {
    GameConfig { on_player_leave: rollgym_protocol::OnPlayerLeave::Continue, ..trio_game() }
}

impl Mesh {
    /// c left: a and b play on until both are done; both store both episodes complete, with
    /// the same rows and the same `departure`, which is returned.
    fn play_on_without_c(&mut self, mut now: f64, keys: &mut impl FnMut() -> u8) -> Departure {
        for _ in 0..3_000 {
            now += 33.0;
            self.step(now, keys);
            if self.peers[..2].iter().all(|p| p.status().phase == Phase::Done) {
                break;
            }
        }
        for peer in &self.peers[..2] {
            let status = peer.status();
            assert_eq!(status.phase, Phase::Done, "both played on to the end: {status:?}");
        }
        assert_eq!((self.uploads[0].len(), self.uploads[1].len()), (2, 2), "both episodes");
        let departure = self.uploads[0][1].sidecar.departure.clone().expect("recorded");
        assert!(departure.continued);
        assert_eq!((departure.player, departure.agreed_by.clone()), (2, vec![0, 1]));
        for ep in 0..2 {
            let [a, b] = [&self.uploads[0][ep], &self.uploads[1][ep]];
            assert!(!a.sidecar.partial && !b.sidecar.partial);
            // In every file from the one under way when c left.
            assert_eq!(a.sidecar.departure, b.sidecar.departure, "episode {ep}");
            assert_eq!(shared_columns(&a.csv), shared_columns(&b.csv), "episode {ep}");
        }
        departure
    }

    /// c's page closed: nothing more reaches it or leaves it.
    fn c_is_gone(&mut self) {
        self.gone[2] = true;
        self.flight[2].clear();
    }

    /// Session `i`'s channel to c closed.
    fn loses_c(&mut self, i: usize, now: f64) {
        let commands = self.peers[i].handle(Input::ChannelClosed(2), now);
        self.route(i, commands);
    }
}

#[test]
fn with_continue_the_two_others_play_on_with_the_leavers_default_action_and_agree() {
    let mut mesh = Mesh::connect_with(&continuing_trio());
    let mut keys = keys();
    let mut now = mesh.play_to_frame(30, &mut keys);
    // c's page closes: a hears it at once, b eight frames later.
    mesh.gone[2] = true;
    mesh.loses_c(0, now);
    for _ in 0..8 {
        now += 33.0;
        mesh.step(now, &mut keys);
    }
    mesh.loses_c(1, now);
    let departure = mesh.play_on_without_c(now, &mut keys);
    // After the agreed frame the leaver does nothing but its default action.
    let first = &mesh.uploads[0][0];
    let lines: Vec<&str> = first.csv.lines().collect();
    let column = lines[0].split(',').position(|c| c == "actions.2").expect("column");
    let after =
        usize::try_from(departure.last_frame - first.sidecar.first_frame + 1).expect("after");
    let actions: Vec<&str> =
        lines[1 + after..].iter().map(|l| l.split(',').nth(column).unwrap_or("")).collect();
    assert!(!actions.is_empty());
    assert!(
        actions.windows(2).all(|w| w[0] == w[1]),
        "one action after the departure: {actions:?}"
    );
}

#[test]
fn with_continue_a_page_goes_back_further_than_ggrs_keeps_states() {
    let mut mesh = Mesh::connect_with(&continuing_trio());
    let mut keys = keys();
    let mut now = mesh.play_to_frame(30, &mut keys);
    // c's packets stop reaching b (its path to b failed) a while before c's page closes: b's
    // confirmed frame stays behind, and a runs on as far as b's inputs let it.
    mesh.cut = Some((2, 1));
    for _ in 0..60 {
        now += 33.0;
        mesh.step(now, &mut keys);
    }
    let a_frame = mesh.peers[0].status().frame;
    let b_confirmed = mesh.peers[1].status().confirmed_frame;
    let ggrs_cells = i32::try_from(short_game().max_prediction).expect("small") + 2;
    assert!(a_frame - b_confirmed > ggrs_cells, "a at {a_frame}, b confirmed {b_confirmed}");
    mesh.gone[2] = true;
    mesh.loses_c(0, now);
    mesh.loses_c(1, now);
    let departure = mesh.play_on_without_c(now, &mut keys);
    assert!(departure.last_frame <= b_confirmed, "{departure:?}");
}

#[test]
fn with_continue_a_group_plays_on_whatever_the_timing() {
    for seed in 1..=40u32 {
        let mut mesh = Mesh::connect_with(&continuing_trio());
        mesh.jitter = Some(seed.wrapping_mul(2_654_435_761));
        let mut keys = keys();
        let mut now = mesh.play_to_frame(20 + (seed * 7 % 90) as i32, &mut keys);
        mesh.c_is_gone();
        mesh.loses_c(0, now);
        // b notices itself some frames later, or only hears it from a.
        let later = seed % 12;
        for tick in 0..20 {
            now += 33.0;
            mesh.step(now, &mut keys);
            if tick == later {
                mesh.loses_c(1, now);
            }
        }
        mesh.play_on_without_c(now, &mut keys);
    }
}

#[test]
fn with_continue_lost_words_are_asked_again_and_the_two_still_go_on_together() {
    let mut mesh = Mesh::connect_with(&continuing_trio());
    let mut keys = keys();
    let now = mesh.play_to_frame(30, &mut keys);
    mesh.c_is_gone();
    // a's first word and its first repeat are lost; b hears only from a.
    mesh.lose_left = 2;
    mesh.loses_c(0, now);
    mesh.play_on_without_c(now, &mut keys);
}

#[test]
fn with_continue_a_partner_silent_after_agreeing_ends_the_game_after_all() {
    let mut mesh = Mesh::connect_with(&continuing_trio());
    let mut keys = keys();
    let mut now = mesh.play_to_frame(30, &mut keys);
    mesh.c_is_gone();
    mesh.loses_c(0, now);
    // b hears a's word and answers, then its page freezes.
    while mesh.peers[1].departing().is_none_or(|d| d.settled.is_none()) {
        now += 33.0;
        mesh.step(now, &mut keys);
        assert!(now < 30_000.0, "b never heard from a");
    }
    mesh.gone[1] = true;
    let agreed = now;
    while !mesh.peers[0].status().phase.is_terminal() && now < agreed + 20_000.0 {
        now += 33.0;
        mesh.step(now, &mut keys);
    }
    let status = mesh.peers[0].status();
    assert_eq!(status.phase, Phase::PartnerDisconnected);
    assert!(now - agreed >= 5_000.0, "waited for the new session: {}", now - agreed);
    assert!(
        status.last_error.as_deref().unwrap_or("").contains("a partner is silent"),
        "{status:?}"
    );
    let stored = mesh.uploads[0].last().expect("a file");
    assert!(stored.sidecar.partial);
    let departure = stored.sidecar.departure.clone().expect("recorded");
    assert_eq!((departure.agreed_by, departure.continued), (vec![0, 1], false));
    assert_eq!(stored.sidecar.last_frame, departure.last_frame);
}
