#!/usr/bin/env bash
# The mobile library driven from Kotlin, for real, against a live server
# (issue 5): builds `jishi` and libjishi_ffi.so, generates the Kotlin and
# Swift bindings into target/bindings/, compiles Scenario.kt with the Kotlin
# bindings, seeds a fresh server (county c1 > township t1 > village v1; cadre
# u1 in v1, supervisor s1 over c1), serves it on a loopback port and runs the
# scenario. Exits with the scenario's status. Installs what is missing: JNA
# (Debian's libjna-java) and kotlinc (npm's kotlin-compiler, kept under
# target/kotlin-tools). Run from anywhere; progress goes to stderr.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../../.." && pwd)"
cd "$ROOT"
HERE="mobile-ffi/tests/kotlin"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

log() { printf '[kotlin-scenario] %s\n' "$*" >&2; }
START=$(date +%s)

TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
DEBUG="$TARGET/debug"
KOTLIN_VERSION="2.4.20"
TOOLS="$TARGET/kotlin-tools"
KOTLIN_HOME="$TOOLS/node_modules/kotlin-compiler"
JNA_JAR="${JNA_JAR:-/usr/share/java/jna.jar}"
BUILD="$TARGET/kotlin-scenario"
PASSWORD="kotlin-scenario-password" # must match Scenario.kt

# ---- tools --------------------------------------------------------------
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if [ ! -f "$JNA_JAR" ]; then
  log "installing JNA (libjna-java)"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y -qq libjna-java >&2 ||
    { $SUDO apt-get update -qq >&2 && $SUDO apt-get install -y -qq libjna-java >&2; }
fi
if [ ! -x "$KOTLIN_HOME/bin/kotlinc" ] ||
  ! grep -q "\"version\": \"$KOTLIN_VERSION\"" "$KOTLIN_HOME/package.json"; then
  log "installing kotlinc $KOTLIN_VERSION (npm kotlin-compiler) into $TOOLS"
  mkdir -p "$TOOLS"
  npm install --prefix "$TOOLS" --no-audit --no-fund --loglevel=error \
    "kotlin-compiler@$KOTLIN_VERSION" >&2
fi
COROUTINES_JAR="$(ls "$KOTLIN_HOME"/lib/kotlinx-coroutines-core-jvm*.jar 2>/dev/null | head -n 1 || true)"
[ -f "$COROUTINES_JAR" ] || { log "no kotlinx-coroutines-core-jvm jar in $KOTLIN_HOME/lib"; exit 1; }

# ---- build ----------------------------------------------------------------
# JISHI_PREBUILT=1 (set by .ci/run after `cargo test --workspace`): use the
# binaries and library that build left in target/debug instead of building
# them again with another feature set (a second build of every dependency).
if [ -n "${JISHI_PREBUILT:-}" ]; then
  log "using the prebuilt jishi, libjishi_ffi.so and uniffi-bindgen in $DEBUG"
else
  log "cargo build (debug): jishi, libjishi_ffi.so, uniffi-bindgen"
  cargo build -p backend --bin jishi
  cargo build -p mobile-ffi --lib
  cargo build -p jishi-bindgen --bin uniffi-bindgen
fi
LIBRARY="$DEBUG/libjishi_ffi.so"
[ -f "$LIBRARY" ] || LIBRARY="$DEBUG/deps/libjishi_ffi.so"
for f in "$DEBUG/jishi" "$DEBUG/uniffi-bindgen" "$LIBRARY"; do
  [ -f "$f" ] || { log "$f is missing: build it (unset JISHI_PREBUILT to let this script build)"; exit 1; }
done
BUILT=$(date +%s)

log "generating the Kotlin and Swift bindings into $TARGET/bindings"
rm -rf "$TARGET/bindings/kotlin" "$TARGET/bindings/swift"
for lang in kotlin swift; do
  "$DEBUG/uniffi-bindgen" generate --library "$LIBRARY" --language "$lang" \
    --no-format --out-dir "$TARGET/bindings/$lang" >&2
done
BINDING_KT="$TARGET/bindings/kotlin/cn/jishi/ffi/jishi.kt"
[ -f "$BINDING_KT" ] || { log "the Kotlin binding is not at $BINDING_KT"; exit 1; }
[ -f "$TARGET/bindings/swift/jishi.swift" ] || { log "no Swift binding was generated"; exit 1; }

# kotlinc takes a minute: skip it when neither source changed.
mkdir -p "$BUILD"
JAR="$BUILD/scenario.jar"
INPUTS="$(cat "$HERE/Scenario.kt" "$BINDING_KT" | sha256sum | cut -d' ' -f1) $KOTLIN_VERSION"
if [ -f "$JAR" ] && [ "$(cat "$BUILD/inputs" 2>/dev/null)" = "$INPUTS" ]; then
  log "Scenario.kt and the binding are unchanged: reusing $JAR"
else
  log "compiling Scenario.kt and the Kotlin binding (kotlinc $KOTLIN_VERSION)"
  rm -f "$JAR" "$BUILD/inputs"
  "$KOTLIN_HOME/bin/kotlinc" -nowarn -jvm-target 17 -include-runtime \
    -cp "$JNA_JAR:$COROUTINES_JAR" -d "$JAR" "$HERE/Scenario.kt" "$BINDING_KT" >&2
  echo "$INPUTS" >"$BUILD/inputs"
fi
COMPILED=$(date +%s)

# ---- a fresh server ---------------------------------------------------------
# Only this script's settings: SQLite and blobs in the fresh data folder.
for v in $(compgen -e); do
  case "$v" in JISHI_*) unset "$v" ;; esac
done
WORK="$BUILD/run"
rm -rf "$WORK"
mkdir -p "$WORK/server" "$WORK/phones"
jishi() { "$DEBUG/jishi" --data-dir "$WORK/server" "$@"; }

log "seeding units c1 > t1 > v1 and users u1 (cadre), s1 (supervisor)"
{
  jishi admin create-unit --id c1 --name 青山县 --level county
  jishi admin create-unit --id t1 --name 青山镇 --level township --parent c1
  jishi admin create-unit --id v1 --name 青山村 --level village --parent t1
  JISHI_NEW_PASSWORD="$PASSWORD" jishi admin create-user --id u1 --login u1 --name 张三 \
    --unit v1 --role cadre --post 驻村第一书记
  JISHI_NEW_PASSWORD="$PASSWORD" jishi admin create-user --id s1 --login s1 --name 李四 \
    --unit c1 --role supervisor --scope c1
} >&2

SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Port 0: the server picks a free port and prints its address. The binary
# itself, not the `jishi` function: `$!` of a backgrounded function is the
# subshell's id, and killing the subshell left the server running (issue 32).
"$DEBUG/jishi" --data-dir "$WORK/server" serve --listen 127.0.0.1:0 \
  >"$WORK/server.out" 2>"$WORK/server.log" &
SERVER_PID=$!
URL=""
for _ in $(seq 1 300); do
  URL="$(sed -n 's|^Jishi is serving on \(http://[0-9.:]*\).*|\1|p' "$WORK/server.out")"
  [ -n "$URL" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$URL" ]; then
  log "jishi serve did not start; its log:"
  cat "$WORK/server.log" >&2
  exit 1
fi
healthy=""
for _ in $(seq 1 100); do
  if curl -fsS -o /dev/null --max-time 2 "$URL/healthz" 2>/dev/null; then
    healthy=1
    break
  fi
  sleep 0.1
done
[ -n "$healthy" ] || { log "$URL/healthz did not answer 200"; tail -n 50 "$WORK/server.log" >&2; exit 1; }
log "jishi serves on $URL (pid $SERVER_PID)"

# ---- the scenario -------------------------------------------------------------
log "running the scenario"
# KOTLIN_SCENARIO_FAIL=1: the scenario is pointed at a closed port and
# fails (the cleanup test of .ci/run: the server must still be stopped).
[ -z "${KOTLIN_SCENARIO_FAIL:-}" ] || URL="http://127.0.0.1:9"
set +e
timeout 300 java -Djava.awt.headless=true -Djna.library.path="$(dirname "$LIBRARY")" \
  -cp "$JAR:$JNA_JAR:$COROUTINES_JAR" ScenarioKt "$URL" "$WORK/phones" \
  "$DEBUG/jishi" "$WORK/server"
STATUS=$?
set -e
END=$(date +%s)
if [ "$STATUS" -ne 0 ]; then
  log "the scenario FAILED (status $STATUS); the server's last log lines:"
  tail -n 40 "$WORK/server.log" >&2
fi
log "times: build $((BUILT - START)) s, bindings and kotlinc $((COMPILED - BUILT)) s," \
  "server and scenario $((END - COMPILED)) s, after the build $((END - BUILT)) s, total $((END - START)) s"
exit "$STATUS"
