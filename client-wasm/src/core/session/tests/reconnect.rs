//! A game connection that loses its path: the offering side restarts ICE until it is back,
//! both record the interruption in the next sidecar, and past `reconnection_timeout_ms` both
//! end with `reconnection_timeout` and partial data.

use rollgym_protocol::episode::Interruption;

use super::*;

/// 20 s into the game, past the start of `start_pair`.
const LOST_AT: f64 = 20_000.0;

fn restarts(commands: &[Command]) -> usize {
    commands.iter().filter(|c| matches!(c, Command::RestartIce(_))).count()
}

#[test]
fn the_offering_side_restarts_until_the_path_is_back_and_both_record_it() {
    let (mut peers, mut flight) = start_pair();
    let frame = peers[0].status().frame;
    let [a, b] = &mut peers;
    assert_eq!(restarts(&a.handle(Input::IceState(1, IceState::Disconnected), LOST_AT)), 1);
    assert_eq!(
        restarts(&b.handle(Input::IceState(0, IceState::Disconnected), LOST_AT)),
        0,
        "only player 0 offers"
    );
    assert!(a.status().reconnecting && b.status().reconnecting);
    // `failed` during the same loss is the same interruption; the next restart waits its turn.
    assert_eq!(restarts(&a.handle(Input::IceState(1, IceState::Failed), LOST_AT + 500.0)), 0);
    assert_eq!(restarts(&a.handle(Input::Tick, LOST_AT + 1_000.0)), 0);
    assert_eq!(restarts(&a.handle(Input::Tick, LOST_AT + RESTART_EVERY_MS)), 1);
    assert_eq!(restarts(&b.handle(Input::Tick, LOST_AT + RESTART_EVERY_MS)), 0);
    for (i, peer) in [&mut *a, &mut *b].into_iter().enumerate() {
        peer.handle(Input::IceState((1 - i) as u8, IceState::Connected), LOST_AT + 4_000.0);
        assert!(!peer.status().reconnecting);
        assert_eq!(peer.status().interruptions, 1);
        assert_eq!(peer.status().phase, Phase::Playing);
    }
    assert_eq!((a.status().ice_restarts, b.status().ice_restarts), (2, 0));
    let uploads =
        play_to_the_end(&mut peers, &mut flight, LOST_AT + 4_000.0, |_, _, _| NetInput::default());
    let expected = Interruption { start_frame: frame, duration_ms: 4_000, recovered: true };
    for mine in &uploads {
        assert_eq!(mine.len(), 2, "both episodes");
        assert_eq!(mine[0].sidecar.interruptions, vec![expected], "in the next file");
        assert_eq!(mine[1].sidecar.interruptions, Vec::new(), "only once");
        assert_eq!(mine[0].sidecar.outcome, Outcome::Complete);
    }
}

#[test]
fn past_the_timeout_both_end_with_reconnection_timeout_and_partial_data() {
    let (mut peers, _) = start_pair();
    let timeout = f64::from(GameConfig::default().reconnection_timeout_ms);
    for (i, peer) in peers.iter_mut().enumerate() {
        peer.handle(Input::IceState((1 - i) as u8, IceState::Disconnected), LOST_AT);
        assert!(
            peer.handle(Input::Tick, LOST_AT + timeout - 1.0)
                .iter()
                .all(|c| matches!(c, Command::RestartIce(_) | Command::SendPeer(..)))
        );
        assert_eq!(peer.status().phase, Phase::Playing, "still within the timeout");
        let commands = peer.handle(Input::Tick, LOST_AT + timeout);
        assert!(commands.contains(&Command::ClosePeer));
        let status = peer.status();
        assert_eq!(
            (status.phase, status.outcome),
            (Phase::PartnerDisconnected, Some(Outcome::ReconnectionTimeout))
        );
        assert!(!status.reconnecting);
        let message = status.exit.as_ref().map(|e| e.message.as_str()).unwrap_or_default();
        assert!(message.contains("could not be restored"), "{message}");
        let [upload] = &persisted(&commands)[..] else { panic!("one partial episode") };
        assert!(upload.sidecar.partial);
        assert_eq!(upload.sidecar.outcome, Outcome::ReconnectionTimeout);
        let [lost] = upload.sidecar.interruptions[..] else { panic!("one interruption") };
        assert_eq!((lost.duration_ms, lost.recovered), (timeout as u32, false));
    }
}

#[test]
fn before_the_start_a_lost_path_is_left_to_the_validation() {
    let (mut peers, _) = connect_pair();
    assert_eq!(peers[0].handle(Input::IceState(1, IceState::Failed), 100.0), Vec::new());
    assert!(!peers[0].status().reconnecting);
    assert_eq!(
        peers[0]
            .handle(Input::Tick, 60_000.0)
            .iter()
            .filter(|c| matches!(c, Command::RestartIce(_)))
            .count(),
        0
    );
}
