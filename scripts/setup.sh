#!/usr/bin/env bash
# Installs everything rollgym needs to build and test. Idempotent: what is already there is
# skipped, so a second run takes seconds. Called by `make setup` (and so by run, test, bench).
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_BINDGEN_VERSION=0.2.130

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "adding the wasm32 target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  step "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes, once)"
  # Not --locked: its lockfile pins a webpki-roots the registry mirror lacks (RECIPES.md).
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

if ! command -v chromium >/dev/null 2>&1; then
  step "installing Chromium from Debian"
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: Chromium is missing; install it as root: apt-get install -y chromium chromium-driver" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi

# iptables: browser tests drop UDP inside their private network namespace (a network that
# blocks WebRTC). Only as root, like the namespace itself; without it those tests say why.
if [ "$(id -u)" -eq 0 ] && ! command -v iptables >/dev/null 2>&1; then
  step "installing iptables from Debian"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iptables >/dev/null
fi

# coturn: the browser tests' real TURN server between two "home" network namespaces. Only as
# root (the namespaces need it); the package starts no daemon here, the tests start their own.
if [ "$(id -u)" -eq 0 ] && ! command -v turnserver >/dev/null 2>&1; then
  step "installing coturn from Debian"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq coturn >/dev/null
fi

# Node packages (playwright-core, binaryen's wasm-opt), exactly as locked.
if [ ! -f node_modules/.package-lock.json ] || ! cmp -s package-lock.json node_modules/.rollgym-lock; then
  step "installing node packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.rollgym-lock
fi
