#!/usr/bin/env bash
# Builds the addon in release (plain cargo, sharing target/release with the Rust
# benchmarks), installs @cedar-policy/cedar-wasm, and runs decide.mjs against that build.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(cd ../.. && pwd)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
cargo build --release -p lumenflow-node --manifest-path "$ROOT/Cargo.toml"
[ -f ../native.js ] || (cd .. && npx --no-install napi build --platform --js native.js --dts native.d.ts)
npm ci --no-audit --no-fund --loglevel=error
# Node loads addons by the .node extension.
cp "$CARGO_TARGET_DIR/release/liblumenflow_node.so" "$CARGO_TARGET_DIR/release/lumenflow-bench.node"
NAPI_RS_NATIVE_LIBRARY_PATH="$CARGO_TARGET_DIR/release/lumenflow-bench.node" node decide.mjs
