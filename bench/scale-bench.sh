#!/usr/bin/env bash
# Scale benchmark: millions of timers in Redis. The proxy's memory, pipelined TIMER.NEW / TIMER.KILL with them
# present, what the proxy's own reconciliation costs Redis at 100k and at the full count, and a freshly started
# proxy firing near timers over them. Starts its own redis-server and proxies on free loopback ports; see bench/README.md.
set -euo pipefail

usage() {
    cat <<'EOF2'
Usage: bench/scale-bench.sh [--timers N] [--rates N] [--near N] [--no-build] [-h|--help]

  --timers N   far-future timers in Redis (default 5000000)
  --rates N    ids created and killed for each rate figure (default 200000)
  --near N     near timers a freshly started proxy must fire on time (default 2000, due 1-5 s after its start)
  --no-build   use the existing artifacts/proxy and bench/TimerBench Release builds

Environment: REDIS_SERVER, REDIS_CLI, DOTNET (see bench/README.md).
EOF2
}

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd -- "$SCRIPT_DIR/.." && pwd)
PROXY_DLL=${PROXY_DLL:-"$REPO_DIR/artifacts/proxy/RedisTimer.Proxy.dll"}
BENCH_PROJECT="$SCRIPT_DIR/TimerBench"
BENCH_DLL="$BENCH_PROJECT/bin/Release/net10.0/TimerBench.dll"
RESULTS_DIR="$SCRIPT_DIR/results"

REDIS_SERVER=${REDIS_SERVER:-redis-server}
REDIS_CLI=${REDIS_CLI:-redis-cli}
DOTNET=${DOTNET:-dotnet}

TIMERS=5000000
RATES=200000
NEAR=2000
BUILD=1
while (($#)); do
    case "$1" in
        --timers) TIMERS=${2:?--timers needs a count}; shift ;;
        --rates) RATES=${2:?--rates needs a count}; shift ;;
        --near) NEAR=${2:?--near needs a count}; shift ;;
        --no-build) BUILD=0 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
for n in "$TIMERS" "$RATES" "$NEAR"; do
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "counts must be positive integers (got $n)" >&2; exit 2; }
done
SMALL=$((TIMERS < 100000 ? TIMERS : 100000))
thousands() { sed ':a; s/\B[0-9]\{3\}\>/,&/; ta' <<<"$1"; }

# shellcheck source=bench/lib.sh
source "$SCRIPT_DIR/lib.sh"
require_tools "$REDIS_SERVER" "$REDIS_CLI" "$DOTNET" python3

WORK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/scale-bench.XXXXXX")
REDIS_PID=""
PROXY_PID=""

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    stop_pid "$PROXY_PID" proxy
    stop_pid "$REDIS_PID" redis-server
    dump_logs_on_failure "$rc" "$WORK_DIR" 30
    rm -rf "$WORK_DIR"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ((BUILD)); then
    echo "Building the proxy and bench/TimerBench (Release)..." >&2
    bash "$REPO_DIR/scripts/publish-proxy.sh" >"$WORK_DIR/build.log" 2>&1 || { cat "$WORK_DIR/build.log" >&2; exit 1; }
    "$DOTNET" build -c Release --nologo -v quiet "$BENCH_PROJECT" >"$WORK_DIR/build.log" 2>&1 \
        || { cat "$WORK_DIR/build.log" >&2; exit 1; }
fi
for dll in "$PROXY_DLL" "$BENCH_DLL"; do
    [[ -f "$dll" ]] || { echo "not built: $dll missing (run without --no-build)" >&2; exit 1; }
done

REDIS_PORT=$(free_port)
"$REDIS_SERVER" --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no --dir "$WORK_DIR" \
    --enable-debug-command local --daemonize no --logfile '' >"$WORK_DIR/redis.log" 2>&1 &
REDIS_PID=$!
wait_for_ping "$REDIS_PORT" "$REDIS_PID" redis-server
REDIS="127.0.0.1:$REDIS_PORT"
"$DOTNET" "$BENCH_DLL" scale library --redis "$REDIS"

PROXY_PORT=""
start_proxy() {   # start_proxy <log name>
    PROXY_PORT=$(free_port)
    "$DOTNET" "$PROXY_DLL" --port "$PROXY_PORT" --upstream "$REDIS" >"$WORK_DIR/$1.log" 2>&1 &
    PROXY_PID=$!
    wait_for_ping "$PROXY_PORT" "$PROXY_PID" proxy
}

ROWS="$WORK_DIR/rows.md"
FAILED=0
step() {   # step <name> [--option value]...: one TimerBench scale step; its rows go to the table
    "$DOTNET" "$BENCH_DLL" scale "$@" >>"$ROWS" || FAILED=1
}

STARTED=$(date -u +%Y%m%d-%H%M%S)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')

start_proxy proxy-1
echo "redis-server pid $REDIS_PID on $REDIS, proxy pid $PROXY_PID on 127.0.0.1:$PROXY_PORT" >&2
step loops --timer "127.0.0.1:$PROXY_PORT" --count 1000 --interval-ms 5000
step fill --timer "127.0.0.1:$PROXY_PORT" --from 0 --to "$SMALL"
step reconcile --redis "$REDIS" --seconds 12 --label "$(thousands "$SMALL") timers" --write-to "$WORK_DIR/reconcile-small"
step rates --redis "$REDIS" --timer "127.0.0.1:$PROXY_PORT" --count "$RATES" --label "$(thousands "$SMALL") timers present"
if ((TIMERS > SMALL)); then
    step fill --timer "127.0.0.1:$PROXY_PORT" --from "$SMALL" --to "$TIMERS"
fi
LABEL=$(thousands "$TIMERS")
step memory --redis "$REDIS" --pid "$PROXY_PID" --label "$LABEL timers, the proxy that created them"
step rates --redis "$REDIS" --timer "127.0.0.1:$PROXY_PORT" --count "$RATES" --label "$LABEL timers present (index as the fill left it)"
step settle --redis "$REDIS"
step rates --redis "$REDIS" --timer "127.0.0.1:$PROXY_PORT" --count "$RATES" --label "$LABEL timers present (index rehashed)"
step reconcile --redis "$REDIS" --seconds 12 --label "$LABEL timers" --baseline "$WORK_DIR/reconcile-small"
step list --redis "$REDIS" --redis-pid "$REDIS_PID" --timer "127.0.0.1:$PROXY_PORT" --count 100 --label "$LABEL timers"

# A proxy started over all of them (users restart sidecars on every deploy): the near timers are written while
# no proxy runs, due 1-5 s after the new one is launched.
stop_pid "$PROXY_PID" proxy
PROXY_PID=""
"$DOTNET" "$BENCH_DLL" scale near-create --redis "$REDIS" --count "$NEAR" --first-ms 1000 --last-ms 5000 >/dev/null || FAILED=1
start_proxy proxy-2
step near-report --redis "$REDIS" --count "$NEAR"
step memory --redis "$REDIS" --pid "$PROXY_PID" --label "$LABEL timers, a proxy started over them"
step rates --redis "$REDIS" --timer "127.0.0.1:$PROXY_PORT" --count "$RATES" --label "$LABEL timers present, a freshly started proxy"

for name in proxy redis; do
    pid_var=${name^^}_PID
    [[ -z "${!pid_var}" ]] || kill -0 "${!pid_var}" 2>/dev/null || { echo "warning: $name (pid ${!pid_var}) is no longer running" >&2; FAILED=1; }
done
if grep -Eqi 'error|exception|fail' "$WORK_DIR"/proxy-*.log; then
    echo "proxy logs have errors/warnings (first 10 matching lines):" >&2
    grep -Ehi 'error|exception|fail' "$WORK_DIR"/proxy-*.log | head -n 10 >&2
fi
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')

REDIS_VERSION=$("$REDIS_SERVER" --version | sed -n 's/.* v=\([^ ]*\).*/\1/p')
COMMIT=$(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=""
git -C "$REPO_DIR" --no-optional-locks diff --quiet HEAD -- src 2>/dev/null || DIRTY=1
TABLE=$(
    echo "# Scale: $LABEL timers ($STARTED UTC)"
    echo
    echo "commit $COMMIT${DIRTY:+ (src modified)}, redis $REDIS_VERSION, $(nproc 2>/dev/null || echo '?') CPUs;" \
        "load average (1/5/15 min) before: $LOAD_BEFORE, after: $LOAD_AFTER; 1,000 LOOP timers every 5 s fire throughout"
    echo
    echo "| figure | value | target | met |"
    echo "|---|---|---|---|"
    cat "$ROWS"
)
mkdir -p "$RESULTS_DIR"
OUT_FILE="$RESULTS_DIR/scale-$STARTED.md"
printf '%s\n' "$TABLE" >"$OUT_FILE"
echo
printf '%s\n' "$TABLE"
echo
echo "Written to ${OUT_FILE#"$REPO_DIR"/}" >&2
exit "$FAILED"
