//! The candidate types a page gathered, read from its offer's SDP and its trickled candidates
//! (`... typ host`), for the screening record: whether it can use host, server-reflexive or
//! TURN relay candidates says how it will reach a partner.

/// The `typ` of every `candidate:` line in `text` (an SDP or one candidate attribute).
pub(super) fn types_in(text: &str) -> impl Iterator<Item = &str> {
    text.lines().filter(|l| l.contains("candidate:")).filter_map(|line| {
        let mut words = line.split_whitespace();
        words.by_ref().find(|w| *w == "typ")?;
        words.next().filter(|t| matches!(*t, "host" | "srflx" | "prflx" | "relay"))
    })
}

/// Adds the types found in `text` to `seen`, each once, in the order found.
pub(super) fn collect(seen: &mut Vec<String>, text: &str) {
    for kind in types_in(text) {
        if !seen.iter().any(|s| s == kind) {
            seen.push(kind.to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_read_from_sdp_and_single_candidates() {
        let sdp = "v=0\r\na=candidate:1 1 udp 2122260223 192.168.1.2 54400 typ host generation 0\r\n\
                   a=candidate:2 1 udp 1686052607 203.0.113.5 54400 typ srflx raddr 192.168.1.2 rport 54400\r\n\
                   a=candidate:3 1 udp 2122260223 10.0.0.2 54401 typ host\r\na=end-of-candidates\r\n";
        let mut seen = Vec::new();
        collect(&mut seen, sdp);
        collect(&mut seen, "candidate:4 1 udp 41885439 198.51.100.1 3478 typ relay raddr 0.0.0.0");
        collect(&mut seen, "candidate:5 1 udp 1 1.2.3.4 5 typ nonsense");
        collect(&mut seen, "candidate:6 1 udp 1 1.2.3.4 5");
        assert_eq!(seen, ["host", "srflx", "relay"]);
    }
}
