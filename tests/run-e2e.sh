#!/usr/bin/env bash
# Runs browser end-to-end tests (default: every tests/e2e/*.test.mjs) with node's test runner.
# As root, everything runs inside a fresh network namespace that has only loopback, so no test
# traffic can leave the machine and no port can clash with anything else.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$#" -eq 0 ]; then
  # A test that hangs fails after 3 minutes instead of stalling the whole run.
  set -- --test --test-concurrency=1 --test-timeout=180000 --test-reporter=spec tests/e2e/
fi
mkdir -p tests/.artifacts

if [ "$(id -u)" -eq 0 ] && command -v ip >/dev/null 2>&1; then
  ns="rollgym-e2e-$$"
  ip netns add "$ns"
  # Tests may add "home" namespaces joined to this one (tests/e2e/topology.mjs): gone too.
  trap 'for n in "$ns-a" "$ns-b" "$ns"; do ip netns delete "$n" 2>/dev/null || true; done' EXIT
  ip netns exec "$ns" ip link set lo up
  ROLLGYM_E2E_NETNS="$ns" ip netns exec "$ns" node "$@"
else
  echo "note: not root (or no iproute2): running without a private network namespace" >&2
  node "$@"
fi
