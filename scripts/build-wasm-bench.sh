#!/usr/bin/env bash
# Builds the client's benchmark workloads (feature `bench`) for Node into target/bench-pkg/,
# optimized exactly like the page's module.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --profile wasm-release -p rollgym-client --features bench --target wasm32-unknown-unknown
out=target/bench-pkg
mkdir -p "$out"
wasm-bindgen --target nodejs --no-typescript --out-dir "$out" \
  target/wasm32-unknown-unknown/wasm-release/rollgym_client.wasm
node_modules/.bin/wasm-opt -Oz --enable-reference-types --enable-bulk-memory \
  --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
  "$out/rollgym_client_bg.wasm" -o "$out/rollgym_client_bg.wasm"
# wasm-bindgen's nodejs output is CommonJS; the repository's package.json says "module".
echo '{ "type": "commonjs" }' > "$out/package.json"
