# Shell functions shared by load/run-bench.sh and load/peer/run-peer.sh:
# source it. Both keep the server they started in $server_pid.

# Stop the server in $server_pid, if it still runs, and wait for it.
stop_server() {
    if [[ -n "${server_pid:-}" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid"
        wait "$server_pid" || true
    fi
    server_pid=""
}

# wait_healthy URL LOG: poll URL/healthz every 0.1 s for at most 30 s; fail
# (showing LOG, the server's output) if the server in $server_pid died.
wait_healthy() {
    local url="$1" log="$2"
    for _ in $(seq 300); do
        if curl -fs -o /dev/null --max-time 1 "$url/healthz"; then
            return 0
        fi
        if ! kill -0 "$server_pid" 2>/dev/null; then
            echo "the server exited; its log:" >&2
            cat "$log" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "the server did not become healthy in 30 s" >&2
    return 1
}
