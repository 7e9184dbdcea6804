//! Key-press latency in a played game: each press the page notes is timed to the frame that
//! applied it (input delay 2 at 30 fps: about two frames) and to the screen, per episode in
//! the sidecar and live in the status.

use super::*;

#[test]
fn presses_are_timed_to_the_game_and_the_screen_per_episode() {
    let (mut peers, mut in_flight) = start_pair();
    let mut uploads = Vec::new();
    let mut noted = 0;
    for tick in 0..2_000u32 {
        // The wall clock: 33 ms a frame from 20 s on.
        let now = 20_000.0 + f64::from(tick) * 33.0;
        for i in 0..2 {
            for packet in std::mem::take(&mut in_flight[i]) {
                in_flight[1 - i]
                    .extend(sent_to_peer(peers[i].handle(Input::ChannelData(packet), now)));
            }
            let mut action = NO_ACTION;
            if i == 0 && tick % 10 == 0 && peers[0].status().phase == Phase::Playing {
                // The key went down 5 ms before this tick; the screen shows each frame 10 ms
                // after it was simulated.
                peers[0].note_key(now - 5.0);
                noted += 1;
                action = 1;
            }
            let input = NetInput { action, focused: true, held: false, slow: false };
            let commands = peers[i].handle(Input::Frame(input, now), now);
            if i == 0 {
                uploads.extend(persisted(&commands));
                let drawn = peers[0].status().frame - 1;
                peers[0].note_drawn(drawn, now + 10.0);
            }
            in_flight[1 - i].extend(sent_to_peer(commands));
        }
        if peers.iter().all(|p| p.status().phase == Phase::Done) {
            break;
        }
    }
    assert_eq!(uploads.len(), 2, "both episodes");
    let latencies: Vec<_> =
        uploads.iter().map(|u| u.sidecar.input_latency.expect("measured")).collect();
    let presses: u32 = latencies.iter().map(|l| l.presses).sum();
    assert!(presses + 2 >= noted && presses <= noted, "{presses} of {noted} presses counted");
    for latency in &latencies {
        let applied = latency.applied.expect("applied");
        // Input delay 2: the key is applied two frames after the tick that carried it.
        assert_eq!((applied.p50, applied.max), (5.0 + 2.0 * 33.0, 5.0 + 2.0 * 33.0), "{latency:?}");
        let drawn = latency.drawn.expect("drawn");
        assert_eq!(drawn.p50, applied.p50 + 10.0, "drawn 10 ms after it was simulated");
    }
    let live = peers[0].status().input_latency.expect("live");
    assert_eq!(live.presses, 0, "the last episode's presses went with its data");
}
