# Sourced by the scripts that run a scenario against `jishi demo`
# (tests/js-client/run.sh, tests/browser/run.sh): the jishi binary, a demo
# on a loopback port of its own in a fresh folder, and its stop on every
# exit path. The caller sets TARGET (the cargo target folder), WORK (a
# folder of its own) and a `log` function first.

# JISHI_PREBUILT=1 (.ci/run, after `cargo test --workspace`): the jishi that
# build left in target/debug rather than one built again with other features.
demo_binary() {
  if [ -n "${JISHI_PREBUILT:-}" ]; then
    log "using the prebuilt $TARGET/debug/jishi"
    [ -x "$TARGET/debug/jishi" ] || { log "$TARGET/debug/jishi is missing: unset JISHI_PREBUILT to build it"; exit 1; }
  else
    log "cargo build (debug): jishi"
    cargo build -p backend --bin jishi
  fi
}

SERVER_PID=""
demo_stop() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
}

# `demo_start N`: a demo of N cadres; sets BASE (http://127.0.0.1:port) once
# it serves. Its output is "$WORK/demo.out", its log "$WORK/demo.log".
demo_start() {
  # The server reads no setting of the caller's environment.
  for v in $(compgen -e); do
    case "$v" in JISHI_*) unset "$v" ;; esac
  done
  trap demo_stop EXIT
  trap 'exit 130' INT TERM
  # Port 0: the server binds a free port itself (nothing can take it between
  # a pick and the bind) and prints its address once it serves.
  log "jishi demo on 127.0.0.1, a port of its own (data in $WORK)"
  # The binary itself, so that $! is the server's own id.
  "$TARGET/debug/jishi" demo --listen 127.0.0.1:0 --data-dir "$WORK/data" --cadres "$1" \
    >"$WORK/demo.out" 2>"$WORK/demo.log" &
  SERVER_PID=$!
  # The demo prints its logins once the county is populated, then serves.
  BASE=""
  for _ in $(seq 1 1800); do
    BASE="$(sed -n '/^Serving on /{s|^Serving on \(http://[0-9.:]*\) .*|\1|p;q;}' "$WORK/demo.out" 2>/dev/null || true)"
    [ -z "$BASE" ] || return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  log "jishi demo did not finish populating; its output and log:"
  cat "$WORK/demo.out" >&2 || true
  tail -n 40 "$WORK/demo.log" >&2 || true
  exit 1
}

# `demo_login PATTERN`: "login password" of the first printed login whose
# name matches the awk regular expression PATTERN.
demo_login() {
  awk -v p="$1" '$1 ~ p && $2 == "password" { print $1, $3; exit }' "$WORK/demo.out"
}
