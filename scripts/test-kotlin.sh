#!/usr/bin/env bash
# Kotlin and Swift bindings (lumenflow-ffi, uniffi): builds the library, generates the
# bindings from it (library mode), checks the Swift package sources (scripts/swift-package.sh
# --check) and runs the Kotlin JUnit 5 suite on the JVM. Installs what it needs (JDK, JNA,
# JUnit 5, Gson from Debian; the Kotlin compiler from npm), skipping what is present.
# Usage: ./scripts/test-kotlin.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
KOTLIN_VERSION=2.4.20
TOOLS="$CARGO_TARGET_DIR/ffi-tools"
OUT="$CARGO_TARGET_DIR/ffi-kotlin"
JAVA_LIBS=/usr/share/java
start=$(date +%s)

# --- tools ---------------------------------------------------------------------------
need_apt=()
command -v javac >/dev/null || need_apt+=(default-jdk-headless)
[ -f "$JAVA_LIBS/jna.jar" ] || need_apt+=(libjna-java)
[ -f "$JAVA_LIBS/junit-platform-console-standalone.jar" ] || need_apt+=(junit5)
[ -f "$JAVA_LIBS/gson.jar" ] || need_apt+=(libgoogle-gson-java)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing ${need_apt[*]} (apt)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
KOTLIN_HOME="$TOOLS/node_modules/kotlin-compiler"
if [ "$(cat "$KOTLIN_HOME/build.txt" 2>/dev/null)" != "$KOTLIN_VERSION" ]; then
  echo "installing kotlin-compiler@$KOTLIN_VERSION (npm) into $TOOLS"
  mkdir -p "$TOOLS"
  npm install --silent --no-audit --no-fund --prefix "$TOOLS" "kotlin-compiler@$KOTLIN_VERSION" >/dev/null
fi

# --- library and bindings ------------------------------------------------------------
# The generator first (behind the `bindgen` feature), then the plain library it reads:
# bindings come from the unstripped debug cdylib's metadata.
cargo build --locked -q -p lumenflow-ffi --features bindgen --bin uniffi-bindgen
cargo build --locked -q -p lumenflow-ffi --lib
LIB="$CARGO_TARGET_DIR/debug/liblumenflow_ffi.so"

./scripts/swift-package.sh --check --lib "$LIB"

rm -rf "$OUT/src"
"$CARGO_TARGET_DIR/debug/uniffi-bindgen" generate --no-format --library "$LIB" \
  --language kotlin --out-dir "$OUT/src" >/dev/null

# --- compile (skipped when the sources are unchanged) --------------------------------
CP="$JAVA_LIBS/jna.jar:$JAVA_LIBS/junit-jupiter-api.jar:$JAVA_LIBS/opentest4j.jar:$JAVA_LIBS/junit-platform-commons.jar:$JAVA_LIBS/apiguardian-api.jar:$JAVA_LIBS/gson.jar"
SOURCES=("$OUT/src/lumenflow/lumenflow.kt" lumenflow-ffi/kotlin/test/*.kt)
stamp=$(cat "${SOURCES[@]}" | sha256sum | cut -d' ' -f1)-$KOTLIN_VERSION
if [ "$(cat "$OUT/classes.stamp" 2>/dev/null)" != "$stamp" ]; then
  echo "compiling the Kotlin bindings and tests (kotlinc $KOTLIN_VERSION)"
  rm -rf "$OUT/classes"
  JAVA_OPTS="${JAVA_OPTS:--Xmx1g}" "$KOTLIN_HOME/bin/kotlinc" -nowarn -jvm-target 17 \
    -cp "$CP" -d "$OUT/classes" "${SOURCES[@]}"
  echo "$stamp" > "$OUT/classes.stamp"
fi

# --- run -------------------------------------------------------------------------------
status=0
java -Djna.library.path="$(dirname "$LIB")" -Dlumenflow.root="$ROOT" \
  -jar "$JAVA_LIBS/junit-platform-console-standalone.jar" \
  -cp "$OUT/classes:$KOTLIN_HOME/lib/kotlin-stdlib.jar:$JAVA_LIBS/jna.jar:$JAVA_LIBS/gson.jar" \
  --select-package lumenflow --fail-if-no-tests --disable-banner --disable-ansi-colors \
  --details=tree --reports-dir "$OUT/reports" | tee "$OUT/junit.log" || status=$?
passed=$(sed -nE 's/^\[ *([0-9]+) tests successful *\]$/\1/p' "$OUT/junit.log")
failed=$(sed -nE 's/^\[ *([0-9]+) tests failed *\]$/\1/p' "$OUT/junit.log")
echo "kotlin and swift bindings: done in $(( $(date +%s) - start ))s"
echo "kotlin junit: ${passed:-0} passed, ${failed:-0} failed"
exit "$status"
