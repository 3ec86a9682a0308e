#!/usr/bin/env bash
# Sets up (redis, build) and runs every test. The tests start their own redis-server processes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
dotnet test RedisTimer.sln -c Release --no-build -nologo --logger "console;verbosity=normal" "$@"
