#!/usr/bin/env bash
# Builds the client: cargo (wasm32, wasm-release) -> wasm-bindgen -> wasm-opt -Oz.
#   scripts/build-wasm.sh          the package into www/pkg/: the module (--target web) and the
#                                  embedding API around it (client-wasm/js/: rollgym.js, types,
#                                  package.json)
#   scripts/build-wasm.sh --bench  the benchmark workloads (feature `bench`) for Node, into
#                                  target/bench-pkg/, optimized exactly like the page's module
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--bench" ]; then
  features=(--features bench) target=nodejs out=target/bench-pkg
else
  features=() target=web out=www/pkg
fi

cargo build --profile wasm-release -p rollgym-client --target wasm32-unknown-unknown "${features[@]}"
# Built in a staging directory and copied only where a file changed: the relay builds www/
# into its binary and rebuilds whenever a file there is touched.
stage="target/wasm-stage-$target"
rm -rf "$stage"
mkdir -p "$stage" "$out"
wasm-bindgen --target "$target" --no-typescript --out-dir "$stage" \
  target/wasm32-unknown-unknown/wasm-release/rollgym_client.wasm
# Debian's binaryen is too old for rustc's reference-types output; use the npm one (RECIPES.md).
node_modules/.bin/wasm-opt -Oz --enable-reference-types --enable-bulk-memory \
  --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
  "$stage/rollgym_client_bg.wasm" -o "$stage/rollgym_client_bg.wasm"
if [ "$target" = web ]; then
  # The package around the module: the embedding API, its types, package.json.
  cp client-wasm/js/* "$stage/"
  # What a page loads is minified (the gzip budget, DESIGN.md); each file's source map keeps
  # the readable text for a researcher's devtools and is loaded only by them.
  for js in rollgym.js rollgym_client.js; do
    node_modules/.bin/esbuild --minify --format=esm --sourcemap --log-level=warning \
      "$stage/$js" --outfile="$stage/$js.min"
    mv "$stage/$js.min" "$stage/$js"
    mv "$stage/$js.min.map" "$stage/$js.map"
    sed -i "s|sourceMappingURL=$js.min.map|sourceMappingURL=$js.map|" "$stage/$js"
  done
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
fi
for file in "$stage"/*; do
  cmp -s "$file" "$out/$(basename "$file")" || cp "$file" "$out/"
done
if [ "$target" = nodejs ]; then
  # wasm-bindgen's nodejs output is CommonJS; the repository's package.json says "module".
  echo '{ "type": "commonjs" }' > "$out/package.json"
fi
