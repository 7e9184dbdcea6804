#!/usr/bin/env bash
# Measures flakiness instead of guessing it: runs the cargo tests N times and the browser
# tests N/5 times (at least once), each run to completion whatever the previous one did, and
# prints how many passed. Exits non-zero if any run failed. Logs of failed runs are kept in
# tests/.artifacts/repeat/. Usage: scripts/test-repeat.sh [N] (default 10); `make test-repeat N=10`.
set -uo pipefail
cd "$(dirname "$0")/.."

n="${1:-10}"
e2e_runs=$(( n / 5 > 0 ? n / 5 : 1 ))
logs=tests/.artifacts/repeat
rm -rf "$logs"
mkdir -p "$logs"

# Build once, so every run measures the tests, not the compiler.
cargo test --workspace --no-run >/dev/null 2>&1 || { echo "cargo test does not build" >&2; exit 1; }

cargo_ok=0
for i in $(seq 1 "$n"); do
  if cargo test --workspace >"$logs/cargo-$i.log" 2>&1; then
    cargo_ok=$((cargo_ok + 1)); rm "$logs/cargo-$i.log"
  else
    echo "cargo test run $i failed: $logs/cargo-$i.log"
  fi
done

e2e_ok=0
for i in $(seq 1 "$e2e_runs"); do
  if tests/run-e2e.sh >"$logs/e2e-$i.log" 2>&1; then
    e2e_ok=$((e2e_ok + 1)); rm "$logs/e2e-$i.log"
  else
    echo "browser test run $i failed: $logs/e2e-$i.log"
  fi
done

echo "cargo test --workspace: $cargo_ok/$n runs passed"
echo "browser tests (tests/run-e2e.sh): $e2e_ok/$e2e_runs runs passed"
[ "$cargo_ok" -eq "$n" ] && [ "$e2e_ok" -eq "$e2e_runs" ]
