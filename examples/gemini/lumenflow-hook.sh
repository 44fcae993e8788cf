#!/bin/sh
# Runs LumenFlow as a Gemini CLI hook, so that the call is blocked even when LumenFlow
# itself cannot run. Gemini CLI blocks a tool call on exit code 2 (stderr is the reason): any other
# non-zero exit (127 for a missing binary, 101 for a crash) is a non-blocking error and
# the tool would run. Standard input (the hook event) passes through unchanged.
LUMENFLOW="${LUMENFLOW_BIN:-lumenflow}"
if ! command -v "$LUMENFLOW" >/dev/null 2>&1; then
  echo "LumenFlow is not installed ($LUMENFLOW not found), so this tool call is blocked" >&2
  exit 2
fi
"$LUMENFLOW" "$@"
rc=$?
if [ "$rc" -ne 0 ]; then
  echo "LumenFlow failed (exit $rc), so this tool call is blocked" >&2
  exit 2
fi
