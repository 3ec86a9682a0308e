#!/usr/bin/env bash
# Publishes the proxy, precompiled (ReadyToRun), to artifacts/proxy: what scripts/run.sh, the tests that start the
# proxy as a process, the benchmarks and the Docker image all run. See docs/PIPELINE.md, "Cold start".
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet publish src/TimerProxy/TimerProxy.csproj -c Release --use-current-runtime --self-contained false \
  -o artifacts/proxy -nologo -v quiet "$@"
