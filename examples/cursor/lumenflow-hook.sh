#!/bin/sh
# Runs LumenFlow as a Cursor hook, so that the call is blocked even when LumenFlow itself
# cannot run: it then answers Cursor's deny and exits 2 (hooks.json also sets
# "failClosed": true, so a hook that fails or times out blocks). Standard input (the hook
# event) passes through unchanged.
LUMENFLOW="${LUMENFLOW_BIN:-lumenflow}"
deny() {
  printf '{"permission":"deny","user_message":"%s","agent_message":"%s"}\n' "$1" "$1"
  echo "$1" >&2
  exit 2
}
if ! command -v "$LUMENFLOW" >/dev/null 2>&1; then
  deny "LumenFlow is not installed, so this call is blocked"
fi
out=$("$LUMENFLOW" "$@")
rc=$?
if [ "$rc" -ne 0 ]; then
  deny "LumenFlow failed (exit $rc), so this call is blocked"
fi
printf '%s\n' "$out"
