//! What the admin console needs from a page: its game's health every few seconds, and a game
//! the researcher ends (or a player the researcher excludes) ending here with partial data.

use rollgym_protocol::{HEALTH_INTERVAL_MS, SpectateFrames, episode::Settings};

use super::*;

fn health_reports(commands: &[Command]) -> Vec<GameHealth> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::SendRelay(ClientMsg::Health(report)) => Some((**report).clone()),
            _ => None,
        })
        .collect()
}

/// Runs both sessions `frames` more frames from `from_ms`, 33 ms apart; returns each side's
/// commands.
fn run(
    (peers, in_flight): &mut ([Session; 2], InFlight),
    from_ms: f64,
    frames: u32,
) -> [Vec<Command>; 2] {
    let mut seen: [Vec<Command>; 2] = [Vec::new(), Vec::new()];
    let mut idle = |_: usize, _: u32, _: &mut Session| NetInput::default();
    for tick in 0..frames {
        let now = from_ms + f64::from(tick) * 33.0;
        let commands = step_pair(peers, in_flight, (tick, now), &mut idle);
        for (mine, commands) in seen.iter_mut().zip(commands) {
            mine.extend(commands);
        }
    }
    seen
}

#[test]
fn a_running_game_reports_its_health_every_interval() {
    let mut pair = start_pair();
    // Just over one interval (the short game ends soon after).
    let frames = HEALTH_INTERVAL_MS / 33 + 2;
    let [a, _] = run(&mut pair, 20_000.0, frames);
    let reports = health_reports(&a);
    assert_eq!(reports.len(), 2, "one at once, the next an interval later");
    let last = reports.last().expect("a report");
    assert_eq!(last.game_id, id("g"));
    assert!(last.frame > reports[0].frame, "the game moved on");
    assert!(last.is_plausible(), "{last:?}");
    assert_eq!((last.desyncs, last.stalled), (0, false));
}

#[test]
fn a_game_the_researcher_ends_stops_here_with_partial_data() {
    let mut pair = start_pair();
    run(&mut pair, 20_000.0, 30);
    let ended = ServerMsg::exit(
        OutcomeName::EndedByResearcher,
        "The researcher has ended this game.".into(),
        Some("END1".into()),
        None,
    );
    let commands = pair.0[0].handle(Input::Relay(ended), 21_000.0);
    assert!(commands.contains(&Command::ClosePeer));
    let uploads = persisted(&commands);
    assert_eq!(uploads.len(), 1, "{commands:?}");
    assert!(uploads[0].sidecar.partial);
    assert_eq!(uploads[0].sidecar.outcome, Outcome::EndedByResearcher);
    let status = pair.0[0].status();
    assert_eq!((status.phase, status.outcome), (Phase::Excluded, Some(Outcome::EndedByResearcher)));
    assert_eq!(status.exit.as_ref().and_then(|e| e.completion_code.as_deref()), Some("END1"));
    // Nothing more happens here: no frames, no reports.
    let after = pair.0[0].handle(Input::Frame(NetInput::default(), 0.0), 30_000.0);
    assert!(health_reports(&after).is_empty() && persisted(&after).is_empty(), "{after:?}");
}

#[test]
fn the_partner_of_an_excluded_player_ends_as_partner_excluded() {
    let mut pair = start_pair();
    run(&mut pair, 20_000.0, 30);
    let exit =
        ServerMsg::exit(OutcomeName::PartnerExcluded, "Your partner left.".into(), None, None);
    let commands = pair.0[1].handle(Input::Relay(exit), 21_000.0);
    assert_eq!(persisted(&commands)[0].sidecar.outcome, Outcome::PartnerExcluded);
    let status = pair.0[1].status();
    assert_eq!(status.phase, Phase::PartnerDisconnected);
    // Waiting, an exclusion is just an end.
    let mut waiting = Session::new(Some(id("w")));
    waiting.handle(Input::Relay(welcome("w")), 0.0);
    waiting.handle(Input::Relay(ServerMsg::Waiting { waiting: 1, needed: 2 }), 0.0);
    let exit = ServerMsg::exit(OutcomeName::Excluded, "Excluded.".into(), None, None);
    assert!(waiting.handle(Input::Relay(exit), 1.0).is_empty());
    assert_eq!(waiting.status().outcome, Some(Outcome::Excluded));
}

/// The frame batches among `commands`, with the tick each was sent at.
fn frames_sent(commands: &[(u32, Command)]) -> Vec<(u32, SpectateFrames)> {
    commands
        .iter()
        .filter_map(|(tick, c)| match c {
            Command::SendRelay(ClientMsg::Frames(batch)) => Some((*tick, (**batch).clone())),
            _ => None,
        })
        .collect()
}

/// Plays a started pair to the end with varied actions, one tick every 33 ms from `from_ms`;
/// `relay` may say something to player 0 before a tick. Returns each player's commands with
/// the tick of each.
fn play_out(
    (peers, in_flight): &mut ([Session; 2], [Vec<Vec<u8>>; 2]),
    from_ms: f64,
    mut relay: impl FnMut(u32) -> Option<ServerMsg>,
) -> [Vec<(u32, Command)>; 2] {
    let mut seen: [Vec<(u32, Command)>; 2] = [Vec::new(), Vec::new()];
    let mut x = 7u32;
    for tick in 0..2_000 {
        let now = from_ms + f64::from(tick) * 33.0;
        if let Some(msg) = relay(tick) {
            let commands = peers[0].handle(Input::Relay(msg), now);
            seen[0].extend(commands.into_iter().map(|c| (tick, c)));
        }
        for i in 0..2 {
            for packet in std::mem::take(&mut in_flight[i]) {
                in_flight[1 - i].extend(sent_to_peer(
                    peers[i].handle(Input::ChannelData((1 - i) as u8, packet), now),
                ));
            }
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let action = (x % 6) as u8;
            let input = NetInput { action, focused: true, held: false, slow: false };
            let commands = peers[i].handle(Input::Frame(input, 0.0), now);
            in_flight[1 - i].extend(sent_to_peer(commands.clone()));
            seen[i].extend(commands.into_iter().map(|c| (tick, c)));
        }
        if peers.iter().all(|p| p.status().phase == Phase::Done) {
            return seen;
        }
    }
    panic!("the game never ended")
}

fn watch(on: bool) -> ServerMsg {
    ServerMsg::Watch { game_id: id("g"), on }
}

#[test]
fn a_watched_game_forwards_its_confirmed_rows_from_the_episodes_start() {
    let mut pair = start_pair();
    let [a, b] = play_out(&mut pair, 20_000.0, |tick| (tick == 30).then(|| watch(true)));
    assert!(frames_sent(&b).is_empty(), "only the first player's page forwards");
    let batches: Vec<SpectateFrames> = frames_sent(&a).into_iter().map(|(_, b)| b).collect();
    assert_eq!(batches[0].t, 0, "watched mid-episode: from the episode's first row");
    assert!(batches[0].seed.is_some());
    assert!(batches[0].actions.len() / 2 >= 25, "the rows before the watch at once");
    // A console simulating them reaches every state the players reached, batch by batch.
    let mut spectator =
        crate::replay::Spectator::new(&Settings::from(&short_game())).expect("built in");
    for batch in &batches {
        spectator.push(batch).expect("each batch follows the last");
    }
    while spectator.advance(1_000.0) > 0 {}
    assert_eq!(spectator.mismatch(), None);
    assert_eq!(spectator.checked(), batches.len() as u64);
    let last_episode = pair.0[0].status().episodes.last().cloned().expect("episodes");
    let (episode, t, frame) = spectator.shown().expect("shown");
    assert_eq!((episode, t, frame), (1, 59, last_episode.last_frame), "to the last row");
    // Rows go out in batches, about one per interval, not one message per frame.
    let rows: usize = batches.iter().map(|b| b.actions.len() / 2).sum();
    assert_eq!(rows, 120, "every row of both episodes once");
    assert!(batches.len() <= 2 * rows / 5, "{} batches for {rows} rows", batches.len());
}

#[test]
fn nothing_is_forwarded_unless_watched_and_nothing_after_the_watch_ends() {
    let mut pair = start_pair();
    let other = ServerMsg::Watch { game_id: id("another"), on: true };
    let [a, _] = play_out(&mut pair, 20_000.0, |tick| match tick {
        5 => Some(other.clone()),
        40 => Some(watch(true)),
        70 => Some(watch(false)),
        _ => None,
    });
    let ticks: Vec<u32> = frames_sent(&a).into_iter().map(|(tick, _)| tick).collect();
    assert!(ticks.len() >= 4, "forwarded while watched: {ticks:?}");
    assert!(ticks.iter().all(|t| (40..70).contains(t)), "only while watched: {ticks:?}");
}
