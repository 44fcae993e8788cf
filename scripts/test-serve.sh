#!/usr/bin/env bash
# The daemon with real OS users (issue 13): scripts/setup.sh (into a temp --prefix,
# --no-systemd) creates a service user and puts a fresh agent user in the agents' group;
# the daemon runs as the service user; the agent's commands run AS THE AGENT USER
# (runuser). Asserts the agent cannot read the key, write the policy or the evidence,
# approve over the socket, or kill the daemon; that it can decide and record; that
# `lumenflow hook --server` allows an allowed call and blocks a denied one; and that the
# hook fails closed (daemon stopped, a socket that never answers, a socket that answers
# garbage). Needs root (it creates users; names are unique per run, removed at the end).
# Usage: ./scripts/test-serve.sh   (LUMENFLOW_BIN=path to use a built binary)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
start=$(date +%s)
if [ "$(id -u)" -ne 0 ]; then
  echo "test-serve: must run as root (it creates OS users)" >&2; exit 1
fi
if [ -z "${LUMENFLOW_BIN:-}" ]; then
  cargo build --locked -q -p lumenflow-cli
  LUMENFLOW_BIN="$CARGO_TARGET_DIR/debug/lumenflow"
fi

fails=0
pass() { printf 'test-serve: ok   %s\n' "$*"; }
fail() { printf 'test-serve: FAIL %s\n' "$*" >&2; fails=$((fails + 1)); }

tag="$$$(date +%N | cut -c1-4)"
service="lfsvc$tag"; agent="lfagt$tag"; group="lfgrp$tag"
prefix="$(mktemp -d /tmp/lf-serve-XXXXXX)"; chmod 0755 "$prefix"
daemon_pid=""
cleanup() {
  [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null || true
  [ -n "${silent_pid:-}" ] && kill "$silent_pid" 2>/dev/null || true
  userdel "$agent" 2>/dev/null || true
  userdel "$service" 2>/dev/null || true
  groupdel "$group" 2>/dev/null || true
  rm -rf "$prefix"
}
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap - EXIT

# The service user must be able to run the binary: link (or copy) it where anyone can.
install -d -m 0755 "$prefix/bin"
ln "$LUMENFLOW_BIN" "$prefix/bin/lumenflow" 2>/dev/null || cp "$LUMENFLOW_BIN" "$prefix/bin/lumenflow"
chmod 0755 "$prefix/bin/lumenflow"
bin="$prefix/bin/lumenflow"
useradd --no-create-home --home-dir "$prefix/home-$agent" --shell /bin/sh "$agent"
install -d -o "$agent" -m 0700 "$prefix/home-$agent"
install -d -o "$agent" -m 0755 "$prefix/project"

setup=(./scripts/setup.sh --prefix "$prefix" --service-user "$service" --agent-group "$group"
  --agent-user "$agent" --bin "$bin" --no-systemd --claude-project "$prefix/project")
"${setup[@]}" >"$prefix/setup1.out"
second="$("${setup[@]}")"
if [ "$(printf '%s\n' "$second" | grep -vc '^setup: done')" = 0 ]; then
  pass "setup.sh is idempotent (the second run changed nothing)"
else
  fail "setup.sh second run changed things: $second"
fi
python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$prefix/project/.claude/settings.json" \
  && grep -q -- "--server $prefix/run/lumenflow/agent.sock" "$prefix/project/.claude/settings.json" \
  && pass "setup.sh wrote Claude Code settings (valid JSON) pointing at the socket" \
  || fail "Claude Code settings missing, invalid or not pointing at the socket"

etc="$prefix/etc/lumenflow"; lib="$prefix/var/lib/lumenflow"; sock="$prefix/run/lumenflow/agent.sock"
start_daemon() {
  setpriv --reuid="$service" --regid="$service" --init-groups \
    "$bin" serve --config "$etc/serve.yaml" >>"$prefix/daemon.out" 2>&1 &
  daemon_pid=$!
  for _ in $(seq 100); do
    [ -S "$sock" ] && python3 -c "import socket,sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])" "$sock" 2>/dev/null && return 0
    sleep 0.1
  done
  cat "$prefix/daemon.out" >&2; fail "the daemon did not open $sock"; exit 1
}
stop_daemon() { kill "$daemon_pid"; wait "$daemon_pid" 2>/dev/null || true; daemon_pid=""; }
start_daemon
as_agent() { runuser -u "$agent" -- env HOME="$prefix/home-$agent" "$@"; }
# One raw exchange on the socket as the agent: hello, then each JSON line given; prints
# the replies (one a line).
raw() {
  as_agent python3 - "$sock" "$@" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])
f = s.makefile("rwb")
for line in ['{"id":1,"op":"hello"}'] + sys.argv[2:]:
    f.write(line.encode() + b"\n"); f.flush()
    print(f.readline().decode().strip())
EOF
}

# The HTTP API for people: an approver registry declaring the daemon's key an attester, and
# one person whose secret nobody here knows (a random Argon2id PHC string).
key_id="$(raw | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["result"]["key_id"])')"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
alice="$(sed -n 's/^key //p' <<<"$("$bin" keygen --out "$prefix/alice2.key")")"
printf 'version: 1\napprovers:\n  - {id: alice, roles: [lead], keys: [%s]}\nattesters:\n  - {key: %s, methods: [password]}\n' \
  "$alice" "$key_id" > "$etc/registry.yaml"
chown root:"$service" "$etc/registry.yaml"; chmod 0640 "$etc/registry.yaml"
phc="$(python3 -c 'import base64,os; b=lambda n: base64.b64encode(os.urandom(n)).decode().rstrip("="); print("$argon2id$v=19$m=19456,t=2,p=1$"+b(16)+"$"+b(32))')"
printf "registry: %s\nhttp:\n  listen: 127.0.0.1:%s\n  people:\n    - {id: alice, secret_hash: '%s'}\n" \
  "$etc/registry.yaml" "$port" "$phc" >> "$etc/serve.yaml"
stop_daemon; start_daemon
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/api/session" && break; sleep 0.1; done

# --- what the agent cannot do ---------------------------------------------------------
as_agent cat "$etc/lumenflow.key" >/dev/null 2>&1 && fail "the agent read the key" \
  || pass "the agent cannot read the signing key"
as_agent sh -c "echo 'default: allow' >> '$etc/policy.yaml'" 2>/dev/null && fail "the agent wrote the policy" \
  || pass "the agent cannot write the policy"
as_agent sh -c "echo x > '$lib/evidence/forged.jsonl'" 2>/dev/null && fail "the agent wrote into the evidence" \
  || pass "the agent cannot write the evidence"
as_agent ls "$lib/evidence" >/dev/null 2>&1 && fail "the agent listed the evidence" \
  || pass "the agent cannot list the evidence"

# --- what it can do: decide and record over the socket --------------------------------
out="$(raw '{"id":2,"op":"decide","action":{"tool":"bash","args":{"command":"ls"},"actor":"root"}}')"
decided="$(printf '%s\n' "$out" | sed -n 2p)"
id="$(printf '%s' "$decided" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["result"]["id"] if r.get("ok") and r["result"]["verdict"]=="allow" else "")')"
logged="$(raw '{"id":2,"op":"log"}' | sed -n 2p)"
if [ -n "$id" ] && printf '%s' "$logged" | grep -q "\"actor\":{\"id\":\"unix:$agent\"" \
  && ! printf '%s' "$logged" | grep -q '"id":"root"'; then
  pass "the agent decides over the socket (allow, actor unix:$agent, not the actor it claimed)"
else
  fail "decide over the socket: $decided / log: $logged"
fi
rec="$(raw "{\"id\":3,\"op\":\"record\",\"decision\":\"$id\",\"outcome\":{\"status\":\"success\"}}" | sed -n 2p)"
printf '%s' "$rec" | grep -q '"ok":true' && pass "the agent records its outcome over the socket" \
  || fail "record over the socket: $rec"

# --- approving through the socket is refused -------------------------------------------
ask="$(raw '{"id":2,"op":"decide","action":{"tool":"bash","args":{"command":"git push origin main"}}}' | sed -n 2p)"
req="$(printf '%s' "$ask" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r.get("result",{}).get("request_id") or "")')"
for op in approve vote override; do
  r="$(raw "{\"id\":4,\"op\":\"$op\",\"request\":\"$req\",\"reason\":\"me\"}" | sed -n 2p)"
  printf '%s' "$r" | grep -q '"code":"forbidden"' && pass "op $op on the socket is refused (forbidden)" \
    || fail "op $op on the socket: $r"
done
for body in '{"approve":true,"reason":"me"}' '{"decision":"approve","reason":"me"}'; do
  code="$(as_agent curl -s -o /dev/null -w '%{http_code}' -X POST -H 'content-type: application/json' \
    -H "origin: http://127.0.0.1:$port" --data "$body" "http://127.0.0.1:$port/api/requests/$req/vote")"
  case "$code" in 401|403) pass "HTTP vote with no credential is refused ($code)" ;;
    *) fail "HTTP vote with no credential answered $code" ;; esac
done
code="$(as_agent curl -s -o /dev/null -w '%{http_code}' -X POST -H 'content-type: application/json' \
  -H "origin: http://127.0.0.1:$port" --data '{"id":"alice","secret":"guess"}' "http://127.0.0.1:$port/api/login")"
case "$code" in 401|403|429) pass "HTTP login with a guessed secret is refused ($code)" ;;
  *) fail "HTTP login with a guessed secret answered $code" ;; esac
if [ -n "$req" ]; then
  st="$(raw "{\"id\":5,\"op\":\"request\",\"request\":\"$req\"}" | sed -n 2p)"
  printf '%s' "$st" | grep -q '"state":"pending"' && pass "the request $req is still pending after the attempts" \
    || fail "request $req after the approval attempts: $st"
else
  fail "git push did not open a request: $ask"
fi

# --- it cannot stop the daemon ---------------------------------------------------------
for sig in TERM KILL; do
  as_agent kill -s "$sig" "$daemon_pid" 2>/dev/null && fail "the agent sent SIG$sig to the daemon" \
    || pass "the agent cannot send SIG$sig to the daemon"
done
sleep 0.2
raw | grep -q '"ok":true' && kill -0 "$daemon_pid" && pass "the daemon still answers" \
  || fail "the daemon no longer answers"

# --- the Claude Code hook through the daemon, as the agent -----------------------------
payload() {
  printf '{"session_id":"s1","transcript_path":"/dev/null","cwd":"%s","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"%s"},"tool_use_id":"t%s"}' \
    "$prefix/project" "$1" "$RANDOM"
}
hook() { # socket, command -> prints "exit|stdout"
  local o rc=0
  o="$(payload "$2" | as_agent env CLAUDE_PROJECT_DIR="$prefix/project" "$bin" hook --client claude-code \
    --server "$1" --timeout-ms 1000 2>/dev/null)" || rc=$?
  printf '%s|%s' "$rc" "$o"
}
blocked() { # the hook's answer is Claude Code's blocking form: exit 2, or a deny decision
  case "$1" in 2\|*) return 0 ;; 0\|*'"permissionDecision":"deny"'*) return 0 ;; *) return 1 ;; esac
}
a="$(hook "$sock" "ls -la")"
case "$a" in 0\|*'"permissionDecision":"allow"'*) pass "hook --server: ls is allowed" ;;
  *) fail "hook --server on ls: $a" ;; esac
a="$(hook "$sock" "rm -rf /")"
blocked "$a" && pass "hook --server: rm -rf / is blocked" || fail "hook --server on rm -rf /: $a"

# --- the hook fails closed ---------------------------------------------------------------
a="$(hook "$prefix/none.sock" "ls")"
blocked "$a" && pass "hook with no daemon (no socket) blocks" || fail "hook with no daemon: $a"
# A socket that accepts and never answers; one that answers garbage.
python3 - "$prefix" <<'EOF' &
import os, socket, sys, threading
def serve(path, garbage):
    s = socket.socket(socket.AF_UNIX); s.bind(path); os.chmod(path, 0o777); s.listen(16)
    held = []
    while True:
        c, _ = s.accept(); held.append(c)
        if garbage:
            c.recv(65536); c.sendall(b"this is not json\n{\"id\":1,\"ok\":true}\n")
for p, g in (("silent.sock", False), ("garbage.sock", True)):
    threading.Thread(target=serve, args=(os.path.join(sys.argv[1], p), g), daemon=True).start()
threading.Event().wait()
EOF
silent_pid=$!
for _ in $(seq 50); do [ -S "$prefix/garbage.sock" ] && [ -S "$prefix/silent.sock" ] && break; sleep 0.1; done
t0=$(date +%s%N)
a="$(hook "$prefix/silent.sock" "ls")"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
blocked "$a" && pass "hook on a socket that never answers blocks (after ${ms} ms, --timeout-ms 1000)" \
  || fail "hook on a silent socket: $a"
a="$(hook "$prefix/garbage.sock" "ls")"
blocked "$a" && pass "hook on a socket that answers garbage blocks" || fail "hook on a garbage socket: $a"
# --- policy reload: a bad policy keeps the old one and says why; a clean one is used -----
verdict() { raw "{\"id\":2,\"op\":\"decide\",\"action\":{\"tool\":\"bash\",\"args\":{\"command\":\"$1\"}}}" | sed -n 2p \
  | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["result"]["verdict"] if r.get("ok") else "error")'; }
cp -p "$etc/policy.yaml" "$prefix/policy.good"
printf 'version: 1\nname: broken\ndefault: allow\nrules:\n  - id: x\n    effect: allow\n    when: action.tool ==\n' > "$etc/policy.yaml"
for _ in $(seq 50); do grep -q "changed policy rejected" "$lib/serve.log" 2>/dev/null && break; sleep 0.1; done
grep -q "changed policy rejected, keeping software-delivery" "$lib/serve.log" \
  && grep -rq '"policy_rejected"' "$lib/evidence" \
  && [ "$(verdict 'rm -rf /')" = deny ] \
  && pass "a bad policy is rejected: old one kept, daemon log and a policy_rejected record say why" \
  || fail "bad policy reload: $(tail -3 "$lib/serve.log")"
printf 'version: 1\nname: lockdown\ndefault: deny\nrules:\n  - id: only-pwd\n    effect: allow\n    when: action.tool == "bash" && action.args.command == "pwd"\n' > "$etc/policy.yaml"
for _ in $(seq 50); do grep -q "policy reloaded: lockdown" "$lib/serve.log" 2>/dev/null && break; sleep 0.1; done
[ "$(verdict ls)" = deny ] && [ "$(verdict pwd)" = allow ] \
  && grep -rq '"policy_reload"' "$lib/evidence" \
  && pass "a changed policy that checks clean is used (ls now denied, pwd allowed; policy_reload recorded)" \
  || fail "clean policy reload: $(tail -3 "$lib/serve.log")"

# --- SIGKILL under load: 8 concurrent agent connections decide+record; the daemon is
# killed mid-run and restarted; every record acknowledged before the kill is in the log.
cp -p "$prefix/policy.good" "$etc/policy.yaml"
for _ in $(seq 50); do grep -q "policy reloaded: software-delivery" "$lib/serve.log" 2>/dev/null && break; sleep 0.1; done
as_agent python3 - "$sock" "$prefix/home-$agent/acked" <<'PY' &
import json, socket, sys, threading
path, out = sys.argv[1], sys.argv[2]
acked, lock = [], threading.Lock()
def client(n):
    try:
        s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(path)
        f = s.makefile("rwb"); i = 0
        def call(req):
            nonlocal i
            i += 1; req["id"] = i
            f.write(json.dumps(req).encode() + b"\n"); f.flush()
            r = json.loads(f.readline())
            if not r.get("ok"): raise RuntimeError(r)
            return r["result"]
        call({"op": "hello"})
        while True:
            d = call({"op": "decide", "action": {"tool": "bash", "args": {"command": "pwd"}, "session": f"load-{n}"}})
            with lock: acked.append(d["hash"])
            r = call({"op": "record", "decision": d["id"], "outcome": {"status": "success"}})
            with lock: acked.append(r["hash"])
    except Exception:
        pass  # the daemon was killed: what was acknowledged is written below
ts = [threading.Thread(target=client, args=(n,)) for n in range(8)]
[t.start() for t in ts]; [t.join() for t in ts]
open(out, "w").write("\n".join(acked) + "\n")
PY
load_pid=$!
sleep 1.5
kill -KILL "$daemon_pid"; wait "$daemon_pid" 2>/dev/null || true; daemon_pid=""
wait "$load_pid" || true
n_acked=$(grep -c . "$prefix/home-$agent/acked" || true)
start_daemon
missing=0
while read -r h; do grep -rqF "\"hash\":\"$h\"" "$lib/evidence" || missing=$((missing + 1)); done < "$prefix/home-$agent/acked"
if [ "$n_acked" -gt 50 ] && [ "$missing" = 0 ] && raw | grep -q '"ok":true'; then
  pass "SIGKILL under load (8 clients): all $n_acked acknowledged records are in the log after restart"
else
  fail "SIGKILL under load: $n_acked acknowledged, $missing missing after restart"
fi
"$bin" verify --key "$etc/lumenflow.key.pub" "$lib/evidence" >/dev/null 2>&1 \
  && pass "lumenflow verify passes after the SIGKILL and restart" || fail "verify failed after the SIGKILL"

stop_daemon
a="$(hook "$sock" "ls")"
blocked "$a" && pass "hook with the daemon stopped blocks" || fail "hook with the daemon stopped: $a"

# The log the daemon wrote verifies.
"$bin" verify --key "$etc/lumenflow.key.pub" "$lib/evidence" >/dev/null 2>&1 \
  && pass "lumenflow verify passes on the daemon's evidence" || fail "verify failed on the daemon's evidence"

echo "test-serve: done in $(( $(date +%s) - start )) s, $fails failure(s)"
[ "$fails" = 0 ]
