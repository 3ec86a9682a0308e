#!/usr/bin/env bash
# Throughput/latency of the RedisTimer proxy compared with direct Redis, measured with redis-benchmark.
# Starts its own redis-server and proxy on free loopback ports, runs every case interleaved
# (direct, proxy, direct, proxy, ...) and reports the median of each side. See bench/README.md.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: bench/proxy-bench.sh [--quick] [--no-build] [--rounds N] [--haproxy] [--tls|--upstream-tls|--scripts] [-h|--help]

  --quick      divide every request count by 5 (shorter, noisier run)
  --no-build   use the existing Release build instead of running `dotnet build -c Release`
  --rounds N   rounds per case (default: $ROUNDS or 3); each round runs direct then proxy
  --haproxy    also measure a plain TCP hop (haproxy in tcp mode, from PATH) in the same rounds,
               as the reference for what any extra hop costs on this machine
  --tls        TLS on every hop: redis-benchmark --tls to Redis's TLS port, to the proxy's TLS port (its
               upstream ssl=true to Redis's TLS port) and, with --haproxy, to haproxy terminating and
               re-originating TLS; 64 B values, 20 and 50 clients, -P 1 and -P 16, and 1 client
  --upstream-tls  the same cases with TLS only towards Redis: redis-benchmark plain to the proxy (and haproxy),
               which speak TLS to Redis's TLS port; direct is plain to Redis's plain port (the cost of the
               upstream TLS hop alone)
  --scripts    Lua that does not call TIMER.*: EVALSHA, EVAL and FCALL of a one-line SET, 50 clients, -P 1 and -P 16,
               then EVALSHA again once a script that calls TIMER.* was loaded through the proxy (what the proxy's
               script handling costs the scripts it leaves alone)

Environment: ROUNDS, REDIS_SERVER, REDIS_BENCHMARK, REDIS_CLI, DOTNET, HAPROXY, KEYSPACE (see bench/README.md).
EOF
}

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd -- "$SCRIPT_DIR/.." && pwd)
PROXY_PROJECT="$REPO_DIR/src/TimerProxy"
DEFAULT_PROXY_DLL="$REPO_DIR/artifacts/proxy/RedisTimer.Proxy.dll"
PROXY_DLL=${PROXY_DLL:-$DEFAULT_PROXY_DLL}
RESULTS_DIR="$SCRIPT_DIR/results"

ROUNDS=${ROUNDS:-3}
REDIS_SERVER=${REDIS_SERVER:-redis-server}
REDIS_BENCHMARK=${REDIS_BENCHMARK:-redis-benchmark}
REDIS_CLI=${REDIS_CLI:-redis-cli}
DOTNET=${DOTNET:-dotnet}
HAPROXY=${HAPROXY:-haproxy}
KEYSPACE=${KEYSPACE:-10000}   # -r for redis-benchmark: keys key:000000000000 .. key:<KEYSPACE-1>
CLIENTS=50

QUICK=0
BUILD=1
WITH_HAPROXY=0
TLS=0
UPSTREAM_TLS_ONLY=0
SCRIPTS=0
while (($#)); do
    case "$1" in
        --tls) TLS=1 ;;
        --upstream-tls) TLS=1; UPSTREAM_TLS_ONLY=1 ;;
        --scripts) SCRIPTS=1 ;;
        --quick) QUICK=1 ;;
        --haproxy) WITH_HAPROXY=1 ;;
        --no-build) BUILD=0 ;;
        --rounds) [[ $# -ge 2 ]] || { echo "--rounds needs a value" >&2; exit 2; }; ROUNDS=$2; shift ;;
        --rounds=*) ROUNDS=${1#--rounds=} ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
((SCRIPTS && TLS)) && { echo "--scripts runs plain TCP only; leave out --tls/--upstream-tls" >&2; exit 2; }
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "ROUNDS must be a positive integer (got '$ROUNDS')" >&2; exit 2; }
[[ "$KEYSPACE" =~ ^[1-9][0-9]*$ ]] || { echo "KEYSPACE must be a positive integer (got '$KEYSPACE')" >&2; exit 2; }

# Request counts: each measurement should last ~2-3 s on the direct side (the proxy side is slower).
DIV=1
((QUICK)) && DIV=5
N_P1=$((200000 / DIV))      # 50 clients, no pipelining
N_P16=$((1000000 / DIV))    # 50 clients, -P 16
N_LAT=$((50000 / DIV))      # 1 client, no pipelining (latency)

# shellcheck source=bench/lib.sh
source "$SCRIPT_DIR/lib.sh"
require_tools "$REDIS_SERVER" "$REDIS_BENCHMARK" "$REDIS_CLI" "$DOTNET" python3
if ((TLS)); then require_tools openssl; fi
if ((WITH_HAPROXY)); then require_tools "$HAPROXY"; fi

# --- processes we own, stopped on any exit --------------------------------------------------------

WORK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/proxy-bench.XXXXXX")
REDIS_PID=""
PROXY_PID=""
HAPROXY_PID=""

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    # Proxy first, so it doesn't spend its shutdown complaining about a vanished upstream.
    stop_pid "$PROXY_PID" proxy
    stop_pid "$HAPROXY_PID" haproxy
    stop_pid "$REDIS_PID" redis-server
    dump_logs_on_failure "$rc" "$WORK_DIR" 20
    rm -rf "$WORK_DIR"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM


# --- build and start ------------------------------------------------------------------------------

if ((BUILD)); then
    echo "Building the proxy (Release)..." >&2
    bash "$REPO_DIR/scripts/publish-proxy.sh" >"$WORK_DIR/build.log" 2>&1 || { cat "$WORK_DIR/build.log" >&2; exit 1; }
fi
[[ -f "$PROXY_DLL" ]] || { echo "proxy not built: $PROXY_DLL missing (run without --no-build)" >&2; exit 1; }

# With --tls: a private CA and one certificate for 127.0.0.1, used by Redis, the proxy and haproxy alike.
make_certs() {
    local d=$WORK_DIR
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=bench CA" \
        -keyout "$d/ca.key" -out "$d/ca.crt" >"$d/openssl.log" 2>&1
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=127.0.0.1" \
        -keyout "$d/server.key" -out "$d/server.csr" >>"$d/openssl.log" 2>&1
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' >"$d/server.ext"
    openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 2 \
        -extfile "$d/server.ext" -out "$d/server.crt" >>"$d/openssl.log" 2>&1
    cat "$d/server.crt" "$d/server.key" >"$d/server.pem"
}

REDIS_PORT=$(free_port)
REDIS_ARGS=()
if ((TLS)); then
    make_certs
    REDIS_TLS_PORT=$(free_port)
    REDIS_ARGS=(--tls-port "$REDIS_TLS_PORT" --tls-cert-file "$WORK_DIR/server.crt" --tls-key-file "$WORK_DIR/server.key"
        --tls-ca-cert-file "$WORK_DIR/ca.crt" --tls-auth-clients no)
fi
"$REDIS_SERVER" --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
    --dir "$WORK_DIR" --daemonize no --logfile '' "${REDIS_ARGS[@]}" >"$WORK_DIR/redis.log" 2>&1 &
REDIS_PID=$!
wait_for_ping "$REDIS_PORT" "$REDIS_PID" redis-server

PROXY_PORT=$(free_port)
while [[ "$PROXY_PORT" == "$REDIS_PORT" ]]; do PROXY_PORT=$(free_port); done
PROXY_ARGS=(--upstream "127.0.0.1:$REDIS_PORT")
if ((TLS)); then
    PROXY_TLS_PORT=$(free_port)
    PROXY_ARGS=(--upstream "127.0.0.1:$REDIS_TLS_PORT,ssl=true" --upstream-tls-ca-cert-file "$WORK_DIR/ca.crt")
    ((UPSTREAM_TLS_ONLY)) || PROXY_ARGS+=(--tls-port "$PROXY_TLS_PORT" --tls-cert-file "$WORK_DIR/server.crt"
        --tls-key-file "$WORK_DIR/server.key" --tls-auth-clients no)
fi
"$DOTNET" "$PROXY_DLL" --port "$PROXY_PORT" "${PROXY_ARGS[@]}" >"$WORK_DIR/proxy.log" 2>&1 &
PROXY_PID=$!
wait_for_ping "$PROXY_PORT" "$PROXY_PID" proxy
echo "redis-server pid $REDIS_PID on 127.0.0.1:$REDIS_PORT, proxy pid $PROXY_PID on 127.0.0.1:$PROXY_PORT" >&2

if ((WITH_HAPROXY)); then
    HAPROXY_PORT=$(free_port)
    HAPROXY_BIND="" HAPROXY_SERVER="127.0.0.1:$REDIS_PORT"
    if ((TLS)); then
        HAPROXY_TLS_PORT=$(free_port)
        ((UPSTREAM_TLS_ONLY)) || HAPROXY_BIND="
    bind 127.0.0.1:$HAPROXY_TLS_PORT ssl crt $WORK_DIR/server.pem"
        HAPROXY_SERVER="127.0.0.1:$REDIS_TLS_PORT ssl verify required ca-file $WORK_DIR/ca.crt sni str(127.0.0.1)"
    fi
    cat >"$WORK_DIR/haproxy.cfg" <<CFG
global
    maxconn 4096
defaults
    mode tcp
    timeout connect 5s
    timeout client 300s
    timeout server 300s
listen redis
    bind 127.0.0.1:$HAPROXY_PORT$HAPROXY_BIND
    server redis $HAPROXY_SERVER
CFG
    "$HAPROXY" -f "$WORK_DIR/haproxy.cfg" -db >"$WORK_DIR/haproxy.log" 2>&1 &
    HAPROXY_PID=$!
    wait_for_ping "$HAPROXY_PORT" "$HAPROXY_PID" haproxy
    echo "haproxy ($("$HAPROXY" -v | head -1 | awk '{print $3}')) pid $HAPROXY_PID on 127.0.0.1:$HAPROXY_PORT" >&2
fi

# --- measurement helpers --------------------------------------------------------------------------

# bench_csv <port> <test> <clients> <pipeline> <requests> <size>
# Prints "rps p50_ms p99_ms" from redis-benchmark --csv (7.x columns are looked up by header name).
# A <test> of the form @NAME sends the command line held in the array NAME (e.g. EVALSHA <sha> 1 key:__rand_int__ v).
TLS_FLAGS=()
((TLS && !UPSTREAM_TLS_ONLY)) && TLS_FLAGS=(--tls --cacert "$WORK_DIR/ca.crt")
bench_csv() {
    local port=$1 test=$2 clients=$3 pipeline=$4 requests=$5 size=$6 out
    local -a what=(-t "$test")
    if [[ "$test" == @* ]]; then local -n command_line=${test#@}; what=("${command_line[@]}"); fi
    out=$("$REDIS_BENCHMARK" -h 127.0.0.1 -p "$port" "${TLS_FLAGS[@]}" -c "$clients" -P "$pipeline" \
        -n "$requests" -d "$size" -r "$KEYSPACE" --csv "${what[@]}" 2>"$WORK_DIR/benchmark.err") || {
        echo "redis-benchmark failed against port $port:" >&2
        cat "$WORK_DIR/benchmark.err" >&2
        return 1
    }
    # Parsed as CSV: a command line given with @NAME may hold commas and quotes of its own (a Lua script).
    python3 -c '
import csv, sys
want, rows = sys.argv[1], list(csv.reader(sys.stdin))
col = {name: i for i, name in enumerate(rows[0])}
for r in rows[1:]:
    if want.startswith("@") or r[0].upper() == want.upper():
        print(r[col["rps"]], r[col["p50_latency_ms"]], r[col["p99_latency_ms"]]); sys.exit(0)
sys.exit(1)' "$test" <<<"$out" || {
        echo "could not parse redis-benchmark --csv output:" >&2
        echo "$out" >&2
        return 1
    }
}

median() {   # median of the arguments (mean of the two middle values for an even count)
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) exit 1
        if (NR % 2) m = v[(NR + 1) / 2]; else m = (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%.10g\n", m }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
fmt_rps() { awk -v x="$1" 'BEGIN { printf "%.0f", x }'; }
fmt_ms() { awk -v x="$1" 'BEGIN { printf "%.3f", x }'; }

# row <label> <direct> <proxy> <haproxy or ""> <format>: one table row, with the haproxy columns when measured
row() {
    local label=$1 dv=$2 pv=$3 hv=$4 fmt=$5
    if ((WITH_HAPROXY)); then
        echo "| $label | $($fmt "$dv") | $($fmt "$pv") | $(ratio "$pv" "$dv") | $($fmt "$hv") | $(ratio "$hv" "$dv") |"
    else
        echo "| $label | $($fmt "$dv") | $($fmt "$pv") | $(ratio "$pv" "$dv") |"
    fi
}

# populate <size>: every key redis-benchmark -r $KEYSPACE can touch gets a <size>-byte value, so GET hits.
populate() {
    local size=$1 got
    "$REDIS_CLI" -h 127.0.0.1 -p "$REDIS_PORT" FLUSHALL >/dev/null
    python3 - "$KEYSPACE" "$size" <<'PY' | "$REDIS_CLI" -h 127.0.0.1 -p "$REDIS_PORT" --pipe >"$WORK_DIR/populate.log" 2>&1
import sys
keys, size = int(sys.argv[1]), int(sys.argv[2])
value = b"x" * size
out = sys.stdout.buffer
for i in range(keys):
    key = b"key:%012d" % i   # redis-benchmark's __rand_int__ format
    out.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key, len(value), value))
PY
    # Sanity check through the proxy: the data set is what GET will read.
    got=$("$REDIS_CLI" -h 127.0.0.1 -p "$PROXY_PORT" STRLEN "key:$(printf '%012d' $((KEYSPACE - 1)))")
    [[ "$got" == "$size" ]] || { echo "populate check failed: STRLEN via proxy = '$got', want $size" >&2; return 1; }
    got=$("$REDIS_CLI" -h 127.0.0.1 -p "$PROXY_PORT" DBSIZE)
    [[ "$got" == "$KEYSPACE" ]] || { echo "populate check failed: DBSIZE via proxy = '$got', want $KEYSPACE" >&2; return 1; }
}

ROWS=()
LAT_ROWS=()

# run_case <label> <test> <clients> <pipeline> <requests> <size> [latency]
run_case() {
    local label=$1 test=$2 clients=$3 pipeline=$4 requests=$5 size=$6 latency=${7:-}
    local r d p h a b c
    local -a d_rps=() p_rps=() h_rps=() d_p50=() p_p50=() h_p50=() d_p99=() p_p99=() h_p99=()
    for ((r = 1; r <= ROUNDS; r++)); do
        d=$(bench_csv "$DIRECT_TARGET" "$test" "$clients" "$pipeline" "$requests" "$size")
        p=$(bench_csv "$PROXY_TARGET" "$test" "$clients" "$pipeline" "$requests" "$size")
        read -r a b c <<<"$d"; d_rps+=("$a"); d_p50+=("$b"); d_p99+=("$c")
        read -r a b c <<<"$p"; p_rps+=("$a"); p_p50+=("$b"); p_p99+=("$c")
        h=""
        if ((WITH_HAPROXY)); then
            h=$(bench_csv "$HAPROXY_TARGET" "$test" "$clients" "$pipeline" "$requests" "$size")
            read -r a b c <<<"$h"; h_rps+=("$a"); h_p50+=("$b"); h_p99+=("$c")
            h=$(printf '  haproxy %10.0f ops/s' "$(fmt_rps "$a")")
        fi
        printf '  %-28s round %d/%d: direct %10.0f ops/s  proxy %10.0f ops/s%s\n' \
            "$label" "$r" "$ROUNDS" "$(fmt_rps "${d_rps[-1]}")" "$(fmt_rps "${p_rps[-1]}")" "$h" >&2
    done
    local hm=""
    if ((WITH_HAPROXY)); then hm=$(median "${h_rps[@]}"); fi
    ROWS+=("$(row "$label" "$(median "${d_rps[@]}")" "$(median "${p_rps[@]}")" "$hm" fmt_rps)")
    if [[ -n "$latency" ]]; then
        if ((WITH_HAPROXY)); then hm=$(median "${h_p50[@]}"); fi
        LAT_ROWS+=("$(row "$label p50 latency (ms)" "$(median "${d_p50[@]}")" "$(median "${p_p50[@]}")" "$hm" fmt_ms)")
        if ((WITH_HAPROXY)); then hm=$(median "${h_p99[@]}"); fi
        LAT_ROWS+=("$(row "$label p99 latency (ms)" "$(median "${d_p99[@]}")" "$(median "${p_p99[@]}")" "$hm" fmt_ms)")
    fi
}

size_label() { if (($1 >= 1024 && $1 % 1024 == 0)); then echo "$(($1 / 1024)) KiB"; else echo "$1 B"; fi; }

# --- run ------------------------------------------------------------------------------------------

STARTED=$(date -u +%Y%m%d-%H%M%S)
TLS_LABEL=TLS TLS_TITLE="TLS on every hop"
((UPSTREAM_TLS_ONLY)) && TLS_LABEL="upstream TLS" TLS_TITLE="TLS towards Redis only (clients plain)"
echo "Rounds: $ROUNDS, requests: -P 1 $N_P1, -P 16 $N_P16, 1-client $N_LAT, keyspace $KEYSPACE$( ((QUICK)) && echo ' (quick)')" >&2

# The ports redis-benchmark measures; with --tls, every hop's TLS port.
DIRECT_TARGET=$REDIS_PORT PROXY_TARGET=$PROXY_PORT HAPROXY_TARGET=${HAPROXY_PORT:-}
((TLS && !UPSTREAM_TLS_ONLY)) && DIRECT_TARGET=$REDIS_TLS_PORT PROXY_TARGET=$PROXY_TLS_PORT HAPROXY_TARGET=${HAPROXY_TLS_PORT:-}

# Warm-up, not in the medians: the rounds compare hops at their steady speed. A proxy just started runs its hot
# paths through the runtime's tiered compilation first (over TLS the first rounds of SET c20 P1 were at 34k, 37k
# and 44k ops/s, haproxy at 44-48k), which is the timer bench's cold figure, not a pass-through ratio. Every hop gets
# the same warm-up, and the proxy's first run is reported apart as its figure as started.
warm_up() {
    local clients=$CLIENTS target first=() run
    ((TLS)) && clients=20
    populate 64
    for target in "$DIRECT_TARGET" "$PROXY_TARGET" ${HAPROXY_TARGET:+"$HAPROXY_TARGET"}; do
        for run in 1 2; do
            read -r a _ <<<"$(bench_csv "$target" SET "$clients" 1 "$N_P1" 64)"
            ((run == 1)) && first+=("$a")
        done
        bench_csv "$target" SET "$clients" 16 "$N_P16" 64 >/dev/null
    done
    echo "  warm-up, first SET 64 B c$clients P1 run: direct $(fmt_rps "${first[0]}"), proxy $(fmt_rps "${first[1]}")${first[2]:+, haproxy $(fmt_rps "${first[2]}")} ops/s" >&2
    WARMUP_ROW=$(row "$( ((TLS)) && echo "$TLS_LABEL ")SET 64 B, c$clients P1, each hop as started (the warm-up's first run, not in the medians)" \
        "${first[0]}" "${first[1]}" "${first[2]:-}" fmt_rps)
}
warm_up

if ((TLS)); then
    populate 64
    for test in SET GET; do
        for clients in 20 50; do
            run_case "$TLS_LABEL $test 64 B, c$clients P1" "$test" "$clients" 1 "$N_P1" 64
            run_case "$TLS_LABEL $test 64 B, c$clients P16" "$test" "$clients" 16 "$N_P16" 64
        done
    done
elif ((SCRIPTS)); then
    populate 64
    # A script and a library function that never mention TIMER.: the proxy must forward them as it forwards SET.
    SET_SCRIPT="return redis.call('SET', KEYS[1], ARGV[1])"
    SHA=$("$REDIS_CLI" -h 127.0.0.1 -p "$PROXY_PORT" SCRIPT LOAD "$SET_SCRIPT")
    "$REDIS_CLI" -h 127.0.0.1 -p "$PROXY_PORT" FUNCTION LOAD REPLACE \
        "#!lua name=benchset
redis.register_function('bench_set', function(keys, args) return redis.call('SET', keys[1], args[1]) end)" >/dev/null
    VALUE=$(printf 'x%.0s' {1..64})
    EVALSHA_SET=(EVALSHA "$SHA" 1 key:__rand_int__ "$VALUE")
    EVAL_SET=(EVAL "$SET_SCRIPT" 1 key:__rand_int__ "$VALUE")
    FCALL_SET=(FCALL bench_set 1 key:__rand_int__ "$VALUE")
    for pipeline in 1 16; do
        n=$N_P1; ((pipeline > 1)) && n=$N_P16
        run_case "EVALSHA SET 64 B, c$CLIENTS P$pipeline" @EVALSHA_SET "$CLIENTS" "$pipeline" "$n" 64
        run_case "EVAL SET 64 B, c$CLIENTS P$pipeline" @EVAL_SET "$CLIENTS" "$pipeline" "$n" 64
        run_case "FCALL SET 64 B, c$CLIENTS P$pipeline" @FCALL_SET "$CLIENTS" "$pipeline" "$n" 64
    done
    # From here on the proxy looks at every EVALSHA (it may name a rewritten script); these still must not slow down.
    "$REDIS_CLI" -h 127.0.0.1 -p "$PROXY_PORT" SCRIPT LOAD "return redis.call('TIMER.INFO', KEYS[1])" >/dev/null
    for pipeline in 1 16; do
        n=$N_P1; ((pipeline > 1)) && n=$N_P16
        run_case "EVALSHA SET, after a TIMER script, c$CLIENTS P$pipeline" @EVALSHA_SET "$CLIENTS" "$pipeline" "$n" 64
    done
else
    for size in 64 4096; do
        echo "Populating $KEYSPACE keys with $(size_label "$size") values..." >&2
        populate "$size"
        # SET before GET; SET rewrites values of the same size, so GET always reads <size> bytes.
        for test in SET GET; do
            run_case "$test $(size_label "$size"), c$CLIENTS P1" "$test" "$CLIENTS" 1 "$N_P1" "$size"
            run_case "$test $(size_label "$size"), c$CLIENTS P16" "$test" "$CLIENTS" 16 "$N_P16" "$size"
        done
    done
fi
if ((!SCRIPTS)); then
    populate 64
    run_case "$( ((TLS)) && echo "$TLS_LABEL ")SET 64 B, c1 P1" SET 1 1 "$N_LAT" 64 latency
fi

# --- report ---------------------------------------------------------------------------------------

REDIS_VERSION=$("$REDIS_SERVER" --version | sed -n 's/.* v=\([^ ]*\).*/\1/p')
COMMIT=$(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)
# A proxy built elsewhere (PROXY_DLL, e.g. an older commit to compare with) is named instead of this checkout.
[[ "$PROXY_DLL" == "$DEFAULT_PROXY_DLL" ]] || COMMIT="$COMMIT (proxy: $PROXY_DLL)"
TABLE=$(
    echo "# Proxy vs direct Redis$( ((TLS)) && echo ", $TLS_TITLE")$( ((SCRIPTS)) && echo ", Lua without TIMER.*") ($STARTED UTC)"
    echo
    echo "commit $COMMIT, redis $REDIS_VERSION, $(nproc 2>/dev/null || echo '?') CPUs, $ROUNDS rounds interleaved (median of each side)," \
        "requests -P 1: $N_P1, -P 16: $N_P16, 1 client: $N_LAT, keyspace $KEYSPACE$( ((QUICK)) && echo ', --quick')"
    echo
    if ((WITH_HAPROXY)); then
        echo "| case | direct ops/s | proxy ops/s | ratio (proxy/direct) | haproxy ops/s | ratio (haproxy/direct) |"
        echo "|---|---:|---:|---:|---:|---:|"
    else
        echo "| case | direct ops/s | proxy ops/s | ratio (proxy/direct) |"
        echo "|---|---:|---:|---:|"
    fi
    printf '%s\n' "${ROWS[@]}" "${LAT_ROWS[@]}" "$WARMUP_ROW"
)

mkdir -p "$RESULTS_DIR"
OUT_FILE="$RESULTS_DIR/proxy-$( ((SCRIPTS)) && echo 'scripts-' || true)$( ((UPSTREAM_TLS_ONLY)) && echo 'upstream-' || true)$( ((TLS)) && echo 'tls-' || true)$STARTED.md"
printf '%s\n' "$TABLE" >"$OUT_FILE"
echo
printf '%s\n' "$TABLE"
echo
echo "Written to ${OUT_FILE#"$REPO_DIR"/}" >&2
