//! An episode's rows as CSV: the shared columns both peers must agree on, then this peer's
//! local columns. The column set is defined in `rollgym_protocol::episode` (the readers use
//! it too) and documented in docs/DATA.md; this module writes the rows in that order.

use std::fmt::Write;

use crate::core::recorder::FrameRow;

pub use rollgym_protocol::episode::{FIRST_LOCAL_COLUMN, csv_header as header};

/// The whole CSV of one episode, header first, one line per row, `\n` line ends.
pub fn csv(rows: &[FrameRow]) -> String {
    let players = rows.first().map_or(2, |r| r.actions.len());
    let keys: Vec<&str> =
        rows.first().map(|r| r.info.iter().map(|(k, _)| k.as_ref()).collect()).unwrap_or_default();
    let mut out = String::with_capacity(64 + rows.len() * 128);
    out.push_str(&header(players, &keys));
    out.push('\n');
    for row in rows {
        write_row(&mut out, row);
    }
    out
}

fn write_row(out: &mut String, r: &FrameRow) {
    // Writing to a String cannot fail.
    let _ = write!(out, "{},{}", r.episode, r.t);
    for a in &r.actions {
        let _ = write!(out, ",{a}");
    }
    for reward in &r.rewards {
        let _ = write!(out, ",{reward}");
    }
    let _ = write!(out, ",{},{}", r.terminated, r.truncated);
    for f in &r.focused {
        let _ = write!(out, ",{f}");
    }
    let _ = write!(out, ",{:016x}", r.state_hash);
    for (_, value) in &r.info {
        let _ = write!(out, ",{value}");
    }
    for s in &r.was_speculative {
        let _ = write!(out, ",{s}");
    }
    let _ = writeln!(out, ",{},{:.0},{}", r.rollbacks, r.timestamp_ms, r.confirmed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_row() {
        let row = FrameRow {
            frame: 100,
            episode: 1,
            t: 7,
            actions: vec![5, 4],
            rewards: vec![20.0, 20.0],
            terminated: false,
            truncated: true,
            focused: vec![true, false],
            state_hash: 0xabc,
            info: vec![("soups_delivered.0".into(), 1), ("soups_delivered.1".into(), 0)],
            was_speculative: vec![false, true],
            rollbacks: 2,
            timestamp_ms: 1_700_000_000_123.4,
            confirmed: true,
        };
        let text = csv(&[row]);
        let expected = "episode,t,actions.0,actions.1,rewards.0,rewards.1,terminated,truncated,\
isFocused.0,isFocused.1,state_hash,infos.soups_delivered.0,infos.soups_delivered.1,\
wasSpeculative.0,wasSpeculative.1,rollbacks,timestamp,confirmed\n\
1,7,5,4,20,20,false,true,true,false,0000000000000abc,1,0,false,true,2,1700000000123,true\n";
        assert_eq!(text, expected);
        assert!(text.contains(FIRST_LOCAL_COLUMN));
    }
}
