#!/usr/bin/env bash
# Prepares a fresh Debian/Ubuntu machine: redis-server and redis-tools (7.0+) and a Release build.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null || ! command -v redis-benchmark >/dev/null; then
  echo "==> installing redis-server and redis-tools"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >/dev/null
  # The package starts a system service on 6379; the proxy and the tests start their own servers.
  as_root systemctl stop redis-server >/dev/null 2>&1 || as_root service redis-server stop >/dev/null 2>&1 || true
fi
version=$(redis-server --version | sed -n 's/.*v=\([0-9]*\)\..*/\1/p')
if [ "${version:-0}" -lt 7 ]; then
  echo "redis-server 7.0 or later is required (found $(redis-server --version))" >&2
  exit 1
fi

if ! command -v dotnet >/dev/null; then
  echo "the .NET 10 SDK is required: https://dotnet.microsoft.com/download" >&2
  exit 1
fi

echo "==> restoring and building (Release)"
dotnet build RedisTimer.sln -c Release -nologo -v quiet
echo "==> publishing the proxy (ReadyToRun) to artifacts/proxy"
bash scripts/publish-proxy.sh
