#!/usr/bin/env bash
# Ours and the peer side by side (issue 7): the same N cadres' week offline
# synced through `jishi serve` (load/run-bench.sh, SQLite; PostgreSQL too
# when JISHI_BENCH_POSTGRES_URL is set) and through the JS automerge-repo
# sync server (server.mjs, driven by drive.mjs with the documents
# `jishi-load export` writes: the same text for the same cadre), one after
# the other on 127.0.0.1, then one table with the ratio (compare.mjs).
#
#   load/peer/run-peer.sh [N]      N cadres, default 1000
#
# Environment: JISHI_BENCH_CONCURRENCY (cadres syncing at once, both sides,
# default 200), JISHI_PEER_PORT (default 18090), JISHI_BENCH_OUT (reports;
# default a new temporary folder), JISHI_PEER_OURS (a `jishi-load run`
# JSON report to compare with instead of running ours: `skip` runs the peer
# alone), JISHI_PEER_SAMOD=1 (also samod, the Rust automerge-repo, as a
# second peer: builds load/peer/samod, which needs its crates), and what
# load/run-bench.sh reads.
#
# Needs Node 20 or later and npm (`npm ci` installs the pinned packages of
# package-lock.json into load/peer/node_modules).
set -euo pipefail

cadres="${1:-1000}"
concurrency="${JISHI_BENCH_CONCURRENCY:-200}"
port="${JISHI_PEER_PORT:-18090}"
peer_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$peer_dir/../.." && pwd)"
out="${JISHI_BENCH_OUT:-$(mktemp -d -t jishi-peer-XXXXXX)}"
mkdir -p "$out"
ours="${JISHI_PEER_OURS:-}"

cd "$root"
cargo build --release -p backend -p jishi-load
target="${CARGO_TARGET_DIR:-$root/target}/release"
(cd "$peer_dir" && npm ci --no-audit --no-fund --loglevel=error)

# shellcheck source=load/bench-lib.sh
source "$root/load/bench-lib.sh"
server_pid=""
work="$(mktemp -d -t jishi-peer-data-XXXXXX)"
cleanup() {
    stop_server
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Ours first, so the two runs do not overlap.
if [[ -z "$ours" ]]; then
    JISHI_BENCH_OUT="$out" JISHI_BENCH_CONCURRENCY="$concurrency" \
        "$root/load/run-bench.sh" "$cadres"
    ours="$out/sqlite.json"
fi

echo "== peer: exporting $cadres cadres' documents" >&2
"$target/jishi-load" export --out "$work/docs" --cadres "$cadres"

# peer LABEL COMMAND…: start the server COMMAND (its port and storage
# folder already in it), wait for /healthz, drive it, stop it.
peer() {
    local label="$1"
    shift
    echo "== $label: starting the sync server on 127.0.0.1:$port" >&2
    "$@" >"$out/server-$label.log" 2>&1 &
    server_pid=$!
    wait_healthy "http://127.0.0.1:$port" "$out/server-$label.log"
    echo "== $label: load" >&2
    node "$peer_dir/drive.mjs" --docs "$work/docs" --url "ws://127.0.0.1:$port" \
        --cadres "$cadres" --concurrency "$concurrency" --server-pid "$server_pid" \
        --label "$label" --json "$out/$label.json" | tee "$out/$label.txt"
    stop_server
    if [[ "$ours" != skip ]]; then
        node "$peer_dir/compare.mjs" "$ours" "$out/$label.json" | tee "$out/compare-$label.txt"
    fi
}

peer automerge-repo node "$peer_dir/server.mjs" --port "$port" --data "$work/automerge-repo-data"

if [[ "${JISHI_PEER_SAMOD:-}" == 1 ]]; then
    (cd "$peer_dir/samod" && cargo build --release --locked)
    peer samod "${CARGO_TARGET_DIR:-$peer_dir/samod/target}/release/jishi-peer-samod" "$port" "$work/samod-data"
fi
echo "reports in $out" >&2
