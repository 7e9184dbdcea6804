//! Comparing players' CSV files of one episode on the shared columns (the schema, which
//! columns are shared, is `rollgym_protocol::episode`'s): two at a time, or a group's files
//! each against the first. Used by the relay as the files come in, and by `rollgym compare`.

use rollgym_protocol::episode::shared_columns;
use serde::Serialize;

/// The outcome of a comparison. Rows are numbered from 1 (the first data row); row 0 is the
/// header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Parity {
    Equal { rows: usize },
    Different { row: usize, column: String, left: String, right: String },
}

impl Parity {
    pub fn is_equal(&self) -> bool {
        matches!(self, Parity::Equal { .. })
    }

    /// Every row both files have is identical; one file may stop earlier (partial data: the
    /// game ended at a different frame on each side, each kept what it had confirmed).
    pub fn agrees_where_both_have_rows(&self) -> bool {
        match self {
            Parity::Equal { .. } => true,
            Parity::Different { column, .. } => column == "row count",
        }
    }
}

impl std::fmt::Display for Parity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Parity::Equal { rows } => {
                write!(f, "equal: {rows} rows, every shared column identical")
            }
            Parity::Different { row, column, left, right } => {
                write!(f, "different at row {row}, column {column}: {left:?} vs {right:?}")
            }
        }
    }
}

/// A group's files of one episode compared with the first of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupParity {
    /// Equal when every file equals the first; else the first difference found.
    pub parity: Parity,
    /// The index of the file the first was compared with last: the differing one, if any.
    pub against: usize,
}

/// Compares every file after the first with the first, in order, and stops at the first
/// difference; `None` for fewer than two files. Equality is transitive, so "every file equals
/// the first" means every pair agrees.
pub fn compare_all(files: &[&str]) -> Option<GroupParity> {
    let (first, rest) = files.split_first()?;
    let mut result = None;
    for (i, other) in rest.iter().enumerate() {
        let parity = compare(first, other);
        let equal = parity.is_equal();
        result = Some(GroupParity { parity, against: i + 1 });
        if !equal {
            break;
        }
    }
    result
}

/// Compares the shared columns of two CSV texts.
pub fn compare(left: &str, right: &str) -> Parity {
    let mut a = left.lines();
    let mut b = right.lines();
    let header_a: Vec<&str> = a.next().unwrap_or("").split(',').collect();
    let header_b: Vec<&str> = b.next().unwrap_or("").split(',').collect();
    let (shared_a, shared_b) = (shared_columns(&header_a), shared_columns(&header_b));
    if header_a[..shared_a] != header_b[..shared_b] {
        return Parity::Different {
            row: 0,
            column: "header".into(),
            left: header_a[..shared_a].join(","),
            right: header_b[..shared_b].join(","),
        };
    }
    let columns = &header_a[..shared_a];
    let mut rows = 0;
    loop {
        match (a.next(), b.next()) {
            (None, None) => return Parity::Equal { rows },
            (Some(la), Some(lb)) => {
                rows += 1;
                let fa: Vec<&str> = la.split(',').collect();
                let fb: Vec<&str> = lb.split(',').collect();
                for (i, column) in columns.iter().enumerate() {
                    let (va, vb) =
                        (fa.get(i).copied().unwrap_or(""), fb.get(i).copied().unwrap_or(""));
                    if va != vb {
                        return Parity::Different {
                            row: rows,
                            column: (*column).to_owned(),
                            left: va.to_owned(),
                            right: vb.to_owned(),
                        };
                    }
                }
            }
            (la, lb) => {
                let count = |rest: Option<&str>, lines: std::str::Lines<'_>| {
                    rows + usize::from(rest.is_some()) + lines.count()
                };
                return Parity::Different {
                    row: rows + 1,
                    column: "row count".into(),
                    left: count(la, a).to_string(),
                    right: count(lb, b).to_string(),
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "episode,t,actions.0,state_hash,wasSpeculative.0,timestamp";

    fn csv(rows: &[&str]) -> String {
        std::iter::once(HEADER).chain(rows.iter().copied()).collect::<Vec<_>>().join("\n")
    }

    #[test]
    fn local_columns_may_differ() {
        let a = csv(&["0,0,4,aa,false,100", "0,1,5,bb,true,133"]);
        let b = csv(&["0,0,4,aa,true,101", "0,1,5,bb,false,140"]);
        assert_eq!(compare(&a, &b), Parity::Equal { rows: 2 });
    }

    #[test]
    fn the_first_differing_shared_cell_is_reported() {
        let a = csv(&["0,0,4,aa,false,100", "0,1,5,bb,false,133"]);
        let b = csv(&["0,0,4,aa,false,100", "0,1,3,bb,false,133"]);
        assert_eq!(
            compare(&a, &b),
            Parity::Different {
                row: 2,
                column: "actions.0".into(),
                left: "5".into(),
                right: "3".into()
            }
        );
    }

    #[test]
    fn a_missing_row_is_a_difference() {
        let a = csv(&["0,0,4,aa,false,100", "0,1,5,bb,false,133"]);
        let b = csv(&["0,0,4,aa,false,100"]);
        assert_eq!(
            compare(&a, &b),
            Parity::Different {
                row: 2,
                column: "row count".into(),
                left: "2".into(),
                right: "1".into()
            }
        );
        assert!(compare(&a, &b).agrees_where_both_have_rows(), "a shorter partial file agrees");
        let c = csv(&["0,0,3,aa,false,100"]);
        assert!(!compare(&a, &c).agrees_where_both_have_rows());
    }

    #[test]
    fn different_shared_headers_are_a_difference() {
        let other = "episode,t,actions.1,state_hash,wasSpeculative.0,timestamp\n0,0,4,aa,false,1";
        assert!(matches!(
            compare(&csv(&["0,0,4,aa,false,1"]), other),
            Parity::Different { row: 0, .. }
        ));
    }
}
