//! Key-press latency in a played game: each press the page notes is timed to the frame that
//! applied it (input delay 2 at 30 fps: about two frames) and to the screen, per episode in
//! the sidecar and live in the status.

use super::*;

#[test]
fn presses_are_timed_to_the_game_and_the_screen_per_episode() {
    let (mut peers, mut in_flight) = start_pair();
    let mut uploads = Vec::new();
    let mut noted = 0;
    // The key went down 5 ms before its tick; the screen shows each frame 10 ms after it
    // was simulated.
    let mut press = |i: usize, tick: u32, page: &mut Session| {
        let pressed = i == 0 && tick.is_multiple_of(10) && page.status().phase == Phase::Playing;
        if pressed {
            page.note_key(20_000.0 + f64::from(tick) * 33.0 - 5.0);
            noted += 1;
        }
        let action = if pressed { 1 } else { NO_ACTION };
        NetInput { action, focused: true, held: false, slow: false }
    };
    for tick in 0..2_000u32 {
        // The wall clock: 33 ms a frame from 20 s on.
        let now = 20_000.0 + f64::from(tick) * 33.0;
        let [mine, _] = step_pair(&mut peers, &mut in_flight, (tick, now), &mut press);
        uploads.extend(persisted(&mine));
        let drawn = peers[0].status().frame - 1;
        peers[0].note_drawn(drawn, now + 10.0);
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
