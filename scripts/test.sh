#!/usr/bin/env bash
# Runs every test of every language LumenFlow ships, installing what it needs.
# Usage: ./scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() { printf '\n== %s\n' "$*"; }

step "Rust: core and CLI (unit, property, differential, vector and CLI tests)"
# The benches crate is left out: it only holds criterion benchmarks (cargo bench).
cargo test --locked --workspace --exclude lumenflow-benches

step "Policy tests: lumenflow test on the shipped example"
cargo run --locked -q -p lumenflow-cli -- test \
  --policy examples/policies/software-delivery.yaml \
  examples/policies/software-delivery.tests.yaml

step "Python: build the lumenflow wheel into target/py-venv, run pytest (spec/vectors included)"
./scripts/test-python.sh

step "Node: build the addon with the napi CLI, node:test (spec/vectors included), tsc --strict, npm pack smoke"
./scripts/test-node.sh

step "Kotlin and Swift (uniffi): generate bindings, check the Swift C layer, JUnit 5 on the JVM (spec/vectors included)"
./scripts/test-kotlin.sh
