//! The lobby as a state machine under random sequences of events: connects, hellos (fresh,
//! duplicate and returning ids), every client message kind (valid and forged), round trips,
//! ticks and disconnects, for up to 30 participants. After every step its books must balance.
//!
//! `cargo test` runs a few hundred sequences; `make fuzz` many more.

use std::collections::{HashMap, HashSet};

use proptest::prelude::*;

use rollgym_protocol::{SceneId, Sidecar};

use super::*;

const MAX_CONNS: u64 = 30;
/// Participant ids: a connection mostly says hello with its own (as a fresh page would), now
/// and then with another's (a second tab, a return after a disconnect).
fn id_of(index: usize) -> ParticipantId {
    ParticipantId::parse(&format!("p{index}")).expect("id")
}

/// One event from outside the lobby.
#[derive(Debug, Clone)]
enum Op {
    Connect,
    Hello {
        conn: u64,
        id: usize,
        rejoin: bool,
        version_ok: bool,
    },
    /// Validates its own game (valid) or an invented one (forged).
    Validated {
        conn: u64,
        own: bool,
    },
    /// Signals its partner (valid) or someone else (forged).
    Signal {
        conn: u64,
        to: usize,
        partner: bool,
    },
    Advance {
        conn: u64,
        from: u32,
    },
    /// Reports on its probe (valid) or on another connection's (forged).
    ProbeResult {
        conn: u64,
        rtt_ms: Option<u32>,
        of: u64,
    },
    ProbeSignal {
        conn: u64,
        of: u64,
    },
    Upload {
        conn: u64,
        own_game: bool,
        episode: u32,
    },
    Rtt {
        conn: u64,
        rtt_ms: u32,
    },
    Tick {
        advance_ms: u64,
    },
    Disconnect {
        conn: u64,
    },
    /// An admin console watches the game of `conn` (`on`) or stops watching it.
    Watch {
        conn: u64,
        on: bool,
    },
    /// Rows of its game from `conn` (whether or not it is watched, in order or not).
    Frames {
        conn: u64,
        t: u32,
        rows: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let conn = 0..MAX_CONNS;
    prop_oneof![
        2 => Just(Op::Connect),
        4 => (conn.clone(), prop::option::weighted(0.2, 0..MAX_CONNS as usize), any::<bool>(), prop::bool::weighted(0.95))
            .prop_map(|(conn, other, rejoin, version_ok)| {
                Op::Hello { conn, id: other.unwrap_or(conn as usize), rejoin, version_ok }
            }),
        8 => (conn.clone(), prop::bool::weighted(0.9))
            .prop_map(|(conn, own)| Op::Validated { conn, own }),
        1 => (conn.clone(), 0..MAX_CONNS as usize, any::<bool>())
            .prop_map(|(conn, to, partner)| Op::Signal { conn, to, partner }),
        // Mostly from the scene it is in (`u32::MAX` stands for that), so sequences get far.
        6 => (conn.clone(), prop_oneof![3 => Just(u32::MAX), 1 => 0..5u32])
            .prop_map(|(conn, from)| Op::Advance { conn, from }),
        // Mostly a report on its own probe (`of` itself), often fast enough to match.
        3 => (conn.clone(), prop::option::of(0..200u32), 0..MAX_CONNS, prop::bool::weighted(0.8))
            .prop_map(|(conn, rtt_ms, of, own)| Op::ProbeResult { conn, rtt_ms, of: if own { conn } else { of } }),
        1 => (conn.clone(), 0..MAX_CONNS).prop_map(|(conn, of)| Op::ProbeSignal { conn, of }),
        1 => (conn.clone(), any::<bool>(), 0..3u32)
            .prop_map(|(conn, own_game, episode)| Op::Upload { conn, own_game, episode }),
        2 => (conn.clone(), 0..400u32).prop_map(|(conn, rtt_ms)| Op::Rtt { conn, rtt_ms }),
        3 => prop_oneof![2 => Just(0u64), 6 => 0..2_000u64, 1 => Just(PROBE_TIMEOUT_MS), 1 => Just(VALIDATION_TIMEOUT_MS)]
            .prop_map(|advance_ms| Op::Tick { advance_ms }),
        2 => conn.clone().prop_map(|conn| Op::Disconnect { conn }),
        1 => (conn.clone(), any::<bool>()).prop_map(|(conn, on)| Op::Watch { conn, on }),
        2 => (conn, prop_oneof![Just(0u32), 0..50u32], 0..8usize)
            .prop_map(|(conn, t, rows)| Op::Frames { conn, t, rows }),
    ]
}

/// A lobby whose scenes cover everything: a static page, a FIFO game with two episodes,
/// GroupReunion, a probing LatencyFIFO game with a short waiting room, a last page.
fn experiment() -> ExperimentConfig {
    let text = r#"
        [experiment]
        id = "props"
        [[scenes]]
        id = "intro"
        kind = "static"
        [[scenes]]
        id = "plain"
        kind = "gym"
        [scenes.game]
        num_episodes = 2
        countdown_ms = 500
        [[scenes]]
        id = "again"
        kind = "gym"
        [scenes.matchmaking]
        kind = "group_reunion"
        fallback_to_fifo = true
        [[scenes]]
        id = "probed"
        kind = "gym"
        [scenes.matchmaking]
        kind = "latency_fifo"
        max_server_rtt_ms = 300
        max_p2p_rtt_ms = 100
        [scenes.waiting_room]
        timeout_ms = 5000
        [[scenes]]
        id = "thanks"
        kind = "static"
    "#;
    crate::config::parse(text, std::path::Path::new("props.toml")).expect("a valid experiment")
}

/// Drives a lobby and keeps what the participants were told.
struct Harness {
    lobby: Lobby,
    now: u64,
    next_conn: u64,
    open: HashSet<u64>,
    /// The last waiting-room count each connection received.
    told_waiting: HashMap<ConnId, u32>,
    /// Probes each connection was told about, to forge messages for others'.
    probes_told: HashMap<u64, ProbeId>,
}

impl Harness {
    fn new() -> Self {
        Self {
            lobby: Lobby::new(experiment(), 7),
            now: 0,
            next_conn: 0,
            open: HashSet::new(),
            told_waiting: HashMap::new(),
            probes_told: HashMap::new(),
        }
    }

    fn apply(&mut self, op: Op) {
        let op = self.aim(op);
        let actions = match op {
            Op::Connect => {
                if self.next_conn >= MAX_CONNS {
                    return;
                }
                self.lobby.connected(ConnId(self.next_conn));
                self.open.insert(self.next_conn);
                self.next_conn += 1;
                Vec::new()
            }
            Op::Tick { advance_ms } => {
                self.now += advance_ms;
                self.lobby.tick(self.now)
            }
            Op::Rtt { conn, rtt_ms } => {
                self.lobby.rtt_sample(ConnId(conn), rtt_ms);
                Vec::new()
            }
            Op::Watch { conn, on } => {
                let game = self.lobby.game_of(ConnId(conn)).cloned();
                match (game, on) {
                    (Some(game), true) => {
                        self.lobby.watch(&game).map(|(_, a)| a).unwrap_or_default()
                    }
                    (Some(game), false) => self.lobby.unwatch(&game),
                    (None, _) => Vec::new(),
                }
            }
            Op::Disconnect { conn } => {
                let was_open = self.open.remove(&conn);
                let actions = self.lobby.disconnected(ConnId(conn), self.now);
                // Cleanup runs once: a second disconnect (or one for a stranger) does nothing.
                if !was_open {
                    assert!(actions.is_empty(), "disconnect of a closed conn: {actions:?}");
                }
                self.told_waiting.remove(&ConnId(conn));
                actions
            }
            other => {
                let (conn, msg) = self.message(other);
                let actions = self.lobby.message(ConnId(conn), msg, self.now);
                if !self.open.contains(&conn) {
                    assert!(actions.is_empty(), "message on a closed conn: {actions:?}");
                }
                actions
            }
        };
        self.observe(&actions);
    }

    /// Points an op at a connection that was opened (possibly closed since), so sequences
    /// get far into the experiment instead of mostly hitting nobody.
    fn aim(&self, op: Op) -> Op {
        let n = self.next_conn.max(1);
        let at = |conn: u64| conn % n;
        match op {
            Op::Hello { conn, id, rejoin, version_ok } => {
                // A connection's own id is its index, after aiming.
                let id = if id == conn as usize { at(conn) as usize } else { id };
                Op::Hello { conn: at(conn), id, rejoin, version_ok }
            }
            Op::Validated { conn, own } => Op::Validated { conn: at(conn), own },
            Op::Signal { conn, to, partner } => Op::Signal { conn: at(conn), to, partner },
            Op::Advance { conn, from } => {
                let current = self.lobby.conns.get(&ConnId(at(conn))).map_or(0, |c| c.scene as u32);
                Op::Advance { conn: at(conn), from: if from == u32::MAX { current } else { from } }
            }
            Op::ProbeResult { conn, rtt_ms, of } => {
                Op::ProbeResult { conn: at(conn), rtt_ms, of: at(of) }
            }
            Op::ProbeSignal { conn, of } => Op::ProbeSignal { conn: at(conn), of: at(of) },
            Op::Upload { conn, own_game, episode } => {
                Op::Upload { conn: at(conn), own_game, episode }
            }
            Op::Rtt { conn, rtt_ms } => Op::Rtt { conn: at(conn), rtt_ms },
            Op::Disconnect { conn } => Op::Disconnect { conn: at(conn) },
            Op::Watch { conn, on } => Op::Watch { conn: at(conn), on },
            Op::Frames { conn, t, rows } => Op::Frames { conn: at(conn), t, rows },
            Op::Connect | Op::Tick { .. } => op,
        }
    }

    /// The client message of an op, valid or forged as the op says.
    fn message(&self, op: Op) -> (u64, ClientMsg) {
        let id = id_of;
        let own_game = |conn: u64| {
            let none = GameId::parse("g-none").expect("id");
            self.lobby.game_of(ConnId(conn)).cloned().unwrap_or(none)
        };
        match op {
            Op::Hello { conn, id: i, rejoin, version_ok } => {
                let protocol_version = if version_ok { PROTOCOL_VERSION } else { 0 };
                (conn, ClientMsg::Hello { protocol_version, participant_id: Some(id(i)), rejoin })
            }
            Op::Validated { conn, own } => {
                let game_id =
                    if own { own_game(conn) } else { GameId::parse("g-forged").expect("id") };
                (conn, ClientMsg::Validated { game_id, env: None, rtt_ms: None })
            }
            Op::Signal { conn, to, partner } => {
                let to = match (partner, self.lobby.partners_of(ConnId(conn)).into_iter().next()) {
                    (true, Some(p)) => p,
                    _ => id(to),
                };
                (
                    conn,
                    ClientMsg::Signal { to, payload: SignalPayload::Offer { sdp: "v=0".into() } },
                )
            }
            Op::Advance { conn, from } => (conn, ClientMsg::Advance { from }),
            Op::ProbeResult { conn, rtt_ms, of } => {
                let probe_id = self.probe_id(of);
                (conn, ClientMsg::ProbeResult { probe_id, rtt_ms })
            }
            Op::ProbeSignal { conn, of } => {
                let payload = SignalPayload::Answer { sdp: "v=0".into() };
                (conn, ClientMsg::ProbeSignal { probe_id: self.probe_id(of), payload })
            }
            Op::Upload { conn, own_game: own, episode } => {
                let game_id =
                    if own { own_game(conn) } else { GameId::parse("g-forged").expect("id") };
                let participant_id =
                    self.lobby.participant_of(ConnId(conn)).cloned().unwrap_or_else(|| id(0));
                let upload = Upload {
                    upload_id: UploadId::parse("u").expect("id"),
                    participant_id,
                    game_id,
                    scene_id: SceneId::parse("plain").expect("id"),
                    episode,
                    csv: "episode,t\n0,0\n".into(),
                    sidecar: Sidecar::default(),
                };
                (conn, ClientMsg::Upload(Box::new(upload)))
            }
            Op::Frames { conn, t, rows } => {
                let batch = rollgym_protocol::SpectateFrames {
                    game_id: own_game(conn),
                    episode: 0,
                    t,
                    frame: 100,
                    seed: Some(3),
                    actions: vec![0; rows * 2],
                    state_hash: 1,
                };
                (conn, ClientMsg::Frames(Box::new(batch)))
            }
            Op::Connect
            | Op::Tick { .. }
            | Op::Rtt { .. }
            | Op::Disconnect { .. }
            | Op::Watch { .. } => {
                unreachable!("not a message")
            }
        }
    }

    /// The probe `of` was last told about (or an invented one).
    fn probe_id(&self, of: u64) -> ProbeId {
        self.probes_told
            .get(&of)
            .cloned()
            .unwrap_or_else(|| ProbeId::parse("q-forged").expect("id"))
    }

    fn observe(&mut self, actions: &[Action]) {
        for action in actions {
            match action {
                Action::Send(conn, ServerMsg::Waiting { waiting, .. }) => {
                    self.told_waiting.insert(*conn, *waiting);
                }
                Action::Send(conn, ServerMsg::Probe { probe_id, .. }) => {
                    self.probes_told.insert(conn.0, probe_id.clone());
                }
                _ => {}
            }
        }
    }

    /// Everyone waiting was last told how many wait in their scene.
    fn check_waiting_counts(&self) {
        for room in &self.lobby.rooms {
            for conn in room {
                let expected = room.len() as u32;
                assert_eq!(self.told_waiting.get(conn), Some(&expected), "count told to {conn:?}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(256, 20_000),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_lobby_keeps_its_books_whatever_happens(ops in prop::collection::vec(op(), 1..300)) {
        let mut harness = Harness::new();
        for op in ops {
            harness.apply(op);
            harness.lobby.check_invariants();
            harness.check_waiting_counts();
        }
    }
}

/// Cases per property: `normal` in `cargo test`, `fuzz` under `make fuzz` (`ROLLGYM_FUZZ`),
/// which counts the cases from the lines printed here.
fn cases(normal: u32, fuzz: u32) -> u32 {
    if std::env::var_os("ROLLGYM_FUZZ").is_none() {
        return normal;
    }
    eprintln!("fuzz-cases {fuzz}");
    fuzz
}
