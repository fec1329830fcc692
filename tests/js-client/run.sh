#!/usr/bin/env bash
# A second implementation of the sync protocol against a live server (issue
# 23, item 12): `jishi demo` populates a small county on a loopback port in
# a fresh folder, then client.mjs — written from docs/sync-protocol.md alone
# with the JavaScript Automerge — logs in as a cadre, receives the cadre's
# documents, adds an entry and a new day, and must be accepted. Installs
# @automerge/automerge (npm, pinned by package-lock.json) into
# tests/js-client/node_modules. Stops the server on every exit path.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
HERE="tests/js-client"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
WORK="$TARGET/js-client-demo"
log() { printf '[js-client] %s\n' "$*" >&2; }

if [ ! -d "$HERE/node_modules/@automerge/automerge" ]; then
  log "installing @automerge/automerge (npm ci)"
  npm ci --prefix "$HERE" --no-audit --no-fund --loglevel=error >&2
fi

# JISHI_PREBUILT=1 (.ci/run, after `cargo test --workspace`): the jishi that
# build left in target/debug.
if [ -n "${JISHI_PREBUILT:-}" ]; then
  [ -x "$TARGET/debug/jishi" ] || { log "$TARGET/debug/jishi is missing: unset JISHI_PREBUILT to build it"; exit 1; }
else
  log "cargo build (debug): jishi"
  cargo build -p backend --bin jishi
fi

for v in $(compgen -e); do
  case "$v" in JISHI_*) unset "$v" ;; esac
done
rm -rf "$WORK"
mkdir -p "$WORK"
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
# The binary itself, so that $! is the server's own id.
"$TARGET/debug/jishi" demo --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" --cadres 6 \
  >"$WORK/demo.out" 2>"$WORK/demo.log" &
SERVER_PID=$!
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
LOGIN="$(awk '$1 ~ /^cadre[0-9]+$/ && $2 == "password" { print $1; exit }' "$WORK/demo.out")"
PASSWORD="$(awk '$1 ~ /^cadre[0-9]+$/ && $2 == "password" { print $3; exit }' "$WORK/demo.out")"
if [ -z "$LOGIN" ] || [ -z "$PASSWORD" ]; then
  log "no cadre's login in the demo's output:"
  cat "$WORK/demo.out" >&2
  exit 1
fi
# JS_CLIENT_FAIL=1: a wrong password, so that the client fails (the
# cleanup test of .ci/run: the server must still be stopped).
[ -z "${JS_CLIENT_FAIL:-}" ] || PASSWORD="not-the-password"
set +e
timeout 300 node "$HERE/client.mjs" "http://127.0.0.1:$PORT" "$LOGIN" "$PASSWORD"
STATUS=$?
set -e
if [ "$STATUS" -ne 0 ]; then
  log "the JS client FAILED (status $STATUS); the server's last log lines:"
  tail -n 40 "$WORK/demo.log" >&2
fi
exit "$STATUS"
