#!/usr/bin/env bash
# Sets up (redis, build) and runs every test. The tests start their own redis-server processes.
# The proxy's tests run twice: on the default transport (epoll on Linux x64) and on the sockets transport,
# the fallback on every other platform.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

# The dashboard's tests drive a real headless Chromium (tests/TimerProxy.Tests/Infrastructure/Browser.cs).
if [ -z "${CHROMIUM_PATH:-}" ] && ! command -v chromium >/dev/null; then
  echo "==> installing chromium (the dashboard's browser tests)"
  as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

# The clock-jump drill compiles a small LD_PRELOAD shim (tests/TimerProxy.Tests/Infrastructure/clockshift.c).
if ! command -v gcc >/dev/null; then
  echo "==> installing gcc (the clock-jump drill's shim)"
  as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc libc6-dev >/dev/null
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT

# The full log is long and the two test projects' output interleaves; the failures are repeated at the
# end so that the last lines of a red run say what failed.
run() {
  local label=$1
  shift
  echo "==> tests: $label"
  set +e
  "$@" 2>&1 | tee "$log"
  local status=${PIPESTATUS[0]}
  set -e
  if [ "$status" -ne 0 ]; then
    echo
    echo "==> tests ($label): dotnet test exited with $status; failures:"
    grep -E -A 12 '^  Failed |Test Run Aborted|crashed' "$log" || echo "(no failed test in the log: see above)"
    grep -E '^(Passed|Failed)!|^Total tests|^ +(Passed|Failed):' "$log" || true
  fi
  return "$status"
}

args=(-c Release --no-build -nologo --logger "console;verbosity=normal" "$@")
run "all projects" dotnet test RedisTimer.sln "${args[@]}"
run "proxy on the sockets transport" env Proxy__Transport=sockets dotnet test tests/TimerProxy.Tests "${args[@]}"
