#!/usr/bin/env bash
# Drills at full size: (a) three proxies, one-shot timers due over 20 s, the fire lease's holder killed with SIGKILL
# twice while they fire; (b) Redis killed with SIGKILL while timers fire and restarted from its AOF (everysec) and from
# its RDB; (d) clients writing through the proxies meanwhile. Prints a Markdown summary: fired once / missed /
# duplicated, takeover times, the writers' errors and longest gaps, the overdue timers' delay after the restart.
# Starts and stops its own redis-server and proxy processes (by PID) on free loopback ports. See bench/README.md.
set -euo pipefail

usage() {
    cat <<'EOF2'
Usage: bench/drills.sh [--no-build] [--drills LIST] [--timers N] [--span-ms MS] [--lease-ms MS] [--down-ms MS] [-h|--help]

  --no-build       use the existing builds (artifacts/proxy, bench/DrillBench in Release)
  --drills LIST    comma-separated subset of leader,aof,rdb,failover (default: all four)
  --timers N       one-shot timers per drill (default 10000)
  --span-ms MS     over how long they fall due (default 20000)
  --lease-ms MS    Timers:LeaseMs of the proxies in the leader drill (default 3000, the proxy's default)
  --down-ms MS     how long Redis stays down in the restart drills (default 3000)

Environment: REDIS_SERVER, REDIS_CLI, DOTNET (see bench/README.md).
EOF2
}

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd -- "$SCRIPT_DIR/.." && pwd)
PROXY_DLL=${PROXY_DLL:-"$REPO_DIR/artifacts/proxy/RedisTimer.Proxy.dll"}
DRILL_PROJECT="$SCRIPT_DIR/DrillBench"
DRILL_DLL="$DRILL_PROJECT/bin/Release/net10.0/DrillBench.dll"
RESULTS_DIR="$SCRIPT_DIR/results"

REDIS_SERVER=${REDIS_SERVER:-redis-server}
REDIS_CLI=${REDIS_CLI:-redis-cli}
DOTNET=${DOTNET:-dotnet}

BUILD=1
DRILLS="leader,aof,rdb,failover"
TIMERS=10000
SPAN_MS=20000
LEASE_MS=3000
DOWN_MS=3000
LEAD_MS=3000   # from scheduling to the first due time
while (($#)); do
    case "$1" in
        --no-build) BUILD=0 ;;
        --drills) DRILLS=$2; shift ;;
        --timers) TIMERS=$2; shift ;;
        --span-ms) SPAN_MS=$2; shift ;;
        --lease-ms) LEASE_MS=$2; shift ;;
        --down-ms) DOWN_MS=$2; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

# shellcheck source=bench/lib.sh
source "$SCRIPT_DIR/lib.sh"
require_tools "$REDIS_SERVER" "$REDIS_CLI" "$DOTNET" python3

# --- processes we own, stopped on any exit --------------------------------------------------------

WORK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/drills.XXXXXX")
REDIS_PID=""
PROXY_PIDS=()
CLIENT_PIDS=()

stop_clients() {   # the drill's own clients: writers, and a watch for Redis to answer
    local pid
    for pid in "${CLIENT_PIDS[@]}"; do stop_pid "$pid" client; done
    CLIENT_PIDS=()
}

stop_all() {
    local pid
    stop_clients
    # Proxies first, so they don't spend their shutdown complaining about a vanished upstream.
    for pid in "${PROXY_PIDS[@]}"; do stop_pid "$pid" proxy; done
    PROXY_PIDS=()
    stop_pid "$REDIS_PID" redis-server
    REDIS_PID=""
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    stop_all
    dump_logs_on_failure "$rc" "$WORK_DIR" 30
    if [[ -n "${KEEP_WORK_DIR:-}" ]]; then echo "work directory kept: $WORK_DIR" >&2; else rm -rf "$WORK_DIR"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# In the foreground only: "drill ... &" would put a subshell between us and the process, and stopping the subshell by
# its PID would leave the client running. Background clients start "$DOTNET" "$DRILL_DLL" themselves.
drill() { "$DOTNET" "$DRILL_DLL" "$@"; }

now_us() { date +%s%6N; }

sleep_until_us() {   # sleep_until_us <unix µs>
    local ms=$((($1 - $(now_us)) / 1000))
    if ((ms > 0)); then sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"; fi
}

start_redis() {   # start_redis <name> <port> <dir> [extra args...]: sets REDIS_PID; the same dir again is a restart
    local name=$1 port=$2 dir=$3
    shift 3
    mkdir -p "$dir"
    "$REDIS_SERVER" --bind 127.0.0.1 --port "$port" --dir "$dir" --daemonize no --logfile '' "$@" >>"$WORK_DIR/$name.log" 2>&1 &
    REDIS_PID=$!
}

start_proxy() {   # start_proxy <name> <redis port> [extra args...]: appends to PROXY_PIDS; sets STARTED_PORT
    local name=$1 redis_port=$2 port
    shift 2
    port=$(free_port)
    "$DOTNET" "$PROXY_DLL" --port "$port" --upstream "127.0.0.1:$redis_port" "$@" >"$WORK_DIR/$name.log" 2>&1 &
    PROXY_PIDS+=($!)
    STARTED_PORT=$port
    wait_for_ping "$port" "$!" "$name"
}

start_writer() {   # start_writer <name> <endpoints> : a client writing through the proxies until stopped
    "$DOTNET" "$DRILL_DLL" writer --via "$2" --key "drill:w:$1" --log "$WORK_DIR/writer-$1.txt" >"$WORK_DIR/writer-$1.log" 2>&1 &
    CLIENT_PIDS+=($!)
}

endpoints_from() {   # endpoints_from <first port> <port>...: host:port list, the first one first, each once
    local first=$1 port list="127.0.0.1:$1"
    shift
    for port in "$@"; do [[ "$port" == "$first" ]] || list+=",127.0.0.1:$port"; done
    echo "$list"
}

# --- build ----------------------------------------------------------------------------------------

if ((BUILD)); then
    echo "Building the proxy (scripts/publish-proxy.sh) and bench/DrillBench (Release)..." >&2
    bash "$REPO_DIR/scripts/publish-proxy.sh" >"$WORK_DIR/build.log" 2>&1 || { cat "$WORK_DIR/build.log" >&2; exit 1; }
    "$DOTNET" build -c Release --nologo -v quiet "$DRILL_PROJECT" >"$WORK_DIR/build.log" 2>&1 || { cat "$WORK_DIR/build.log" >&2; exit 1; }
fi
for dll in "$PROXY_DLL" "$DRILL_DLL"; do
    [[ -f "$dll" ]] || { echo "not built: $dll missing (run without --no-build)" >&2; exit 1; }
done

# --- drill (c): Sentinel failover and a kill of the new master -----------------------------------

# The test SentinelFailoverDrillTests at full size (its redis-servers, Sentinels and in-process proxy are its own, stopped
# by PID when it ends): master + 2 replicas + 3 Sentinels, SENTINEL FAILOVER then kill -9 of the new master while the
# timers fire, without and with --wait-replicas 1, every fire counted by a subscriber on each node.
failover_drill() {
    local log="$WORK_DIR/failover.log"
    echo "Drill (c): Sentinel failover, $TIMERS timers over $SPAN_MS ms, without and with --wait-replicas 1..." >&2
    REDISTIMER_DRILL_TIMERS=$TIMERS REDISTIMER_DRILL_SPAN_MS=$SPAN_MS "$DOTNET" test "$REPO_DIR/tests/TimerProxy.Tests" -c Release \
        --nologo --filter "FullyQualifiedName~SentinelFailoverDrillTests" --logger "console;verbosity=detailed" >"$log" 2>&1 || RC=1
    {
        echo "## (c) Sentinel failover (SENTINEL FAILOVER, then kill -9 of the new master)"
        echo
        echo "| run | result | longest time without a fire |"
        echo "|---|---|---:|"
        python3 - "$log" <<'PY'
import re, sys
text = open(sys.argv[1], errors="replace").read()
for m in re.finditer(r"^ (wait-replicas \d): (.*?)\n longest time without a fire: (\d+) ms", text, re.M):
    print(f"| {m.group(1)} | {m.group(2)} | {m.group(3)} ms |")
PY
        grep -E "^ +(Passed|Failed) .*SentinelFailoverDrill" "$log" | sed 's/^ */- /' || true
        echo
    } >>"$WORK_DIR/summary.md"
}

# --- drill (a) + (d): the leader killed twice ----------------------------------------------------

leader_drill() {
    local redis_port ports=() pids=() i pid first last kills=() victim_logs=() bystander_port bystander_killed=0
    redis_port=$(free_port)
    start_redis leader-redis "$redis_port" "$WORK_DIR/leader-redis" --save '' --appendonly no
    wait_for_ping "$redis_port" "$REDIS_PID" redis-server
    for i in 0 1 2; do
        start_proxy "leader-proxy-$i" "$redis_port" --Timers:LeaseMs "$LEASE_MS"
        ports+=("$STARTED_PORT")
        pids+=("${PROXY_PIDS[-1]}")
    done
    port_of() { local k; for k in "${!pids[@]}"; do if [[ "${pids[$k]}" == "$1" ]]; then echo "${ports[$k]}"; fi; done; }
    alive_ports() { local k; for k in "${!pids[@]}"; do if kill -0 "${pids[$k]}" 2>/dev/null; then echo "${ports[$k]}"; fi; done; }
    local redis="127.0.0.1:$redis_port"
    drill load --redis "$redis"
    drill activate --via "$(endpoints_from "${ports[@]}")"
    pid=$(drill leader --redis "$redis")
    for i in "${!pids[@]}"; do
        if [[ "${pids[$i]}" != "$pid" ]]; then bystander_port=${ports[$i]}; break; fi
    done
    start_writer bystander "$(endpoints_from "$bystander_port" "${ports[@]}")"
    echo "leader drill: redis $redis_port, proxies ${ports[*]} (pids ${pids[*]}), leader pid $pid" >&2

    local due
    due=$(drill schedule --redis "$redis" --via "$(endpoints_from "${ports[@]}")" --prefix drill:a: \
        --count "$TIMERS" --span-ms "$SPAN_MS" --lead-ms "$LEAD_MS" --out "$WORK_DIR/leader-timers.txt")
    read -r first last <<<"$due"
    local kill_at=(
        $((first + SPAN_MS * 1000 / 4))
        $((first + SPAN_MS * 1000 * 3 / 5))
    )
    for i in 0 1; do
        pid=$(drill leader --redis "$redis")
        start_writer "victim-$i" "$(endpoints_from "$(port_of "$pid")" $(alive_ports))"
        victim_logs+=(--victim-log "$WORK_DIR/writer-victim-$i.txt")
        sleep_until_us "$(( kill_at[i] > $(now_us) + 1000000 ? kill_at[i] : $(now_us) + 1000000 ))"   # the writer has written by then
        if [[ "$(port_of "$pid")" == "$bystander_port" ]]; then bystander_killed=1; fi
        local sent exited
        sent=$(now_us)
        kill -KILL "$pid"
        wait "$pid" 2>/dev/null || true
        exited=$(now_us)
        kills+=(--kill "$sent,$exited")
        echo "killed leader pid $pid at +$(((sent - first) / 1000)) ms of the firing span" >&2
        pid=$(drill takeover --redis "$redis" --dead "$pid" --timeout-s 60)
        echo "  pid $pid fires now, +$((($(now_us) - sent) / 1000)) ms after the kill (as seen by polling)" >&2
    done
    drill wait-fired --redis "$redis" --ids "$WORK_DIR/leader-timers.txt" --timeout-s $((SPAN_MS / 1000 + 60))
    sleep 1 # room for a duplicate fire to show up, and for the writers to write after the second kill
    stop_clients
    drill report-leader --redis "$redis" --timers "$WORK_DIR/leader-timers.txt" --span-ms "$SPAN_MS" --proxies 3 --lease-ms "$LEASE_MS" \
        "${kills[@]}" "${victim_logs[@]}" --bystander-log "$WORK_DIR/writer-bystander.txt" --bystander-killed "$bystander_killed" \
        >>"$WORK_DIR/summary.md" || RC=1
    stop_all
}

# --- drill (b) + (d): Redis killed and restarted from disk ---------------------------------------

restart_drill() {   # restart_drill AOF|RDB
    local kind=$1 redis_port dir first last killed ready persistence=()
    case "$kind" in
        AOF) persistence=(--save '' --appendonly yes --appendfsync everysec) ;;
        RDB) persistence=(--save '' --appendonly no) ;;   # saved with BGSAVE during the run
    esac
    redis_port=$(free_port)
    dir="$WORK_DIR/restart-$kind-redis"
    start_redis "restart-$kind-redis" "$redis_port" "$dir" "${persistence[@]}"
    wait_for_ping "$redis_port" "$REDIS_PID" redis-server
    start_proxy "restart-$kind-proxy" "$redis_port"
    local redis="127.0.0.1:$redis_port" proxy="127.0.0.1:$STARTED_PORT"
    drill load --redis "$redis"
    drill activate --via "$proxy"
    start_writer "restart-$kind" "$proxy"
    echo "restart drill ($kind): redis $redis_port (pid $REDIS_PID), proxy $STARTED_PORT (pid ${PROXY_PIDS[-1]})" >&2

    local due
    due=$(drill schedule --redis "$redis" --via "$proxy" --prefix drill:b: \
        --count "$TIMERS" --span-ms "$SPAN_MS" --lead-ms "$LEAD_MS" --out "$WORK_DIR/restart-$kind-timers.txt")
    read -r first last <<<"$due"
    local kill_at=$((first + SPAN_MS * 1000 * 2 / 5))
    sleep_until_us $((first + SPAN_MS * 1000 * 3 / 10))
    if [[ "$kind" == RDB ]]; then
        "$REDIS_CLI" -p "$redis_port" BGSAVE >/dev/null
        while "$REDIS_CLI" -p "$redis_port" INFO persistence | grep -q '^rdb_bgsave_in_progress:1'; do sleep 0.01; done
        "$REDIS_CLI" -p "$redis_port" INFO persistence | grep -q '^rdb_last_bgsave_status:ok' || { echo "BGSAVE failed" >&2; exit 1; }
        echo "  saved (BGSAVE) at +$((($(now_us) - first) / 1000)) ms of the firing span" >&2
    fi
    # Made after the save (lost from the RDB), due after the restart.
    local late_lead_ms=$(((kill_at - $(now_us)) / 1000 + DOWN_MS + 3000))
    drill schedule --redis "$redis" --via "$proxy" --prefix drill:b:late: --count $((TIMERS / 10)) --span-ms 2000 \
        --lead-ms "$late_lead_ms" --out "$WORK_DIR/restart-$kind-late.txt" >/dev/null
    sleep_until_us "$kill_at"
    kill -KILL "$REDIS_PID"
    wait "$REDIS_PID" 2>/dev/null || true
    killed=$(now_us)   # once it is gone: nothing fires from here until the restart
    echo "  killed redis-server at +$(((killed - first) / 1000)) ms of the firing span; down for $DOWN_MS ms" >&2
    # Watching already while Redis is down, so the moment it answers is not late by the watcher's own start-up.
    "$DOTNET" "$DRILL_DLL" ready --redis "$redis" --timeout-s $((DOWN_MS / 1000 + 60)) >"$WORK_DIR/restart-$kind-ready.txt" &
    local watch=$!
    CLIENT_PIDS+=("$watch")
    sleep "$((DOWN_MS / 1000)).$(printf '%03d' $((DOWN_MS % 1000)))"
    start_redis "restart-$kind-redis" "$redis_port" "$dir" "${persistence[@]}"
    wait "$watch"
    ready=$(cat "$WORK_DIR/restart-$kind-ready.txt")
    drill persisted --redis "$redis" --prefix drill:b: --out "$WORK_DIR/restart-$kind-persisted.txt"
    drill wait-fired --redis "$redis" --ids "$WORK_DIR/restart-$kind-persisted.txt" --timeout-s $((SPAN_MS / 1000 + 60))
    sleep 1 # room for a duplicate fire to show up
    stop_clients
    drill report-restart --redis "$redis" --kind "$kind$([[ $kind == AOF ]] && echo ' (appendfsync everysec)' || echo ' (BGSAVE during the run)')" \
        --timers "$WORK_DIR/restart-$kind-timers.txt" --late "$WORK_DIR/restart-$kind-late.txt" \
        --persisted "$WORK_DIR/restart-$kind-persisted.txt" --killed-us "$killed" --ready-us "$ready" \
        --writer-log "$WORK_DIR/writer-restart-$kind.txt" >>"$WORK_DIR/summary.md" || RC=1
    stop_all
}

# --- run and report -------------------------------------------------------------------------------

STARTED=$(date -u +%Y%m%d-%H%M%S)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')
: >"$WORK_DIR/summary.md"
RC=0   # 1 when a report found the drill did not hold (its table is printed all the same); any other failure stops the script
IFS=',' read -r -a SELECTED <<<"$DRILLS"
for d in "${SELECTED[@]}"; do
    case "$d" in
        leader) leader_drill ;;
        aof) restart_drill AOF ;;
        rdb) restart_drill RDB ;;
        failover) failover_drill ;;
        *) echo "unknown drill: $d (leader, aof, rdb, failover)" >&2; exit 2 ;;
    esac
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')

REDIS_VERSION=$("$REDIS_SERVER" --version | sed -n 's/.* v=\([^ ]*\).*/\1/p')
COMMIT=$(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=""   # read-only check (no index refresh): were the proxy sources modified against HEAD?
git -C "$REPO_DIR" --no-optional-locks diff --quiet HEAD -- src 2>/dev/null || DIRTY=1
SUMMARY=$(
    echo "# Drills ($STARTED UTC)"
    echo
    echo "commit $COMMIT${DIRTY:+ (src modified)}, redis $REDIS_VERSION, $(nproc 2>/dev/null || echo '?') CPUs; $TIMERS timers over $SPAN_MS ms" \
        "per drill, lease $LEASE_MS ms, Redis down $DOWN_MS ms; load average (1/5/15 min) before: $LOAD_BEFORE, after: $LOAD_AFTER"
    echo
    cat "$WORK_DIR/summary.md"
)
mkdir -p "$RESULTS_DIR"
OUT_FILE="$RESULTS_DIR/drills-$STARTED.md"
printf '%s\n' "$SUMMARY" >"$OUT_FILE"
echo
printf '%s\n' "$SUMMARY"
echo
echo "Written to ${OUT_FILE#"$REPO_DIR"/}" >&2
exit "$RC"
