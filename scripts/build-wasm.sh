#!/usr/bin/env bash
# Builds the client: cargo (wasm32, wasm-release) -> wasm-bindgen -> wasm-opt -Oz.
#   scripts/build-wasm.sh          the package into www/pkg/: the module (--target web) and the
#                                  embedding API around it (client-wasm/js/: rollgym.js, types,
#                                  package.json); and the admin console's module (feature
#                                  `console`: the episode player) into www/console-pkg/
#   scripts/build-wasm.sh --bench  the benchmark workloads (feature `bench`) for Node, into
#                                  target/bench-pkg/, optimized exactly like the page's module
set -euo pipefail
cd "$(dirname "$0")/.."

# One module: cargo with `features`, wasm-bindgen for `target`, wasm-opt; into `stage`.
module() {
  local features=$1 target=$2 stage=$3
  cargo build --profile wasm-release -p rollgym-client --target wasm32-unknown-unknown $features
  rm -rf "$stage"
  mkdir -p "$stage"
  wasm-bindgen --target "$target" --no-typescript --out-dir "$stage" \
    target/wasm32-unknown-unknown/wasm-release/rollgym_client.wasm
  # Debian's binaryen is too old for rustc's reference-types output; use the npm one (RECIPES.md).
  # --low-memory-unused lets wasm-opt fold constant offsets into loads and stores (about 2 kB
  # gzip): rustc lays the stack out first (data from 1 MiB, the stack growing down towards 0),
  # so the lowest kilobyte is touched only by a stack already 1023 KiB deep.
  node_modules/.bin/wasm-opt -Oz --converge --low-memory-unused \
    --enable-reference-types --enable-bulk-memory \
    --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
    "$stage/rollgym_client_bg.wasm" -o "$stage/rollgym_client_bg.wasm"
}

# What a page loads is minified (the gzip budget, DESIGN.md); each file's source map keeps the
# readable text for a researcher's devtools and is loaded only by them.
minify() {
  local dir=$1 js=$2
  node_modules/.bin/esbuild --minify --format=esm --sourcemap --log-level=warning \
    "$dir/$js" --outfile="$dir/$js.min"
  mv "$dir/$js.min" "$dir/$js"
  mv "$dir/$js.min.map" "$dir/$js.map"
  sed -i "s|sourceMappingURL=$js.min.map|sourceMappingURL=$js.map|" "$dir/$js"
}

# Built in a staging directory and copied only where a file changed: the relay builds www/
# into its binary and rebuilds whenever a file there is touched.
publish() {
  local stage=$1 out=$2
  mkdir -p "$out"
  for file in "$stage"/*; do
    cmp -s "$file" "$out/$(basename "$file")" || cp "$file" "$out/"
  done
}

if [ "${1:-}" = "--bench" ]; then
  module "--features bench" nodejs target/wasm-stage-bench
  publish target/wasm-stage-bench target/bench-pkg
  # wasm-bindgen's nodejs output is CommonJS; the repository's package.json says "module".
  echo '{ "type": "commonjs" }' > target/bench-pkg/package.json
  exit 0
fi

stage=target/wasm-stage-web
module "" web "$stage"
# The package around the module: the embedding API, its types, package.json.
cp client-wasm/js/* "$stage/"
for js in rollgym.js rollgym_client.js; do minify "$stage" "$js"; done
publish "$stage" www/pkg

# The admin console's module: the same environments plus the episode player.
console=target/wasm-stage-console
module "--features console" web "$console"
minify "$console" rollgym_client.js
publish "$console" www/console-pkg

# The example study's jsPsych, from node_modules (package-lock.json): served locally.
vendor=www/examples/jspsych/vendor
mkdir -p "$vendor"
for pair in jspsych/dist/index.browser.min.js:jspsych.js jspsych/css/jspsych.css:jspsych.css \
  @jspsych/plugin-html-button-response/dist/index.browser.min.js:plugin-html-button-response.js \
  @jspsych/plugin-instructions/dist/index.browser.min.js:plugin-instructions.js \
  @jspsych/plugin-survey-likert/dist/index.browser.min.js:plugin-survey-likert.js \
  @jspsych/plugin-survey-text/dist/index.browser.min.js:plugin-survey-text.js; do
  cmp -s "node_modules/${pair%%:*}" "$vendor/${pair##*:}" || cp "node_modules/${pair%%:*}" "$vendor/${pair##*:}"
done
