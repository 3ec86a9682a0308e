#!/usr/bin/env bash
# The session differential fuzz (tests/TimerProxy.Tests/Server/SessionDifferentialFuzzTests.cs) for as long as asked:
# random command sequences sent as the same bytes, in random chunks, to the proxy and straight to a second Redis,
# every reply byte and every close compared. The test starts its own two redis-servers and the proxy (in process) on
# free loopback ports and stops them itself. Prints the seed, then the figures or the first difference, minimised.
set -euo pipefail

usage() {
    cat <<'EOF2'
Usage: bench/fuzz-session.sh [--minutes N] [--seed S] [--sequences N] [--transport epoll|sockets] [--no-build] [-h|--help]

  --minutes N     run for N minutes (default 5), as many sequences as fit
  --sequences N   run exactly N sequences instead
  --seed S        the run's seed (default: a random one, printed; SESSION_FUZZ_SEED in the environment also works)
  --transport T   the proxy's Proxy:Transport (default: the proxy's default)
  --no-build      use the existing Release build of tests/TimerProxy.Tests

Exit status: 0 when every reply matched, 1 on a difference (the report names the seed to rerun with).
EOF2
}

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd -- "$SCRIPT_DIR/.." && pwd)
minutes=5
sequences=""
seed=${SESSION_FUZZ_SEED:-}
transport=""
build=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --minutes) minutes=$2; shift 2 ;;
        --sequences) sequences=$2; shift 2 ;;
        --seed) seed=$2; shift 2 ;;
        --transport) transport=$2; shift 2 ;;
        --no-build) build=0; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done
[[ -n "$seed" ]] || seed=$(( (RANDOM << 15) | RANDOM ))
command -v redis-server >/dev/null || { echo "redis-server is required (scripts/setup.sh installs it)" >&2; exit 1; }

cd "$REPO_DIR"
if (( build )); then
    echo "==> building tests/TimerProxy.Tests (Release)"
    dotnet build tests/TimerProxy.Tests -c Release -nologo -v quiet >/dev/null
fi

export SESSION_FUZZ_SEED=$seed
if [[ -n "$sequences" ]]; then
    export SESSION_FUZZ_SEQUENCES=$sequences
    echo "==> session fuzz: seed $seed, $sequences sequences"
else
    export SESSION_FUZZ_SECONDS=$(( minutes * 60 ))
    echo "==> session fuzz: seed $seed, $minutes min"
fi
[[ -z "$transport" ]] || export Proxy__Transport=$transport

log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
dotnet test tests/TimerProxy.Tests -c Release --no-build -nologo \
    --filter "FullyQualifiedName~SessionDifferentialFuzzTests" --logger "console;verbosity=detailed" >"$log" 2>&1
status=$?
set -e
if (( status == 0 )); then
    grep -E 'session fuzz: seed [0-9-]+:' "$log" | head -1 | sed 's/^ *//'
    echo "==> result: no difference (seed $seed)"
else
    sed -n '/Error Message:/,/Stack Trace:/p' "$log" | grep -v 'Stack Trace:'
    grep -q 'Error Message:' "$log" || tail -40 "$log"
    echo "==> result: DIFFERENCE (seed $seed; rerun: bench/fuzz-session.sh --seed $seed)"
fi
exit "$status"
