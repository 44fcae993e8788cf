#!/usr/bin/env bash
# Python tests: builds the `lumenflow` wheel (debug profile, shared target dir) into a
# virtualenv under target/, then runs pytest on lumenflow-py/tests (spec/vectors included).
# Installs maturin, pytest and mypy (for the stub tests) into the virtualenv the first
# time; idempotent after that.
# Usage: ./scripts/test-python.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
venv="$CARGO_TARGET_DIR/py-venv"
wheels="$CARGO_TARGET_DIR/py-wheels"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
if ! { [ -x "$venv/bin/maturin" ] && "$venv/bin/python" -c 'import pytest, mypy' 2>/dev/null; }; then
  "$venv/bin/python" -m pip install -q --disable-pip-version-check \
    "maturin>=1.9.4,<2" "pytest>=7,<10" "mypy>=1.18,<3"
fi

rm -rf "$wheels"
"$venv/bin/maturin" build --locked --profile dev -m lumenflow-py/Cargo.toml \
  -i "$venv/bin/python" -o "$wheels"
"$venv/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps \
  "$wheels"/lumenflow-*.whl

# Run from the tests directory so that `import lumenflow` is the installed wheel, not
# the python/ source tree (which has no compiled extension).
cd lumenflow-py/tests
"$venv/bin/python" -m pytest -q -p no:cacheprovider "$@"
