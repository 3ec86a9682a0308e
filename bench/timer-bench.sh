#!/usr/bin/env bash
# Timer benchmark: TIMER.NEW/KILL throughput, a 100k fire burst, lateness and memory, measured through the
# RedisTimer proxy and, with --module, against a redis-server running the C module redis-timer, side by side.
# Starts its own redis-server(s) and proxy on free loopback ports. See bench/README.md.
set -euo pipefail

usage() {
    cat <<'EOF2'
Usage: bench/timer-bench.sh [--quick] [--module /path/to/timer.so] [--no-build] [--scenarios LIST] [-h|--help]

  --quick           divide every timer count by 10 (shorter, noisier run)
  --module PATH     also run every scenario against a second redis-server started with --loadmodule PATH
                    (the module is never downloaded or built here)
  --no-build        use the existing Release builds of the proxy and of bench/TimerBench
  --scenarios LIST  comma-separated subset of cold,new,burst,lateness,memory,lua (default: all)

Environment: REDIS_SERVER, REDIS_BENCHMARK, REDIS_CLI, DOTNET (see bench/README.md).
EOF2
}

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd -- "$SCRIPT_DIR/.." && pwd)
PROXY_PROJECT="$REPO_DIR/src/TimerProxy"
PROXY_DLL=${PROXY_DLL:-"$REPO_DIR/artifacts/proxy/RedisTimer.Proxy.dll"}
BENCH_PROJECT="$SCRIPT_DIR/TimerBench"
BENCH_DLL="$BENCH_PROJECT/bin/Release/net10.0/TimerBench.dll"
RESULTS_DIR="$SCRIPT_DIR/results"

REDIS_SERVER=${REDIS_SERVER:-redis-server}
REDIS_BENCHMARK=${REDIS_BENCHMARK:-redis-benchmark}
REDIS_CLI=${REDIS_CLI:-redis-cli}
DOTNET=${DOTNET:-dotnet}

QUICK=0
BUILD=1
MODULE=""
SCENARIOS="cold,new,burst,lateness,memory,lua"
while (($#)); do
    case "$1" in
        --quick) QUICK=1 ;;
        --no-build) BUILD=0 ;;
        --module) [[ $# -ge 2 ]] || { echo "--module needs a path" >&2; exit 2; }; MODULE=$2; shift ;;
        --module=*) MODULE=${1#--module=} ;;
        --scenarios) [[ $# -ge 2 ]] || { echo "--scenarios needs a list" >&2; exit 2; }; SCENARIOS=$2; shift ;;
        --scenarios=*) SCENARIOS=${1#--scenarios=} ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
if [[ -n "$MODULE" ]]; then
    [[ -f "$MODULE" ]] || { echo "module not found: $MODULE" >&2; exit 2; }
    MODULE=$(cd -- "$(dirname -- "$MODULE")" && pwd)/$(basename -- "$MODULE")
fi

# shellcheck source=bench/lib.sh
source "$SCRIPT_DIR/lib.sh"
require_tools "$REDIS_SERVER" "$REDIS_BENCHMARK" "$REDIS_CLI" "$DOTNET" python3

# --- processes we own, stopped on any exit --------------------------------------------------------

WORK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/timer-bench.XXXXXX")
REDIS_PID=""
PROXY_PID=""
MODULE_PID=""

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    # Proxy first, so it doesn't spend its shutdown complaining about a vanished upstream.
    stop_pid "$PROXY_PID" proxy
    stop_pid "$REDIS_PID" redis-server
    stop_pid "$MODULE_PID" "redis-server (module)"
    dump_logs_on_failure "$rc" "$WORK_DIR" 30
    rm -rf "$WORK_DIR"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM


start_redis() {   # start_redis <name> [extra args...]; sets STARTED_PID and STARTED_PORT
    local name=$1 port
    shift
    port=$(free_port)
    mkdir -p "$WORK_DIR/$name"
    "$REDIS_SERVER" --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
        --dir "$WORK_DIR/$name" --daemonize no --logfile '' "$@" >"$WORK_DIR/$name.log" 2>&1 &
    STARTED_PID=$!
    STARTED_PORT=$port
}

# --- build and start ------------------------------------------------------------------------------

if ((BUILD)); then
    echo "Building the proxy and bench/TimerBench (Release)..." >&2
    bash "$REPO_DIR/scripts/publish-proxy.sh" >"$WORK_DIR/build.log" 2>&1 || { cat "$WORK_DIR/build.log" >&2; exit 1; }
    "$DOTNET" build -c Release --nologo -v quiet "$BENCH_PROJECT" >"$WORK_DIR/build.log" 2>&1 \
        || { cat "$WORK_DIR/build.log" >&2; exit 1; }
fi
for dll in "$PROXY_DLL" "$BENCH_DLL"; do
    [[ -f "$dll" ]] || { echo "not built: $dll missing (run without --no-build)" >&2; exit 1; }
done

start_redis redis
REDIS_PID=$STARTED_PID REDIS_PORT=$STARTED_PORT
wait_for_ping "$REDIS_PORT" "$REDIS_PID" redis-server

PROXY_PORT=$(free_port)
while [[ "$PROXY_PORT" == "$REDIS_PORT" ]]; do PROXY_PORT=$(free_port); done
"$DOTNET" "$PROXY_DLL" --port "$PROXY_PORT" --upstream "127.0.0.1:$REDIS_PORT" >"$WORK_DIR/proxy.log" 2>&1 &
PROXY_PID=$!
wait_for_ping "$PROXY_PORT" "$PROXY_PID" proxy
echo "redis-server pid $REDIS_PID on 127.0.0.1:$REDIS_PORT, proxy pid $PROXY_PID on 127.0.0.1:$PROXY_PORT" >&2

TARGETS=(--target "name=proxy,timer=127.0.0.1:$PROXY_PORT,redis=127.0.0.1:$REDIS_PORT,pid=$PROXY_PID")
if [[ -n "$MODULE" ]]; then
    start_redis module --loadmodule "$MODULE"
    MODULE_PID=$STARTED_PID MODULE_PORT=$STARTED_PORT
    wait_for_ping "$MODULE_PORT" "$MODULE_PID" "redis-server (module)"
    "$REDIS_CLI" -h 127.0.0.1 -p "$MODULE_PORT" COMMAND INFO timer.new | grep -qi 'timer.new' \
        || { echo "redis-server with --loadmodule $MODULE has no TIMER.NEW command" >&2; exit 1; }
    echo "redis-server (module) pid $MODULE_PID on 127.0.0.1:$MODULE_PORT" >&2
    TARGETS+=(--target "name=module,timer=127.0.0.1:$MODULE_PORT,redis=127.0.0.1:$MODULE_PORT")
fi

# --- run ------------------------------------------------------------------------------------------

STARTED=$(date -u +%Y%m%d-%H%M%S)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')
BENCH_ARGS=("${TARGETS[@]}" --redis-benchmark "$(command -v "$REDIS_BENCHMARK")" --scenarios "$SCENARIOS")
((QUICK)) && BENCH_ARGS+=(--quick)
BENCH_RC=0
"$DOTNET" "$BENCH_DLL" "${BENCH_ARGS[@]}" >"$WORK_DIR/table.md" || BENCH_RC=$?
if ((BENCH_RC != 0)) && [[ ! -s "$WORK_DIR/table.md" ]]; then
    echo "TimerBench exited $BENCH_RC without a table" >&2
    exit "$BENCH_RC"
fi
for name in proxy redis module; do   # a process that died during the run is a finding, not noise
    pid_var=${name^^}_PID
    [[ -z "${!pid_var}" ]] || kill -0 "${!pid_var}" 2>/dev/null || echo "warning: $name (pid ${!pid_var}) is no longer running" >&2
done
if grep -Eqi 'error|exception|fail' "$WORK_DIR/proxy.log"; then
    echo "proxy log has errors/warnings (first 10 matching lines):" >&2
    grep -Ei 'error|exception|fail' "$WORK_DIR/proxy.log" | head -n 10 >&2
fi

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')

# --- report ---------------------------------------------------------------------------------------

REDIS_VERSION=$("$REDIS_SERVER" --version | sed -n 's/.* v=\([^ ]*\).*/\1/p')
COMMIT=$(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=""   # read-only check (no index refresh): were the proxy sources modified against HEAD?
git -C "$REPO_DIR" --no-optional-locks diff --quiet HEAD -- src 2>/dev/null || DIRTY=1
TABLE=$(
    echo "# Timers: proxy$([[ -n "$MODULE" ]] && echo ' vs module') ($STARTED UTC)"
    echo
    echo "commit $COMMIT${DIRTY:+ (src modified)}, redis $REDIS_VERSION, $(nproc 2>/dev/null || echo '?') CPUs$(
        [[ -n "$MODULE" ]] && echo ", module $(basename "$MODULE")")$( ((QUICK)) && echo ', --quick (counts / 10)');" \
        "load average (1/5/15 min) before: $LOAD_BEFORE, after: $LOAD_AFTER"
    echo
    cat "$WORK_DIR/table.md"
)

mkdir -p "$RESULTS_DIR"
OUT_FILE="$RESULTS_DIR/timer-$STARTED.md"
printf '%s\n' "$TABLE" >"$OUT_FILE"
echo
printf '%s\n' "$TABLE"
echo
echo "Written to ${OUT_FILE#"$REPO_DIR"/}" >&2
exit "$BENCH_RC"
