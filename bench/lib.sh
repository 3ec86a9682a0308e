#!/usr/bin/env bash
# Shared by the bench scripts: tools check, free ports, start-up wait, and stopping our own processes.
# Sourced after REDIS_CLI is set.

require_tools() {   # require_tools <tool>...
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null 2>&1 || { echo "required tool not found: $tool" >&2; exit 1; }
    done
}

stop_pid() {   # stop_pid <pid> <name>: SIGTERM, wait up to 15 s, then SIGKILL. Only ever our own children.
    local pid=$1 name=$2 i
    [[ -n "$pid" ]] || return 0
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "warning: $name (pid $pid) ignored SIGTERM, sending SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

wait_for_ping() {   # wait_for_ping <port> <pid> <name>
    local port=$1 pid=$2 name=$3 i
    for ((i = 0; i < 600; i++)); do
        kill -0 "$pid" 2>/dev/null || { echo "$name (pid $pid) exited during startup" >&2; return 1; }
        if [[ "$("$REDIS_CLI" -h 127.0.0.1 -p "$port" PING 2>/dev/null || true)" == PONG ]]; then
            return 0
        fi
        sleep 0.1
    done
    echo "$name did not answer PING on port $port within 60 s" >&2
    return 1
}

dump_logs_on_failure() {   # dump_logs_on_failure <exit code> <dir> <lines>: the tail of every log after a failed run
    local rc=$1 dir=$2 lines=$3 f
    ((rc != 0)) && [[ -d "$dir" ]] || return 0
    echo "bench failed (exit $rc); logs:" >&2
    for f in "$dir"/*.log; do
        [[ -f "$f" ]] || continue
        echo "--- $f (last $lines lines)" >&2
        tail -n "$lines" "$f" >&2 || true
    done
}
