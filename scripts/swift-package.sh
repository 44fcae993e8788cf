#!/usr/bin/env bash
# Generates the Swift package sources of lumenflow-ffi (lumenflow-ffi/swift/): the Swift
# file, the C header and module maps, from the built library (uniffi library mode).
#
#   ./scripts/swift-package.sh                  release library + sources (Linux or macOS)
#   ./scripts/swift-package.sh --xcframework    also LumenFlowFFI.xcframework (macOS + Xcode)
#   ./scripts/swift-package.sh --check --lib L  sources from library L, then check what can
#                                               be checked without a Swift toolchain
#
# --check: the header compiles (gcc, and clang if present, -Wall -Werror); every function
# it declares is exported by the library (nm -D) and links; and a C program loads the
# library and finds the contract version and every API checksum the Swift file expects
# (the checks the Swift bindings make when they first call the library).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
PKG=lumenflow-ffi/swift
check=0 xcframework=0 lib=""
while [ $# -gt 0 ]; do
  case "$1" in
    --check) check=1 ;;
    --xcframework) xcframework=1 ;;
    --lib) lib="$2"; shift ;;
    *) echo "usage: $0 [--check] [--lib LIBRARY] [--xcframework]" >&2; exit 64 ;;
  esac
  shift
done

ext=so; [ "$(uname)" = Darwin ] && ext=dylib
if [ -z "$lib" ]; then
  cargo build --locked -q --release -p lumenflow-ffi --lib
  lib="$CARGO_TARGET_DIR/release/liblumenflow_ffi.$ext"
fi
cargo build --locked -q -p lumenflow-ffi --features bindgen --bin uniffi-bindgen
bindgen="$CARGO_TARGET_DIR/debug/uniffi-bindgen"

gen=$(mktemp -d)
trap 'rm -rf "$gen"' EXIT
"$bindgen" generate --no-format --library "$lib" --language swift --out-dir "$gen" >/dev/null
mkdir -p "$PKG/Sources/LumenFlow" "$PKG/Sources/LumenFlowFFI/include"
cp "$gen/LumenFlow.swift" "$PKG/Sources/LumenFlow/LumenFlow.swift"
cp "$gen/LumenFlowFFI.h" "$PKG/Sources/LumenFlowFFI/include/LumenFlowFFI.h"
# uniffi's module map, for the XCFramework (the static library is linked by SwiftPM).
cp "$gen/LumenFlowFFI.modulemap" "$PKG/Sources/LumenFlowFFI/include/LumenFlowFFI.modulemap"
# The system-library module map used on Linux: links liblumenflow_ffi.so.
cat > "$PKG/Sources/LumenFlowFFI/module.modulemap" <<'EOF'
module LumenFlowFFI {
    header "include/LumenFlowFFI.h"
    link "lumenflow_ffi"
    export *
}
EOF
echo "swift: sources generated in $PKG/Sources from $lib"

if [ "$xcframework" -eq 1 ]; then
  # Static libraries per Apple platform, then one XCFramework (needs macOS with Xcode).
  targets=(aarch64-apple-darwin x86_64-apple-darwin aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios)
  rustup target add "${targets[@]}"
  for t in "${targets[@]}"; do
    cargo rustc --locked --release -p lumenflow-ffi --lib --target "$t" --crate-type staticlib
  done
  r="$CARGO_TARGET_DIR"
  mkdir -p "$r/xc/macos" "$r/xc/ios-sim"
  lipo -create "$r/aarch64-apple-darwin/release/liblumenflow_ffi.a" \
    "$r/x86_64-apple-darwin/release/liblumenflow_ffi.a" -output "$r/xc/macos/liblumenflow_ffi.a"
  lipo -create "$r/aarch64-apple-ios-sim/release/liblumenflow_ffi.a" \
    "$r/x86_64-apple-ios/release/liblumenflow_ffi.a" -output "$r/xc/ios-sim/liblumenflow_ffi.a"
  headers="$gen/headers"
  mkdir -p "$headers"
  cp "$gen/LumenFlowFFI.h" "$headers/"
  cp "$gen/LumenFlowFFI.modulemap" "$headers/module.modulemap"
  rm -rf "$PKG/LumenFlowFFI.xcframework"
  xcodebuild -create-xcframework \
    -library "$r/xc/macos/liblumenflow_ffi.a" -headers "$headers" \
    -library "$r/aarch64-apple-ios/release/liblumenflow_ffi.a" -headers "$headers" \
    -library "$r/xc/ios-sim/liblumenflow_ffi.a" -headers "$headers" \
    -output "$PKG/LumenFlowFFI.xcframework"
  echo "swift: $PKG/LumenFlowFFI.xcframework"
fi

[ "$check" -eq 1 ] || exit 0

# --- checks that need no Swift toolchain ---------------------------------------------
inc="$PKG/Sources/LumenFlowFFI/include"
swift="$PKG/Sources/LumenFlow/LumenFlow.swift"
printf '#include "LumenFlowFFI.h"\n' > "$gen/header.c"
# The header is written for clang (Swift's importer); gcc does not know clang's
# nullability qualifiers, which are annotations only.
gcc -std=c11 -Wall -Wextra -Werror -pedantic -D_Nonnull= -D_Nullable= -I "$inc" \
  -aux-info "$gen/decls.txt" -fsyntax-only "$gen/header.c"
if command -v clang >/dev/null; then
  clang -std=c11 -Wall -Wextra -Werror -Wno-nullability-extension -I "$inc" -fsyntax-only "$gen/header.c"
fi
grep 'LumenFlowFFI.h:' "$gen/decls.txt" | sed -E 's/^.* ([A-Za-z_][A-Za-z0-9_]*) \(.*$/\1/' | sort -u > "$gen/declared.txt"
nm -D --defined-only "$lib" | awk '$2 == "T" {print $3}' | sort -u > "$gen/exported.txt"
declared=$(wc -l < "$gen/declared.txt")
missing=$(comm -23 "$gen/declared.txt" "$gen/exported.txt")
if [ -n "$missing" ]; then
  echo "swift check: declared in LumenFlowFFI.h but not exported by $lib:" >&2
  echo "$missing" >&2
  exit 1
fi
[ "$declared" -ge 50 ] || { echo "swift check: only $declared declarations found" >&2; exit 1; }

# A C program that references every declared function (so it links only if all resolve)
# and checks the contract version and the checksums the Swift file expects.
contract=$(sed -nE 's/^ *let bindings_contract_version = ([0-9]+).*/\1/p' "$swift")
version_fn=$(grep -oE 'ffi_[a-z_]+_uniffi_contract_version' "$swift" | head -1)
grep -oE 'if \((uniffi_[a-z0-9_]+_checksum_[a-z0-9_]+)\(\) != ([0-9]+)\)' "$swift" \
  | sed -E 's/if \(([a-z0-9_]+)\(\) != ([0-9]+)\)/\1 \2/' > "$gen/checksums.txt"
checksums=$(wc -l < "$gen/checksums.txt")
[ -n "$contract" ] && [ -n "$version_fn" ] && [ "$checksums" -ge 20 ] \
  || { echo "swift check: contract version or checksums not found in $swift" >&2; exit 1; }
{
  echo '#include <stdio.h>'
  echo '#include "LumenFlowFFI.h"'
  echo 'static void *const symbols[] = {'
  sed 's/.*/    (void *)\&&,/' "$gen/declared.txt"
  echo '};'
  echo 'int main(void) {'
  echo '    int bad = 0;'
  echo "    if ($version_fn() != $contract) { fprintf(stderr, \"contract version %u, Swift expects $contract\\n\", (unsigned)$version_fn()); bad = 1; }"
  while read -r fn sum; do
    echo "    if ($fn() != $sum) { fprintf(stderr, \"$fn: %u, Swift expects $sum\\n\", (unsigned)$fn()); bad = 1; }"
  done < "$gen/checksums.txt"
  echo '    printf("swift check: %zu functions linked, contract version and '"$checksums"' checksums %s\n", sizeof symbols / sizeof *symbols, bad ? "DIFFER" : "match");'
  echo '    return bad;'
  echo '}'
} > "$gen/abi.c"
libdir=$(dirname "$lib")
gcc -std=c11 -Wall -Werror -D_Nonnull= -D_Nullable= -I "$inc" "$gen/abi.c" -o "$gen/abi" \
  -L "$libdir" -llumenflow_ffi -Wl,-rpath,"$libdir"
"$gen/abi"
echo "swift check: header compiles; all $declared declared functions exported by $(basename "$lib")"
