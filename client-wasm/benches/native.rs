//! `make bench`: the built-in games' step and 12-frame rollback, and the CSV export, native. Prints a table row each;
//! the wasm figures come from tests/bench/env_wasm.mjs running the same workloads.

use std::{hint::black_box, time::Instant};

use rollgym_client::bench::{
    ROLLBACK_DEPTH, episode_rows, export_csv, overcooked_steps, rollbacks, slime_rollbacks,
    slime_steps,
};

/// Median over `runs` of the time per unit of `f(units)`, in nanoseconds.
fn median_ns(runs: usize, units: u32, f: impl Fn(u32) -> u64) -> f64 {
    black_box(f(units / 10)); // warm up
    let mut samples: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            black_box(f(black_box(units)));
            start.elapsed().as_nanos() as f64 / f64::from(units)
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[runs / 2]
}

#[allow(clippy::print_stdout, reason = "a benchmark prints its table")]
fn main() {
    let step = median_ns(21, 1_000_000, overcooked_steps);
    let rollback = median_ns(21, 20_000, rollbacks);
    println!("| workload | native (median of 21 runs) |");
    println!("|---|---|");
    println!("| overcooked step | {:.3} µs |", step / 1000.0);
    println!(
        "| {ROLLBACK_DEPTH}-frame rollback (load + {ROLLBACK_DEPTH} x (advance + save with checksum)) | {:.3} µs |",
        rollback / 1000.0
    );
    let step = median_ns(21, 1_000_000, slime_steps);
    let rollback = median_ns(21, 20_000, slime_rollbacks);
    println!("| slime_volleyball step | {:.3} µs |", step / 1000.0);
    println!("| slime_volleyball {ROLLBACK_DEPTH}-frame rollback | {:.3} µs |", rollback / 1000.0);
    let rows = episode_rows(450);
    let export = median_ns(21, 200, |n| export_csv(&rows, n) as u64);
    let bytes = export_csv(&rows, 1);
    println!("| CSV export of a 450-frame episode ({bytes} bytes) | {:.1} µs |", export / 1000.0);
}
