//! Monitoring during play: a hidden tab and a slow link end the game for both sessions at the
//! same frame, with the right outcome, message and code on each side and identical partial
//! data; and the other endings show the experiment's `[outcomes.<name>]`.

use rollgym_protocol::{Exclusion, ExclusionReason, OutcomeConfig};

use super::*;
use crate::core::status::Warning;

fn code(code: &str) -> OutcomeConfig {
    OutcomeConfig { completion_code: Some(code.into()), ..OutcomeConfig::default() }
}

fn ends() -> GameEnds {
    GameEnds {
        completed: code("DONE"),
        excluded: code("EXCL"),
        partner_left: code("LEFT"),
        partner_excluded: OutcomeConfig {
            message: Some("Your partner could not go on.".into()),
            ..code("PEXC")
        },
    }
}

/// Two sessions paired into `game` watched by `monitoring`, channels open.
fn watched_pair(
    monitoring: MonitoringConfig,
    game: GameConfig,
) -> ([Session; 2], [Vec<Vec<u8>>; 2]) {
    let mut peers = [Session::new(Some(id("a"))), Session::new(Some(id("b")))];
    for (me, peer) in peers.iter_mut().enumerate() {
        let me = me as u8;
        peer.handle(Input::Relay(welcome(["a", "b"][usize::from(me)])), 0.0);
        let msg = paired_into(me, game.clone(), monitoring.clone(), ends());
        peer.handle(Input::Relay(msg), 0.0);
    }
    let mut in_flight: [Vec<Vec<u8>>; 2] = [Vec::new(), Vec::new()];
    for i in 0..2 {
        in_flight[1 - i]
            .extend(sent_to_peer(peers[i].handle(Input::ChannelOpen((1 - i) as u8), 0.0)));
    }
    (peers, in_flight)
}

/// What a run saw: every upload and every warning each side showed.
#[derive(Default)]
struct Seen {
    uploads: [Vec<Upload>; 2],
    warnings: [Vec<Warning>; 2],
}

/// Runs both sessions frame by frame (33 ms apart) until neither is in a game;
/// `focused(player, tick)` is each page's visibility, `pong_delay_ms` how late pongs arrive.
fn run_until_over(
    (peers, in_flight): &mut ([Session; 2], [Vec<Vec<u8>>; 2]),
    focused: impl Fn(usize, u32) -> bool,
    pong_delay_ms: [f64; 2],
) -> Seen {
    let mut seen = Seen::default();
    for tick in 0..5000u32 {
        let now = f64::from(tick) * 33.0;
        for i in 0..2 {
            for packet in std::mem::take(&mut in_flight[i]) {
                let is_pong =
                    matches!(Packet::decode(&packet), Ok(Packet::Control(PeerMsg::Pong { .. })));
                let at = if is_pong { now + pong_delay_ms[i] } else { now };
                in_flight[1 - i].extend(sent_to_peer(
                    peers[i].handle(Input::ChannelData((1 - i) as u8, packet), at),
                ));
            }
            let input = NetInput { focused: focused(i, tick), ..NetInput::default() };
            let mut commands = peers[i].handle(Input::Frame(input, 0.0), now);
            if tick % 15 == 0 {
                commands.extend(peers[i].handle(Input::Tick, now));
            }
            relay_part(&mut peers[i], &commands);
            seen.uploads[i].extend(persisted(&commands));
            seen.warnings[i].extend(peers[i].status().warning);
            in_flight[1 - i].extend(sent_to_peer(commands));
        }
        if peers.iter().all(|p| p.status().phase.is_terminal()) && tick % 15 == 0 {
            // A few more frames, so each side has the other's last inputs.
            if peers.iter().all(|p| p.partner_released(now)) {
                return seen;
            }
        }
    }
    panic!("the game never ended: {:?}", peers.each_ref().map(|p| p.status().phase));
}

fn steps(max_steps: u32) -> GameConfig {
    GameConfig { max_steps, ..short_game() }
}

fn last_upload(uploads: &[Upload]) -> &Upload {
    uploads.last().expect("an upload")
}

#[test]
fn a_tab_hidden_too_long_ends_the_game_for_both_at_the_same_frame() {
    let monitoring = MonitoringConfig {
        tab_warning_ms: Some(1000),
        tab_exclude_ms: Some(3000),
        ..MonitoringConfig::default()
    };
    let mut pair = watched_pair(monitoring, steps(3000));
    // b's tab goes to the background at tick 200 and stays there.
    let seen = run_until_over(&mut pair, |i, tick| !(i == 1 && tick >= 200), [0.0; 2]);
    let [a, b] = &pair.0;
    assert_eq!((b.status().phase, b.status().outcome), (Phase::Excluded, Some(Outcome::Excluded)));
    assert_eq!(
        (a.status().phase, a.status().outcome),
        (Phase::PartnerDisconnected, Some(Outcome::PartnerExcluded))
    );
    let exit = |s: &Session| s.status().exit.clone().expect("an exit");
    assert_eq!(exit(b).completion_code.as_deref(), Some("EXCL"));
    assert!(exit(b).message.contains("background"), "{}", exit(b).message);
    assert_eq!(exit(a).completion_code.as_deref(), Some("PEXC"));
    assert_eq!(exit(a).message, "Your partner could not go on.");
    assert!(seen.warnings[1].contains(&Warning::TabHidden), "b was warned first");
    assert!(seen.warnings[0].contains(&Warning::PartnerTabHidden), "a heard about it");
    let (ua, ub) = (last_upload(&seen.uploads[0]), last_upload(&seen.uploads[1]));
    let exclusion = ua.sidecar.exclusion.clone().expect("a's sidecar records it");
    assert_eq!(ub.sidecar.exclusion.as_ref(), Some(&exclusion));
    assert_eq!(
        (exclusion.players.clone(), exclusion.reason),
        (vec![1], ExclusionReason::TabHidden)
    );
    assert_eq!(
        (ua.sidecar.outcome, ub.sidecar.outcome),
        (Outcome::PartnerExcluded, Outcome::Excluded)
    );
    assert!(ua.sidecar.partial && ub.sidecar.partial);
    assert_eq!((ua.sidecar.unconfirmed_rows, ub.sidecar.unconfirmed_rows), (0, 0));
    assert_eq!(ua.sidecar.last_frame, exclusion.frame - 1, "the data stops before the frame");
    assert_eq!(shared_columns(&ua.csv), shared_columns(&ub.csv), "identical data");
    assert_eq!(ua.csv.lines().count(), ub.csv.lines().count(), "exactly as long");
}

#[test]
fn a_link_over_the_limit_warns_then_excludes_the_side_that_measured_it() {
    let monitoring = MonitoringConfig {
        max_p2p_rtt_ms: Some(200),
        rtt_violations: [2, 3],
        ..MonitoringConfig::default()
    };
    let mut pair = watched_pair(monitoring, steps(3000));
    // Pongs reach a 400 ms late (a slow path from a's side); b's are prompt.
    let seen = run_until_over(&mut pair, |_, _| true, [400.0, 0.0]);
    let [a, b] = &pair.0;
    assert_eq!(a.status().outcome, Some(Outcome::Excluded));
    assert_eq!(b.status().outcome, Some(Outcome::PartnerExcluded));
    assert!(seen.warnings[0].contains(&Warning::SlowConnection));
    let exclusion: Option<&Exclusion> = last_upload(&seen.uploads[0]).sidecar.exclusion.as_ref();
    assert_eq!(
        exclusion.map(|e| (e.players.clone(), e.reason)),
        Some((vec![0], ExclusionReason::SlowConnection))
    );
    assert_eq!(exclusion, last_upload(&seen.uploads[1]).sidecar.exclusion.as_ref());
}

#[test]
fn without_monitoring_a_hidden_tab_plays_to_the_end_and_gets_the_completed_code() {
    let mut pair = watched_pair(MonitoringConfig::default(), steps(60));
    let seen = run_until_over(&mut pair, |i, _| i == 0, [0.0; 2]);
    for (session, uploads) in pair.0.iter().zip(&seen.uploads) {
        assert_eq!(session.status().phase, Phase::Done);
        let exit = session.status().exit.clone().expect("an exit");
        assert_eq!(exit.completion_code.as_deref(), Some("DONE"));
        assert!(uploads.iter().all(|u| u.sidecar.exclusion.is_none() && !u.sidecar.partial));
    }
    assert!(seen.warnings.iter().all(Vec::is_empty), "nothing to warn about");
}

#[test]
fn a_partner_leaving_gives_the_partner_left_code() {
    let (mut peers, mut flight) = watched_pair(MonitoringConfig::default(), steps(3000));
    for tick in 0..400 {
        for i in 0..2 {
            for packet in std::mem::take(&mut flight[i]) {
                flight[1 - i].extend(sent_to_peer(
                    peers[i].handle(Input::ChannelData((1 - i) as u8, packet), 0.0),
                ));
            }
            let frame = Input::Frame(NetInput::default(), 0.0);
            let commands = peers[i].handle(frame, f64::from(tick) * 33.0);
            relay_part(&mut peers[i], &commands);
            flight[1 - i].extend(sent_to_peer(commands));
        }
    }
    assert_eq!(peers[0].status().phase, Phase::Playing);
    let [a, _] = &mut peers;
    a.handle(Input::ChannelClosed(1), 20_000.0);
    // It plays on as far as the inputs it holds reach, then ends.
    for tick in 0..20 {
        a.handle(Input::Frame(NetInput::default(), 0.0), 20_000.0 + f64::from(tick) * 33.0);
    }
    assert_eq!(a.status().phase, Phase::PartnerDisconnected);
    let exit = a.status().exit.clone().expect("an exit");
    assert_eq!(exit.completion_code.as_deref(), Some("LEFT"));
}

#[test]
fn an_exclusion_between_two_episodes_is_recorded_in_an_empty_partial_episode() {
    let monitoring = MonitoringConfig { tab_exclude_ms: Some(2000), ..MonitoringConfig::default() };
    // Episode 0 is frames 0..=59, then a five-second pause: b, hidden from the start, reaches
    // 60 hidden frames in the pause.
    let game = GameConfig { max_steps: 60, between_episodes_ms: 5000, ..short_game() };
    let mut pair = watched_pair(monitoring, game);
    let seen = run_until_over(&mut pair, |i, _| i == 0, [0.0; 2]);
    for (uploads, outcome) in seen.uploads.iter().zip([Outcome::PartnerExcluded, Outcome::Excluded])
    {
        let [first, second] = &uploads[..] else { panic!("two uploads: {}", uploads.len()) };
        assert!(!first.sidecar.partial && first.sidecar.exclusion.is_none(), "episode 0 complete");
        assert_eq!((second.episode, second.sidecar.rows, second.sidecar.partial), (1, 0, true));
        assert_eq!(second.sidecar.outcome, outcome);
        assert!(second.sidecar.exclusion.as_ref().is_some_and(|e| e.frame > 59), "in the pause");
    }
    assert_eq!(seen.uploads[0][1].sidecar.exclusion, seen.uploads[1][1].sidecar.exclusion);
}
