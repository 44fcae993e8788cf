#!/usr/bin/env bash
# The main job: LumenFlow governing an agent's tool calls with the shipped example policy.
# Usage: ./scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --locked -q --release -p lumenflow-cli
lf="$CARGO_TARGET_DIR/release/lumenflow"
policy=examples/policies/software-delivery.yaml
ctx=$(mktemp); trap 'rm -f "$ctx"' EXIT
echo '{"worktree": "/work/repo", "allowed_hosts": ["*.github.com", "github.com"]}' > "$ctx"

echo "== Check the policy"
"$lf" check --policy "$policy"

echo
echo "== Decide what an agent proposes"
decide() {
  printf '%-62s -> ' "$1"
  "$lf" decide --policy "$policy" --context "$ctx" --action - <<<"$2"  | head -1
}
decide 'bash: cargo test'                        '{"tool":"bash","args":{"command":"cargo test"},"actor":"agent-7","session":"s-1"}'
decide 'bash: env X=1 git -C ../x reset --hard'  '{"tool":"bash","args":{"command":"env X=1 git -C ../x reset --hard"},"actor":"agent-7","session":"s-1"}'
decide "bash: bash -c 'git push -f origin main'"  '{"tool":"bash","args":{"command":"bash -c '"'"'git push -f origin main'"'"'"},"actor":"agent-7","session":"s-1"}'
decide 'bash: echo pwned >> /etc/profile'         '{"tool":"bash","args":{"command":"echo pwned >> /etc/profile"},"actor":"agent-7","session":"s-1"}'
decide 'edit: src/lib.rs'                         '{"tool":"edit","args":{"path":"src/lib.rs"},"actor":"agent-7","session":"s-1"}'
decide 'write: src/../../../etc/passwd'           '{"tool":"write","args":{"path":"src/../../../etc/passwd","content":"x"},"actor":"agent-7","session":"s-1"}'
decide 'http: POST https://example.com/upload'    '{"tool":"http","args":{"url":"https://example.com/upload","method":"POST"},"actor":"agent-7","session":"s-1"}'
decide 'write: a file containing a GitHub token'  '{"tool":"write","args":{"path":"notes.md","content":"ghp_abcdefghijklmnopqrstuvwxyz0123456789"},"actor":"agent-7","session":"s-1"}'

echo
echo "== Run the policy's own tests"
"$lf" test --policy "$policy" examples/policies/software-delivery.tests.yaml
