#!/usr/bin/env bash
# The supervisors' web pages in a real browser (issue 6): runs `jishi demo`
# on a loopback port in a fresh folder (a small county populated through the
# real sync and photo upload), then scenario.mjs drives headless Chromium
# (Debian's chromium through npm's playwright-core) as a township leader.
# Screenshots go to target/browser-screenshots/. Installs what is missing
# (apt chromium; playwright-core under target/browser-tools). Progress goes
# to stderr; exits with the scenario's status.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
HERE="tests/browser"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
TOOLS="$TARGET/browser-tools"
SHOTS="$TARGET/browser-screenshots"
WORK="$TARGET/browser-demo"
PW_VERSION="1.65.1"
log() { printf '[browser-test] %s\n' "$*" >&2; }

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if [ ! -x /usr/bin/chromium ]; then
  log "installing chromium (apt)"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y -qq chromium >&2 ||
    { $SUDO apt-get update -qq >&2 && $SUDO apt-get install -y -qq chromium >&2; }
fi
# Chinese glyphs for the screenshots (the pages name no font the machine lacks).
if ! fc-list :lang=zh 2>/dev/null | grep -q .; then
  log "installing a Chinese font (fonts-wqy-zenhei)"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y -qq fonts-wqy-zenhei >&2 ||
    { $SUDO apt-get update -qq >&2 && $SUDO apt-get install -y -qq fonts-wqy-zenhei >&2; }
fi
if [ ! -f "$TOOLS/node_modules/playwright-core/package.json" ] ||
  ! grep -q "\"version\": \"$PW_VERSION\"" "$TOOLS/node_modules/playwright-core/package.json"; then
  log "installing playwright-core $PW_VERSION (npm) into $TOOLS"
  mkdir -p "$TOOLS"
  npm install --prefix "$TOOLS" --no-audit --no-fund --loglevel=error "playwright-core@$PW_VERSION" >&2
fi

# JISHI_PREBUILT=1 (.ci/run, after `cargo test --workspace`): use the jishi
# that build left in target/debug rather than build it with other features.
if [ -n "${JISHI_PREBUILT:-}" ]; then
  log "using the prebuilt $TARGET/debug/jishi"
  [ -x "$TARGET/debug/jishi" ] || { log "$TARGET/debug/jishi is missing: unset JISHI_PREBUILT to build it"; exit 1; }
else
  log "cargo build (debug): jishi"
  cargo build -p backend --bin jishi
fi

for v in $(compgen -e); do
  case "$v" in JISHI_*) unset "$v" ;; esac
done
rm -rf "$WORK" "$SHOTS"
mkdir -p "$WORK" "$SHOTS"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log "jishi demo on 127.0.0.1:$PORT (data in $WORK)"
"$TARGET/debug/jishi" demo --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" --cadres 12 \
  >"$WORK/demo.out" 2>"$WORK/demo.log" &
SERVER_PID=$!
# The demo prints its logins once the county is populated, then serves.
ready=""
for _ in $(seq 1 1800); do
  if grep -q '^Serving on ' "$WORK/demo.out" 2>/dev/null; then
    ready=1
    break
  fi
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$ready" ]; then
  log "jishi demo did not finish populating; its output and log:"
  cat "$WORK/demo.out" >&2 || true
  tail -n 40 "$WORK/demo.log" >&2 || true
  exit 1
fi
BASE="http://127.0.0.1:$PORT"
PUBLICATION="$(grep -o "$BASE/p/[^ ]*" "$WORK/demo.out" | head -n 1 | sed "s|$BASE||")"
MONTH="$(sed -n 's/^Monthly reviews (月点评) of \([0-9-]*\):.*/\1/p' "$WORK/demo.out" | head -n 1)"
LOGIN="$(awk '$1 ~ /^leader-/ && $2 == "password" { print $1; exit }' "$WORK/demo.out")"
PASSWORD="$(awk '$1 ~ /^leader-/ && $2 == "password" { print $3; exit }' "$WORK/demo.out")"
if [ -z "$PUBLICATION" ] || [ -z "$MONTH" ] || [ -z "$LOGIN" ] || [ -z "$PASSWORD" ]; then
  log "could not read the publication, review month or a leader's login from the demo's output:"
  cat "$WORK/demo.out" >&2
  exit 1
fi
log "scenario: $LOGIN, publication $PUBLICATION, reviews of $MONTH"
# An ES module finds its imports from where it lies: next to node_modules.
cp "$HERE/scenario.mjs" "$TOOLS/scenario.mjs"
set +e
timeout 300 node "$TOOLS/scenario.mjs" \
  "$BASE" "$LOGIN" "$PASSWORD" "$PUBLICATION" "$MONTH" "$SHOTS"
STATUS=$?
set -e
if [ "$STATUS" -ne 0 ]; then
  log "the browser scenario FAILED (status $STATUS); the server's last log lines:"
  tail -n 40 "$WORK/demo.log" >&2
fi
log "screenshots in $SHOTS"
exit "$STATUS"
