#!/usr/bin/env bash
# The main job: a governed agent session on the shipped example policy. A scripted coding
# agent proposes tool calls in a scratch worktree; LumenFlow decides each, records signed
# evidence before anything runs, runs only what is allowed, records outcomes; then the
# evidence is verified offline with the public key, listed, exported and re-verified.
# Usage: ./scripts/demo.sh [WORKDIR]   (default: a fresh temporary directory)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
work="${1:-$(mktemp -d)}"
mkdir -p "$work/worktree"
echo "== Building"
cargo build --locked -q --release -p lumenflow-cli --bin lumenflow
cargo build --locked -q --release -p lumenflow-core --example agent_session
lf="$CARGO_TARGET_DIR/release/lumenflow"
policy=examples/policies/software-delivery.yaml

echo "== Checking and testing the policy"
"$lf" check --policy "$policy"
"$lf" test --policy "$policy" examples/policies/software-delivery.tests.yaml | tail -1

echo
echo "== A signing key for this agent"
"$lf" keygen --out "$work/agent.key"

echo
echo "== The governed session"
"$CARGO_TARGET_DIR/release/examples/agent_session" "$work/evidence" "$work/agent.key" "$work/worktree"

echo
echo "== The evidence it wrote"
"$lf" log "$work/evidence"

echo
echo "== Approval requests and budgets, derived from the log"
"$lf" approvals list "$work/evidence" --all
"$lf" budgets "$work/evidence" --policy "$policy"

echo
echo "== Replaying every decision under the same policy (deterministic: nothing changes)"
"$lf" replay "$work/evidence" --policy "$policy" | tail -1

echo
echo "== Verifying offline with the public key"
"$lf" verify "$work/evidence" --key "$work/agent.key.pub"

echo
echo "== Exporting a self-contained bundle and verifying it"
"$lf" export "$work/evidence" --out "$work/session.lfb" --key "$work/agent.key"
"$lf" verify "$work/session.lfb" --key "$work/agent.key.pub" | sed -n 3,4p
"$lf" export "$work/evidence" --out "$work/session.csv" --format csv

echo
echo "Everything is in $work (evidence/, session.lfb, session.csv, worktree/)."
