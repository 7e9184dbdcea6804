//! One median for every round trip the relay judges or records (server pings, the screening
//! peer's pings), so the same samples never give two answers.

/// The median of some round trips: the middle one, or the mean of the two middle ones for an
/// even count (rounded down). `None` without samples.
pub fn median(samples: &[u32]) -> Option<u32> {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        // Summed in u64: two u32 round trips may not fit.
        _ => Some(((u64::from(sorted[n / 2 - 1]) + u64::from(sorted[n / 2])) / 2) as u32),
    }
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn odd_counts_take_the_middle_even_counts_the_mean_of_the_two() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[7]), Some(7));
        assert_eq!(median(&[9, 1, 5]), Some(5));
        assert_eq!(median(&[9, 1, 5, 7]), Some(6));
        assert_eq!(median(&[u32::MAX, u32::MAX]), Some(u32::MAX), "no overflow");
    }
}
