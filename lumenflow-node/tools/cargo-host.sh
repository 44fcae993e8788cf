#!/usr/bin/env bash
# Cargo as the napi CLI runs it (scripts/test-node.sh sets CARGO to this script).
#
# `napi build` always passes `--target <triple>`, which puts the build under
# target/<triple>/ and so compiles every dependency a second time, although
# `cargo test` has just built the same code for the same (host) triple in target/debug.
# For the host triple this builds without `--target`, reusing those artifacts, then puts
# the library where the CLI looks for it. Any other triple is passed through unchanged.
set -euo pipefail
args=()
triple=""
while [ $# -gt 0 ]; do
  if [ "$1" = "--target" ]; then
    triple=$2
    shift 2
    continue
  fi
  args+=("$1")
  shift
done
host=$(rustc -vV | sed -n 's/^host: //p')
if [ -n "$triple" ] && [ "$triple" != "$host" ]; then
  exec cargo "${args[@]}" --target "$triple"
fi
cargo "${args[@]}"
profile=debug
for a in "${args[@]}"; do
  if [ "$a" = "--release" ]; then profile=release; fi
done
target_dir=${CARGO_TARGET_DIR:?cargo-host.sh needs CARGO_TARGET_DIR}
mkdir -p "$target_dir/$host/$profile"
cp "$target_dir/$profile/liblumenflow_node.so" "$target_dir/$host/$profile/liblumenflow_node.so"
