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

step "Policy tests: lumenflow test on the shipped policies, and the adversarial corpus against both"
for p in software-delivery unattended; do
  cargo run --locked -q -p lumenflow-cli -- test \
    --policy "examples/policies/$p.yaml" "examples/policies/$p.tests.yaml" | tail -2
done
# Every corpus case must get its expected effect under each policy (known gaps are listed
# in the files with why); prints the table that README.md shows.
cargo run --locked -q -p lumenflow-cli -- corpus \
  --policy examples/policies/software-delivery.yaml \
  --policy examples/policies/unattended.yaml \
  examples/policies/corpus

step "MCP: lumenflow mcp between the Python mcp client and the npm servers (stdio and Streamable HTTP)"
./scripts/test-mcp.sh

step "Console: the approver console in headless Chromium (Debian's) driven by playwright-core (npm), real agents waiting on the daemon's socket"
./scripts/test-console.sh

step "Serve: two real OS users (setup.sh's service user runs the daemon, an agent user attacks it), the hook failing closed"
./scripts/test-serve.sh

step "Python: build the lumenflow wheel into target/py-venv, run pytest (spec/vectors included)"
./scripts/test-python.sh

step "Node: build the addon with the napi CLI, node:test (spec/vectors included), tsc --strict, npm pack smoke"
./scripts/test-node.sh

step "Kotlin and Swift (uniffi): generate bindings, check the Swift C layer, JUnit 5 on the JVM (spec/vectors included)"
./scripts/test-kotlin.sh
