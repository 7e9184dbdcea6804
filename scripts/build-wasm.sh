#!/usr/bin/env bash
# Builds the client: cargo (wasm32, release) -> wasm-bindgen (--target web) -> wasm-opt -Oz,
# into www/pkg/.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --profile wasm-release -p rollgym-client --target wasm32-unknown-unknown
out=www/pkg
mkdir -p "$out"
wasm-bindgen --target web --no-typescript --out-dir "$out" \
  target/wasm32-unknown-unknown/wasm-release/rollgym_client.wasm
# Debian's binaryen is too old for rustc's reference-types output; use the npm one (RECIPES.md).
node_modules/.bin/wasm-opt -Oz --enable-reference-types --enable-bulk-memory \
  --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
  "$out/rollgym_client_bg.wasm" -o "$out/rollgym_client_bg.wasm"
