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

. tests/demo-server.sh
demo_binary
rm -rf "$WORK"
mkdir -p "$WORK"
demo_start 6
read -r LOGIN PASSWORD <<<"$(demo_login '^cadre[0-9]+$')" || true
if [ -z "$LOGIN" ] || [ -z "$PASSWORD" ]; then
  log "no cadre's login in the demo's output:"
  cat "$WORK/demo.out" >&2
  exit 1
fi
# JS_CLIENT_FAIL=1: a wrong password, so that the client fails (the
# cleanup test of .ci/run: the server must still be stopped).
[ -z "${JS_CLIENT_FAIL:-}" ] || PASSWORD="not-the-password"
set +e
timeout 300 node "$HERE/client.mjs" "$BASE" "$LOGIN" "$PASSWORD"
STATUS=$?
set -e
if [ "$STATUS" -ne 0 ]; then
  log "the JS client FAILED (status $STATUS); the server's last log lines:"
  tail -n 40 "$WORK/demo.log" >&2
fi
exit "$STATUS"
