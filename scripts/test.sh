#!/usr/bin/env bash
# Sets up (redis, build) and runs every test. The tests start their own redis-server processes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

# The full log is long and the two test projects' output interleaves; the failures are repeated at the
# end so that the last lines of a red run say what failed.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
dotnet test RedisTimer.sln -c Release --no-build -nologo --logger "console;verbosity=normal" "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
  echo
  echo "==> dotnet test exited with $status; failures:"
  grep -E -A 12 '^  Failed |Test Run Aborted|crashed' "$log" || echo "(no failed test in the log: see above)"
  grep -E '^(Passed|Failed)!|^Total tests|^ +(Passed|Failed):' "$log" || true
fi
exit "$status"
