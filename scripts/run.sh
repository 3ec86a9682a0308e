#!/usr/bin/env bash
# Sets up (redis, build) and runs the proxy. With no upstream configured it starts a local redis-server.
# Extra arguments go to the proxy, e.g. scripts/run.sh --port 6380 --upstream 127.0.0.1:6379
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec dotnet artifacts/proxy/RedisTimer.Proxy.dll "$@"
