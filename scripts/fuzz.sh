#!/usr/bin/env bash
# Runs every property test with its large case count (ROLLGYM_FUZZ) and prints how many cases
# ran in all: the lobby as a state machine, the message and packet decoders, the data readers.
# Not part of `make test` (which runs the same properties with a few thousand cases).
set -euo pipefail
cd "$(dirname "$0")/.."

log=$(mktemp)
trap 'rm -f "$log"' EXIT
# The test harness prints progress dots without a newline, so a count line may follow them.
run() { ROLLGYM_FUZZ=1 cargo test --quiet "$@" -- --nocapture 2>&1 | tee -a "$log" | { grep -v 'fuzz-cases' || true; }; }

run -p rollgym-protocol --test decode_properties
run -p rollgym-client --lib properties
run -p rollgym-relay --lib properties
run -p rollgym-relay --test reader_properties

counts=$(grep -o 'fuzz-cases [0-9]*' "$log" || true)
total=$(awk '{ sum += $2 } END { print sum + 0 }' <<<"$counts")
properties=$(grep -c . <<<"$counts" || true)
echo "fuzz: $total cases over $properties properties, all passed"
