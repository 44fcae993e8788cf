#!/usr/bin/env bash
# Node package (lumenflow-node): installs its npm tools, builds the addon with the napi
# CLI (debug, in the shared target dir), runs the node:test suite (including every
# spec/vectors vector), type-checks the typed example with `tsc --strict`, then packs the
# package and installs it into an empty project for a smoke run.
# Usage: ./scripts/test-node.sh   (needs Rust, Node >= 18 and npm)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
cd lumenflow-node

command -v node >/dev/null || { echo "test-node.sh: node is required" >&2; exit 1; }
command -v npm >/dev/null || { echo "test-node.sh: npm is required" >&2; exit 1; }

# npm tools from the committed lockfile; skipped when already installed from it.
if ! cmp -s package-lock.json node_modules/.lumenflow-lock 2>/dev/null; then
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.lumenflow-lock
fi

# The addon: native.js (loader), native.d.ts (generated types), lumenflow.<platform>.node.
# CARGO: reuse the dependencies `cargo test` built in target/debug (see tools/cargo-host.sh).
CARGO="$PWD/tools/cargo-host.sh" npx --no-install napi build --platform --js native.js --dts native.d.ts

node --test test/

npx --no-install tsc --strict -p test/typed

# npm pack -> install into an empty project -> use it from CommonJS and ESM.
SMOKE=$(mktemp -d)
trap 'rm -rf "$SMOKE"' EXIT
TARBALL=$(npm pack --silent --pack-destination "$SMOKE" | tail -n 1)
mkdir -p "$SMOKE/app"
cp "$ROOT/examples/policies/software-delivery.yaml" "$SMOKE/app/policy.yaml"
cd "$SMOKE/app"
npm init -y >/dev/null
npm install --no-audit --no-fund --loglevel=error "$SMOKE/$TARBALL"
cat > smoke.mjs <<'JS'
import { Governor, Denied, generateKey, verify } from 'lumenflow';
import { createRequire } from 'node:module';
const cjs = createRequire(import.meta.url)('lumenflow');
if (cjs.Governor !== Governor) throw new Error('ESM and CommonJS differ');
generateKey('agent.key');
const gov = new Governor({ policy: 'policy.yaml', evidence: 'evidence', key: 'agent.key', context: { worktree: process.cwd() } });
const bash = gov.wrap('bash', async ({ command }) => `ran ${command}`, { actor: 'agent-7', session: 's-1' });
if ((await bash({ command: 'cargo test' })) !== 'ran cargo test') throw new Error('result not passed through');
const denied = await bash({ command: 'git push --force' }).catch((e) => e);
if (!(denied instanceof Denied) || denied.code !== 'LUMENFLOW_DENIED') throw new Error(`expected Denied, got ${denied}`);
gov.close();
const report = verify('evidence', { keys: ['agent.key.pub'] });
if (report.exit_code !== 0 || report.kinds.decision !== 2) throw new Error(JSON.stringify(report));
console.log(`smoke: packed lumenflow ${cjs.version} installs and works (${report.records} records verified)`);
JS
node smoke.mjs
