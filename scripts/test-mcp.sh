#!/usr/bin/env bash
# `lumenflow mcp` against real MCP servers and a real client: installs the npm servers
# (@modelcontextprotocol/server-filesystem, server-everything, pinned by
# lumenflow-mcp/tests/node/package-lock.json) into target/mcp-node and the official
# Python `mcp` client with pytest into target/mcp-venv, builds the lumenflow binary, and
# runs lumenflow-mcp/tests/python. Each install is skipped when it is already there (so
# a warm run needs no network); npm and pip use their caches ($HOME/.npm, pip's).
# Then measures the proxy's per-call overhead (benches/mcp_overhead.py) unless
# LUMENFLOW_MCP_BENCH=0.
# Usage: ./scripts/test-mcp.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
node_dir="$CARGO_TARGET_DIR/mcp-node"
venv="$CARGO_TARGET_DIR/mcp-venv"
python="${PYTHON:-python3}"

command -v npm >/dev/null || { echo "test-mcp.sh: npm is required" >&2; exit 1; }

mkdir -p "$node_dir"
if ! cmp -s lumenflow-mcp/tests/node/package-lock.json "$node_dir/node_modules/.lumenflow-lock" 2>/dev/null; then
  cp lumenflow-mcp/tests/node/package.json lumenflow-mcp/tests/node/package-lock.json "$node_dir/"
  (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error)
  cp lumenflow-mcp/tests/node/package-lock.json "$node_dir/node_modules/.lumenflow-lock"
fi

if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
if ! "$venv/bin/python" -c 'import mcp, pytest, anyio' 2>/dev/null; then
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "mcp==2.3.0" "pytest>=7,<10"
fi

cargo build --locked -q -p lumenflow-cli
export LUMENFLOW="$CARGO_TARGET_DIR/debug/lumenflow"
export MCP_BIN="$node_dir/node_modules/.bin"
export REPO="$ROOT"

"$venv/bin/python" -m pytest -q -p no:cacheprovider lumenflow-mcp/tests/python "$@"
