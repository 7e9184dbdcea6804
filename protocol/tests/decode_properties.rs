//! Every message from the network is untrusted: the decoders are total on arbitrary input.
//! `make fuzz` runs many more cases.
#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use rollgym_protocol::{ClientMsg, ServerMsg};

/// Well-formed messages of every kind, to mutate.
const SEEDS: &[&str] = &[
    r#"{"type":"hello","protocol_version":3,"participant_id":"alice","rejoin":false}"#,
    r#"{"type":"signal","to":"bob","payload":{"offer":{"sdp":"v=0"}}}"#,
    r#"{"type":"signal","to":"bob","payload":{"ice_candidate":{"candidate":"c","sdp_mid":"0","sdp_m_line_index":0}}}"#,
    r#"{"type":"validated","game_id":"g-1"}"#,
    r#"{"type":"advance","from":1}"#,
    r#"{"type":"probe_signal","probe_id":"q-1","payload":{"answer":{"sdp":"v=0"}}}"#,
    r#"{"type":"probe_result","probe_id":"q-1","rtt_ms":40}"#,
    r#"{"type":"upload","upload_id":"u","participant_id":"a","game_id":"g","scene_id":"s","episode":0,"csv":"episode,t\n","sidecar":{}}"#,
];

/// Cases per property: `normal` in `cargo test`, `fuzz` under `make fuzz` (`ROLLGYM_FUZZ`),
/// which counts the cases from the lines printed here.
fn cases(normal: u32, fuzz: u32) -> u32 {
    if std::env::var_os("ROLLGYM_FUZZ").is_none() {
        return normal;
    }
    eprintln!("fuzz-cases {fuzz}");
    fuzz
}

/// A seed message with a few bytes replaced, inserted or removed.
fn mutated() -> impl Strategy<Value = Vec<u8>> {
    let edits = prop::collection::vec((any::<usize>(), any::<u8>(), 0..3u8), 1..6);
    (prop::sample::select(SEEDS), edits).prop_map(|(seed, edits)| {
        let mut bytes = seed.as_bytes().to_vec();
        for (at, byte, kind) in edits {
            let at = at % (bytes.len() + 1);
            match kind {
                0 if at < bytes.len() => bytes[at] = byte,
                1 => bytes.insert(at, byte),
                _ if at < bytes.len() => {
                    bytes.remove(at);
                }
                _ => {}
            }
        }
        bytes
    })
}

/// What a decoder accepted survives its own encoding unchanged.
fn check_client(text: &str) {
    if let Ok(msg) = ClientMsg::decode(text) {
        assert_eq!(ClientMsg::decode(&msg.encode()).as_ref(), Ok(&msg));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(2_000, 500_000), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn client_messages_decode_totally_from_any_text(text in ".{0,300}") {
        check_client(&text);
        let _ = ServerMsg::decode(&text);
    }

    #[test]
    fn client_messages_decode_totally_from_mutated_messages(bytes in mutated()) {
        let text = String::from_utf8_lossy(&bytes);
        check_client(&text);
        let _ = ServerMsg::decode(&text);
    }
}
