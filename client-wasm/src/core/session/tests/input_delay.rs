//! `input_delay = "auto"`: a page validates only with a measured round trip, which it reports;
//! the delay the relay sends with `start` is what the game plays with and what its data says.

use rollgym_protocol::{AgreedDelay, InputDelay};

use super::*;

fn auto_game() -> GameConfig {
    GameConfig {
        input_delay: InputDelay::Auto,
        input_delay_min: 1,
        input_delay_max: 6,
        ..short_game()
    }
}

/// Both pages of an automatic-delay game, connected until both validated; the round trips
/// they reported.
fn validate_pair() -> ([Session; 2], InFlight, [Option<u32>; 2]) {
    let mut peers = [Session::new(Some(id("a"))), Session::new(Some(id("b")))];
    let mut flight: InFlight = [Vec::new(), Vec::new()];
    for (i, peer) in peers.iter_mut().enumerate() {
        peer.handle(Input::Relay(welcome(["a", "b"][i])), 0.0);
        let paired =
            paired_into(i as u8, auto_game(), MonitoringConfig::default(), GameEnds::default());
        peer.handle(Input::Relay(paired), 0.0);
        flight[1 - i].extend(sent_to_peer(peer.handle(Input::ChannelOpen((1 - i) as u8), 0.0)));
    }
    let mut reported = [None, None];
    let mut validated = [false, false];
    for tick in 0..500 {
        // Packets take a tick (10 ms) each way.
        let now = f64::from(tick) * 10.0;
        let arrived = std::mem::take(&mut flight);
        for i in 0..2 {
            for packet in arrived[i].clone() {
                flight[1 - i].extend(sent_to_peer(
                    peers[i].handle(Input::ChannelData((1 - i) as u8, packet), now),
                ));
            }
            let commands = peers[i].handle(Input::Frame(NetInput::default(), 0.0), now);
            for c in &commands {
                if let Command::SendRelay(ClientMsg::Validated { rtt_ms, .. }) = c {
                    validated[i] = true;
                    reported[i] = *rtt_ms;
                }
            }
            flight[1 - i].extend(sent_to_peer(commands));
        }
        if validated == [true, true] {
            return (peers, flight, reported);
        }
    }
    panic!("never validated")
}

#[test]
fn an_automatic_delay_is_validated_with_a_round_trip_and_played_as_the_relay_chose() {
    let (mut peers, mut flight, reported) = validate_pair();
    for rtt in reported {
        let rtt = rtt.expect("a page validates an automatic delay with a round trip");
        assert!((10..=40).contains(&rtt), "two 10 ms ticks each way and back: {rtt}");
    }
    let agreed = AgreedDelay { frames: 3, rtt_ms: Some(150) };
    for peer in &mut peers {
        let start = ServerMsg::Start { game_id: id("g"), input_delay: Some(agreed) };
        peer.handle(Input::Relay(start), 5_000.0);
    }
    // Player 0 presses a key every tenth frame while playing.
    let [uploads, _] = play_to_the_end(&mut peers, &mut flight, 20_000.0, |i, tick, page| {
        let press = i == 0 && tick.is_multiple_of(10) && page.status().phase == Phase::Playing;
        let now = 20_000.0 + f64::from(tick) * 33.0;
        if press {
            page.note_key(now);
        }
        let action = if press { 1 } else { NO_ACTION };
        NetInput { action, focused: true, held: false, slow: false }
    });
    assert_eq!(uploads.len(), 2, "both episodes");
    for upload in &uploads {
        let settings = &upload.sidecar.settings;
        assert_eq!((settings.input_delay, settings.input_delay_auto), (3, Some(agreed)));
        let applied = upload.sidecar.input_latency.and_then(|l| l.applied).expect("presses");
        assert_eq!(applied.p50, 3.0 * 33.0, "a key acts three frames later");
    }
}
