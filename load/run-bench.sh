#!/usr/bin/env bash
# Server sync under load (issue 3): build release, then for SQLite (and for
# PostgreSQL when JISHI_BENCH_POSTGRES_URL is set) seed N cadres into a fresh
# database, start `jishi serve` on loopback, drive it with `jishi-load run`,
# stop it. Reports (text and JSON) go to $JISHI_BENCH_OUT (default: a new
# temporary folder), printed at the end.
#
#   load/run-bench.sh [N]          N cadres, default 1000
#
# Environment: JISHI_BENCH_POSTGRES_URL (postgres://user@127.0.0.1:5432/db,
# loopback only, without query parameters: used to create a fresh database,
# dropped at the end), JISHI_BENCH_CONCURRENCY (phones syncing at once,
# default 200), JISHI_BENCH_PHOTOS (photos each phone takes in its week and
# uploads after its sync, default 0), JISHI_BENCH_PORT (default 18080),
# JISHI_BENCH_OUT. The rest
# of the environment reaches the server (e.g. JISHI_MAX_SYNC_REQUESTS).
set -euo pipefail

if [[ -n "${JISHI_BENCH_POSTGRES_URL:-}" ]]; then
    case "$JISHI_BENCH_POSTGRES_URL" in
    postgres://*@127.0.0.1[:/]* | postgres://*@localhost[:/]* | postgres://127.0.0.1[:/]* | postgres://localhost[:/]*) ;;
    *)
        echo "JISHI_BENCH_POSTGRES_URL must name a PostgreSQL on loopback (127.0.0.1 or localhost)" >&2
        exit 2
        ;;
    esac
fi

cadres="${1:-1000}"
concurrency="${JISHI_BENCH_CONCURRENCY:-200}"
photos="${JISHI_BENCH_PHOTOS:-0}"
port="${JISHI_BENCH_PORT:-18080}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${JISHI_BENCH_OUT:-$(mktemp -d -t jishi-bench-XXXXXX)}"
mkdir -p "$out"
export JISHI_LOAD_PASSWORD="load-test-password-1"

cd "$root"
cargo build --release -p backend -p jishi-load
target="${CARGO_TARGET_DIR:-$root/target}/release"

# shellcheck source=load/bench-lib.sh
source "$root/load/bench-lib.sh"
server_pid=""
bench_db=""
cleanup() {
    stop_server
    rm -rf "$work"
    if [[ -n "$bench_db" ]]; then
        psql "$JISHI_BENCH_POSTGRES_URL" -qc "DROP DATABASE IF EXISTS $bench_db" || true
    fi
}
work="$(mktemp -d -t jishi-bench-data-XXXXXX)"
trap cleanup EXIT
trap 'exit 130' INT TERM

# bench LABEL [--database-url URL]
bench() {
    local label="$1"
    shift
    local data="$work/$label"
    local url="http://127.0.0.1:$port"
    echo "== $label: seeding $cadres cadres" >&2
    "$target/jishi-load" seed --data-dir "$data" "$@" --cadres "$cadres"
    echo "== $label: starting the server on $url" >&2
    # Every cadre logs in from 127.0.0.1: lift the per-address login limit.
    JISHI_LOGIN_PER_MINUTE=1000000 JISHI_LOG=warn \
        "$target/jishi" serve --data-dir "$data" "$@" --listen "127.0.0.1:$port" \
        >"$out/server-$label.log" 2>&1 &
    server_pid=$!
    wait_healthy "$url" "$out/server-$label.log"
    echo "== $label: load" >&2
    "$target/jishi-load" run --url "$url" --label "$label" --cadres "$cadres" \
        --concurrency "$concurrency" --photos "$photos" --server-pid "$server_pid" --watch \
        --json "$out/$label.json" | tee "$out/$label.txt"
    stop_server
}

bench sqlite

if [[ -n "${JISHI_BENCH_POSTGRES_URL:-}" ]]; then
    # A fresh database, dropped on exit; the URL's own database is only
    # used to create it.
    bench_db="jishi_bench_$(date +%Y%m%d%H%M%S)_$$"
    psql "$JISHI_BENCH_POSTGRES_URL" -v ON_ERROR_STOP=1 -qc "CREATE DATABASE $bench_db"
    bench postgres --database-url "${JISHI_BENCH_POSTGRES_URL%/*}/$bench_db"
else
    echo "JISHI_BENCH_POSTGRES_URL unset: PostgreSQL not run" >&2
fi

echo "reports in $out" >&2
