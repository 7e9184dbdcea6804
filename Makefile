# rollgym: thin named targets over cargo, wasm-bindgen and npm. See README.md.

ADDR ?= 127.0.0.1:8080
RELAY := target/release/rollgym

.PHONY: all setup build build-wasm build-relay run test test-repeat fuzz check code-size types package fmt-check clippy cargo-test e2e bench clean

all: build

## setup: install the toolchain pieces, Chromium and node packages (idempotent)
setup:
	@scripts/setup.sh

## build: the wasm client into www/pkg/ and the relay binary
build: setup build-wasm build-relay

build-wasm:
	@scripts/build-wasm.sh

build-relay:
	cargo build --release -p rollgym-relay

## run: build, then serve the bundled experiment on $(ADDR)
run: build
	$(RELAY) serve --addr $(ADDR)

## test: format check, clippy (native + wasm32), cargo tests, browser end-to-end tests
test: build check cargo-test e2e

check: fmt-check clippy code-size types package

## package: the built package under its gzip budget, the README's example environment in sync
package:
	node scripts/check-package.mjs

## types: the embedding API's types (client-wasm/js/rollgym.d.ts) against a TypeScript example
types:
	node_modules/.bin/tsc -p tests/types/tsconfig.json

## code-size: no file over 600 lines, no function over 60 in the cores (scripts/code-size.py)
code-size:
	python3 scripts/code-size.py

fmt-check:
	cargo fmt --all -- --check

clippy:
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p rollgym-client -p rollgym-protocol --target wasm32-unknown-unknown --all-targets -- -D warnings
	cargo clippy -p rollgym-client --features bench --target wasm32-unknown-unknown -- -D warnings
	cargo clippy -p rollgym-client --features console --target wasm32-unknown-unknown -- -D warnings

cargo-test:
	cargo test --workspace

e2e:
	tests/run-e2e.sh

## test-repeat: run the cargo tests N times and the browser tests N/5 times, print the pass counts
N ?= 10
test-repeat: build
	scripts/test-repeat.sh $(N)

## fuzz: every property test with over a million cases in all; prints the count
fuzz:
	scripts/fuzz.sh

## bench: environment and rollback speed (native, wasm), page load and transfer size, relay load and screening (not part of test)
bench: build
	cargo bench -p rollgym-client --bench native
	scripts/build-wasm.sh --bench
	node tests/bench/env_wasm.mjs
	tests/run-e2e.sh tests/bench/page_load.mjs
	tests/run-e2e.sh tests/bench/episode_data.mjs
	tests/run-e2e.sh tests/bench/js_env.mjs
	tests/run-e2e.sh tests/bench/spectate.mjs
	tests/run-e2e.sh tests/bench/input_latency.mjs
	tests/run-e2e.sh tests/bench/adaptive_delay.mjs
	tests/run-e2e.sh tests/bench/bandwidth.mjs
	ulimit -n 65536 2>/dev/null || true; cargo bench -p rollgym-relay --bench load
	cargo bench -p rollgym-relay --bench screening
	cargo bench -p rollgym-relay --bench console

clean:
	cargo clean
	rm -rf www/pkg node_modules
