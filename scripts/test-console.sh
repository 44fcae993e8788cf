#!/usr/bin/env bash
# The console in a real browser: installs Debian's Chromium (apt, once) and playwright-core
# from npm (cached in $HOME/.cache/lumenflow/console-node; no browser download), then runs
# lumenflow-serve's browser test: an approver logs in, approves and rejects requests that
# real agents wait on over the daemon's socket, and the console's first paint is measured.
# Usage: ./scripts/test-console.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
start=$(date +%s)

CHROMIUM="${LUMENFLOW_CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "test-console: $CHROMIUM is missing and this is not root: apt-get install chromium" >&2
    exit 1
  fi
  echo "test-console: installing chromium from Debian"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

PW_VERSION=1.65.1
NODE_DIR="$HOME/.cache/lumenflow/console-node"
if [ "$(node -p "try{require('$NODE_DIR/node_modules/playwright-core/package.json').version}catch(e){''}")" != "$PW_VERSION" ]; then
  echo "test-console: installing playwright-core@$PW_VERSION into $NODE_DIR"
  mkdir -p "$NODE_DIR"
  (cd "$NODE_DIR" && [ -f package.json ] || echo '{"private":true}' > package.json)
  (cd "$NODE_DIR" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund --silent "playwright-core@$PW_VERSION")
fi
echo "test-console: tools ready after $(( $(date +%s) - start )) s"

LUMENFLOW_CHROMIUM="$CHROMIUM" LUMENFLOW_NODE_MODULES="$NODE_DIR/node_modules" \
  cargo test --locked -p lumenflow-serve --test console_browser -- --ignored --nocapture
echo "test-console: done in $(( $(date +%s) - start )) s"
