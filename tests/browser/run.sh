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
# QR codes read back from the printed pages.
if [ ! -f "$TOOLS/node_modules/jsqr/package.json" ] || [ ! -f "$TOOLS/node_modules/pngjs/package.json" ]; then
  log "installing jsqr and pngjs (npm) into $TOOLS"
  npm install --prefix "$TOOLS" --no-audit --no-fund --loglevel=error "jsqr@1.4.0" "pngjs@7.0.0" >&2
fi

. tests/demo-server.sh
demo_binary
rm -rf "$WORK" "$SHOTS"
mkdir -p "$WORK" "$SHOTS"
demo_start 12
PUBLICATION="$(grep -o "$BASE/p/[^ ]*" "$WORK/demo.out" | head -n 1 | sed "s|$BASE||")"
MONTH="$(sed -n 's/^Monthly reviews (月点评) of \([0-9-]*\):.*/\1/p' "$WORK/demo.out" | head -n 1)"
read -r LOGIN PASSWORD <<<"$(demo_login '^leader-')" || true
if [ -z "$PUBLICATION" ] || [ -z "$MONTH" ] || [ -z "$LOGIN" ] || [ -z "$PASSWORD" ]; then
  log "could not read the publication, review month or a leader's login from the demo's output:"
  cat "$WORK/demo.out" >&2
  exit 1
fi
# A township of 40 cadres (no records, long posts): its weekly notice's
# summary table must still fit one A4 page. Added to the demo's database
# beside the running server (the users cannot log in: no password).
WEEK="${PUBLICATION##*/}"
"$TARGET/debug/jishi" admin --data-dir "$WORK/data" create-unit \
  --id big40 --name 大坪镇 --level township --parent qingshan >/dev/null
python3 - "$WORK/data/jishi.db" <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=30)
posts = ["驻村第一书记兼村党支部书记", "驻村工作队员", "镇人大主席团副主席", "综治办主任"]
with db:
    for i in range(40):
        db.execute(
            "INSERT INTO users (id, login, name, post, unit_id, role, password_hash, created_at)"
            " VALUES (?, ?, ?, ?, 'big40', 'cadre', '!', ?)",
            (f"big{i:02}", f"big{i:02}", f"干部{i:02}号", posts[i % 4], int(time.time() * 1000)),
        )
PY
"$TARGET/debug/jishi" publish-week --data-dir "$WORK/data" --week "$WEEK" --unit big40 >/dev/null
BIG="/p/big40/$WEEK"
log "scenario: $LOGIN, publication $PUBLICATION, reviews of $MONTH, 40 cadres at $BIG"
# An ES module finds its imports from where it lies: next to node_modules.
cp "$HERE/scenario.mjs" "$TOOLS/scenario.mjs"
set +e
timeout 300 node "$TOOLS/scenario.mjs" \
  "$BASE" "$LOGIN" "$PASSWORD" "$PUBLICATION" "$MONTH" "$SHOTS" "$BIG"
STATUS=$?
set -e
if [ "$STATUS" -ne 0 ]; then
  log "the browser scenario FAILED (status $STATUS); the server's last log lines:"
  tail -n 40 "$WORK/demo.log" >&2
fi
log "screenshots in $SHOTS"
exit "$STATUS"
