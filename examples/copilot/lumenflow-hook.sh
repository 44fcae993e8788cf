#!/bin/sh
# Runs LumenFlow as a GitHub Copilot CLI hook, so that the call is blocked even when
# LumenFlow itself cannot run: Copilot processes only a "deny" answer on standard output,
# so a missing or failing LumenFlow answers deny itself. Standard input (the hook event)
# passes through unchanged.
LUMENFLOW="${LUMENFLOW_BIN:-lumenflow}"
deny() {
  printf '{"permissionDecision":"deny","permissionDecisionReason":"%s"}\n' "$1"
  echo "$1" >&2
  exit 0
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
