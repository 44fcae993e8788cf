#!/usr/bin/env bash
# Builds a release `lumenflow` wheel into its own virtualenv (target/py-bench-venv),
# installs cedarpy, and runs bench_decide.py. Figures go into benches/README.md by hand.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
venv="$CARGO_TARGET_DIR/py-bench-venv"
[ -x "$venv/bin/python" ] || "${PYTHON:-python3}" -m venv "$venv"
"$venv/bin/python" -c 'import cedarpy' 2>/dev/null && [ -x "$venv/bin/maturin" ] ||
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "maturin>=1.9.4,<2" "cedarpy>=4,<5"
rm -rf "$CARGO_TARGET_DIR/py-bench-wheels"
"$venv/bin/maturin" build --locked --release -m lumenflow-py/Cargo.toml \
  -i "$venv/bin/python" -o "$CARGO_TARGET_DIR/py-bench-wheels"
"$venv/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps \
  "$CARGO_TARGET_DIR"/py-bench-wheels/lumenflow-*.whl
cd lumenflow-py/bench && "$venv/bin/python" bench_decide.py "$@"
