#!/usr/bin/env bash
# Benchmarks of `lumenflow serve` (issue 13): fills a daemon's log with RECORDS records
# (decide+record pairs over the socket from 16 concurrent connections, which is also the
# throughput figure), then times CALLS runs of the Claude Code hook in daemon mode
# (`lumenflow hook --client claude-code --server SOCKET`, process start included) and
# prints p50/p99. Runs as the current user in a temp dir (no OS users needed).
# Usage: benches/serve_hook.sh [RECORDS=100000] [CALLS=500]
#   LUMENFLOW_BIN=target/release/lumenflow (default; build it with
#   cargo build --release -p lumenflow-cli)
set -euo pipefail
cd "$(dirname "$0")/.."
records="${1:-100000}"; calls="${2:-500}"
bin="${LUMENFLOW_BIN:-${CARGO_TARGET_DIR:-target}/release/lumenflow}"
[ -x "$bin" ] || { echo "serve_hook: no binary $bin (cargo build --release -p lumenflow-cli)" >&2; exit 1; }
d="$(mktemp -d)"; trap 'kill $pid 2>/dev/null && wait $pid 2>/dev/null; rm -rf "$d"' EXIT
"$bin" keygen --out "$d/k.key" >/dev/null
printf 'socket: %s/s.sock\nevidence: %s/ev\nkey: %s/k.key\npolicies: [%s]\nlog: %s/serve.log\n' \
  "$d" "$d" "$d" "$PWD/examples/policies/software-delivery.yaml" "$d" > "$d/serve.yaml"
"$bin" serve --config "$d/serve.yaml" >"$d/out" 2>&1 & pid=$!
for _ in $(seq 100); do [ -S "$d/s.sock" ] && break; sleep 0.1; done
python3 - "$d/s.sock" "$records" <<'PY'
import json, socket, sys, threading, time
path, total = sys.argv[1], int(sys.argv[2])
pairs = total // 2 // 16
def client(n):
    s = socket.socket(socket.AF_UNIX); s.connect(path); f = s.makefile("rwb")
    def call(i, req):
        req["id"] = i; f.write(json.dumps(req).encode() + b"\n"); f.flush()
        r = json.loads(f.readline()); assert r.get("ok"), r; return r["result"]
    call(0, {"op": "hello"})
    for i in range(pairs):
        d = call(2 * i + 1, {"op": "decide", "action": {"tool": "bash", "args": {"command": "ls"}, "session": f"b{n}"}})
        call(2 * i + 2, {"op": "record", "decision": d["id"], "outcome": {"status": "success"}})
t0 = time.time()
ts = [threading.Thread(target=client, args=(n,)) for n in range(16)]
[t.start() for t in ts]; [t.join() for t in ts]
dt = time.time() - t0
print(f"socket decide+record, 16 clients: {pairs*16} pairs ({pairs*32} records) in {dt:.1f} s = {pairs*16/dt:.0f} pairs/s")
PY
payload='{"session_id":"s","transcript_path":"/dev/null","cwd":"'"$d"'","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"ls"},"tool_use_id":"t"}'
python3 - "$bin" "$d/s.sock" "$calls" "$payload" "$d" <<'PY'
import os, subprocess, sys, time
bin, sock, n, payload, d = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
env = dict(os.environ, CLAUDE_PROJECT_DIR=d, XDG_RUNTIME_DIR=d)
ts = []
for i in range(n):
    t0 = time.perf_counter()
    p = subprocess.run([bin, "hook", "--client", "claude-code", "--server", sock],
                       input=payload.replace('"t"', f'"t{i}"').encode(), capture_output=True, env=env)
    ts.append((time.perf_counter() - t0) * 1000)
    assert p.returncode == 0 and b'"allow"' in p.stdout, (p.returncode, p.stdout, p.stderr)
ts.sort()
print(f"hook round trip (process start included), {n} calls: p50 {ts[n//2]:.2f} ms, p99 {ts[int(n*0.99)]:.2f} ms")
PY
echo "log: $(find "$d/ev" -type f -name '*.jsonl' -exec cat {} + | wc -l) records"
