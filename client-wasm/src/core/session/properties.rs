//! Bytes from the partner are untrusted: whatever arrives on the DataChannel of a running game
//! (our framing, ggrs packets, garbage), the session neither panics nor stops decoding.
//! `make fuzz` runs many more cases.

use proptest::prelude::*;

use super::tests::start_pair;
use super::*;
use crate::core::peer_msg::{Packet, PeerMsg};

/// Cases per property: `normal` in `cargo test`, `fuzz` under `make fuzz` (`ROLLGYM_FUZZ`),
/// which counts the cases from the lines printed here.
fn cases(normal: u32, fuzz: u32) -> u32 {
    if std::env::var_os("ROLLGYM_FUZZ").is_none() {
        return normal;
    }
    eprintln!("fuzz-cases {fuzz}");
    fuzz
}

/// Packets as a hostile or broken partner could send them: each packet kind's tag, then
/// anything.
fn packet() -> impl Strategy<Value = Vec<u8>> {
    let tag = prop_oneof![Just(0x01u8), Just(0x02), Just(0x03), Just(0x10), any::<u8>()];
    (tag, prop::collection::vec(any::<u8>(), 0..64)).prop_map(|(tag, rest)| {
        let mut bytes = vec![tag];
        bytes.extend(rest);
        bytes
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(32, 2_000), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_decode_as_a_packet_or_an_error(bytes in prop::collection::vec(any::<u8>(), 0..40)) {
        if let Ok(Packet::Control(msg)) = Packet::decode(&bytes) {
            let again = PeerMsg::decode(&msg.encode()).expect("re-decodes");
            prop_assert_eq!(again.encode(), msg.encode());
        }
    }

    #[test]
    fn a_running_game_survives_any_packets_from_its_partner(
        packets in prop::collection::vec(packet(), 1..40),
    ) {
        let (mut peers, _) = start_pair();
        for (n, bytes) in packets.into_iter().enumerate() {
            peers[0].handle(Input::ChannelData(1, bytes), 10_000.0 + n as f64);
            let frame = Input::Frame(NetInput::default(), 0.0);
            peers[0].handle(frame, 10_000.0 + n as f64);
        }
        let phase = peers[0].status().phase;
        prop_assert!(phase != Phase::Error, "{:?}", peers[0].status().last_error);
    }
}
