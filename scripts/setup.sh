#!/usr/bin/env bash
# Sets up `lumenflow serve` on this machine in one command (idempotent: run it again and
# it changes nothing that is already right; it never replaces an existing key or policy).
#
# What it changes (all paths under --prefix, default /):
#   users   the service user (--service-user, default lumenflow; system user, no login, no
#           home) and the group of agents allowed to connect (--agent-group, default
#           lumenflow-agents); --agent-user USER is added to that group
#   etc/lumenflow/              root:SERVICE 0750  the configuration and the policy
#     serve.yaml, policy.yaml   root:SERVICE 0640  (the agent can neither read nor write them)
#     lumenflow.key             SERVICE 0600       the signing key (only the service user reads it)
#     lumenflow.key.pub         SERVICE 0644       its public key (to verify the log)
#   var/lib/lumenflow/          SERVICE 0700       evidence/ and the daemon's log
#   run/lumenflow/              SERVICE:AGENTS 0750, the socket agent.sock 0660 inside
#   etc/systemd/system/lumenflow.service          the unit (enabled and started when systemd runs)
#   PROJECT/.claude/settings.json                 with --claude-project PROJECT: Claude Code's
#                                                 hooks pointing at the socket (an existing
#                                                 file is kept as settings.json.lumenflow-backup)
#
# Usage: scripts/setup.sh [--prefix DIR] [--service-user NAME] [--agent-group NAME]
#          [--agent-user USER]... [--policy FILE] [--bin PATH] [--claude-project DIR]
#          [--no-systemd]
set -euo pipefail

prefix=/
service=lumenflow
group=lumenflow-agents
agents=()
policy=""
bin=""
claude=""
systemd=1
here="$(cd "$(dirname "$0")/.." && pwd)"

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="$2"; shift 2 ;;
    --service-user) service="$2"; shift 2 ;;
    --agent-group) group="$2"; shift 2 ;;
    --agent-user) agents+=("$2"); shift 2 ;;
    --policy) policy="$2"; shift 2 ;;
    --bin) bin="$2"; shift 2 ;;
    --claude-project) claude="$2"; shift 2 ;;
    --no-systemd) systemd=0; shift ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown argument $1 (see --help)" >&2; exit 64 ;;
  esac
done

if [ "$(id -u)" -ne 0 ]; then
  echo "setup.sh: must run as root (it creates users and sets owners)" >&2
  exit 1
fi
if [ -z "$bin" ]; then
  bin="$(command -v lumenflow || true)"
fi
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
  echo "setup.sh: no lumenflow binary (give --bin PATH or put lumenflow on PATH)" >&2
  exit 1
fi
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
if [ -z "$policy" ]; then
  policy="$here/examples/policies/software-delivery.yaml"
fi
"$bin" check --policy "$policy" >/dev/null || {
  echo "setup.sh: the policy $policy does not check clean" >&2
  exit 1
}

p="${prefix%/}"
etc="$p/etc/lumenflow"
lib="$p/var/lib/lumenflow"
run="$p/run/lumenflow"
unitdir="$p/etc/systemd/system"

say() { printf 'setup: %s\n' "$*"; }

# Users and group.
if ! getent group "$group" >/dev/null; then
  groupadd --system "$group"; say "created group $group"
fi
if ! id -u "$service" >/dev/null 2>&1; then
  useradd --system --no-create-home --home-dir "$lib" --shell /usr/sbin/nologin \
    --user-group "$service"
  say "created service user $service"
fi
# The daemon gives the socket to the agents' group: it must be a member to chown to it.
if ! id -nG "$service" | tr ' ' '\n' | grep -qx "$group"; then
  usermod -aG "$group" "$service"; say "added $service to $group (to give the socket to it)"
fi
for a in "${agents[@]}"; do
  if ! id -u "$a" >/dev/null 2>&1; then
    echo "setup.sh: agent user $a does not exist" >&2; exit 1
  fi
  if [ "$a" = "$service" ]; then
    echo "setup.sh: the agent user must not be the service user" >&2; exit 1
  fi
  if ! id -nG "$a" | tr ' ' '\n' | grep -qx "$group"; then
    usermod -aG "$group" "$a"; say "added $a to $group"
  fi
done

# Directories with their owners and modes (set every time: a changed mode is repaired).
install -d -o root -g "$service" -m 0750 "$etc"
install -d -o "$service" -g "$service" -m 0700 "$lib" "$lib/evidence"
install -d -o "$service" -g "$group" -m 0750 "$run"

if [ ! -e "$etc/policy.yaml" ]; then
  install -o root -g "$service" -m 0640 "$policy" "$etc/policy.yaml"; say "installed the policy"
fi
chown root:"$service" "$etc/policy.yaml"; chmod 0640 "$etc/policy.yaml"

if [ ! -e "$etc/lumenflow.key" ]; then
  "$bin" keygen --out "$etc/lumenflow.key" >/dev/null; say "made the signing key"
fi
chown "$service:$service" "$etc/lumenflow.key" "$etc/lumenflow.key.pub"
chmod 0600 "$etc/lumenflow.key"; chmod 0644 "$etc/lumenflow.key.pub"

config="$etc/serve.yaml"
want="$(cat <<EOF
# Written by scripts/setup.sh. The daemon reloads policy.yaml when it changes (if it checks clean).
socket: $run/agent.sock
socket_mode: "0660"
socket_group: $group
evidence: $lib/evidence
key: $etc/lumenflow.key
policies: [$etc/policy.yaml]
log: $lib/serve.log
hook:
  wait_seconds: 0
  host_approval: true
EOF
)"
if [ ! -e "$config" ]; then
  printf '%s\n' "$want" > "$config"; say "wrote $config"
fi
chown root:"$service" "$config"; chmod 0640 "$config"

install -d -m 0755 "$unitdir"
unit="$(cat <<EOF
[Unit]
Description=LumenFlow governing daemon (agents reach it only on $run/agent.sock)
After=network.target

[Service]
User=$service
Group=$service
ExecStart=$bin serve --config $config
Restart=on-failure
UMask=0077
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=read-only
PrivateTmp=yes
ReadWritePaths=$lib $run

[Install]
WantedBy=multi-user.target
EOF
)"
if [ ! -e "$unitdir/lumenflow.service" ] || [ "$(cat "$unitdir/lumenflow.service")" != "$unit" ]; then
  printf '%s\n' "$unit" > "$unitdir/lumenflow.service"; chmod 0644 "$unitdir/lumenflow.service"
  say "wrote $unitdir/lumenflow.service"
fi
if [ "$systemd" = 1 ] && [ "$p" = "" ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable --now lumenflow.service
  say "lumenflow.service enabled and started"
fi

if [ -n "$claude" ]; then
  install -d -m 0755 "$claude/.claude"
  # Unquoted inside the JSON string: setup refuses paths with spaces or quotes below.
  hook="$bin hook --client claude-code --server $run/agent.sock"
  case "$bin$run" in *[[:space:]\"\\]*) echo "setup.sh: $bin or $run has a space or quote" >&2; exit 1 ;; esac
  settings="$(sed -e "s|@HOOK@|${hook//|/\\|}|g" "$here/examples/claude-code/settings.daemon.json")"
  f="$claude/.claude/settings.json"
  if [ -e "$f" ] && [ "$(cat "$f")" != "$settings" ]; then
    cp -p "$f" "$f.lumenflow-backup"; say "kept the old $f as $f.lumenflow-backup"
  fi
  if [ ! -e "$f" ] || [ "$(cat "$f")" != "$settings" ]; then
    printf '%s\n' "$settings" > "$f"; say "wrote $f"
  fi
fi
say "done: socket $run/agent.sock, evidence $lib/evidence, public key $etc/lumenflow.key.pub"
