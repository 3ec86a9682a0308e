# The proxy image. It runs the same entry point as scripts/run.sh and the tests:
#   dotnet RedisTimer.Proxy.dll [--port N] [--upstream host:port]
# tests/TimerProxy.Tests/Hosting/DockerImageTests.cs reads the final stage below (WORKDIR, ENV, USER, HEALTHCHECK,
# ENTRYPOINT) and runs the published binary with exactly that entry point, environment and health check.
#
# Configuration is by environment variables (every setting of the README's Configuration table: a ':' in its name
# becomes '__'), e.g.
#   Proxy__Upstream=redis:6379              the Redis to serve (or a StackExchange.Redis string:
#                                           redis:6379,user=app,password=...,defaultDatabase=2); empty: the image
#                                           starts its own redis-server, with its data in /app/data/redis
#   Proxy__UpstreamPassword=...             AUTH on every upstream connection (Proxy__UpstreamUser for an ACL user)
#   Proxy__Port=6380                        the port clients connect to (the health check PINGs it)
#   Proxy__Metrics__Port=9464               Prometheus /metrics (with Proxy__Metrics__Address=0.0.0.0 to scrape it
#                                           from outside the container)
#   Timers__WaitReplicas=1                  wait for a replica before answering TIMER.NEW / TIMER.KILL
#   Serilog__MinimumLevel__Default=Debug    the log level
# Arguments after the image name go to the proxy too (docker run redistimer --maxclients 500), but the HEALTHCHECK
# below sees only the environment: give the listen port and address as Proxy__Port / Proxy__ListenAddress.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY Directory.Build.props RedisTimer.sln appsettings.json ./
COPY src/Resp/Resp.csproj src/Resp/
COPY src/TimerProxy/TimerProxy.csproj src/TimerProxy/
RUN dotnet restore src/TimerProxy/TimerProxy.csproj --use-current-runtime
COPY src/ src/
# As scripts/publish-proxy.sh: ReadyToRun for the build platform (PublishReadyToRun in the project).
RUN dotnet publish src/TimerProxy/TimerProxy.csproj -c Release --no-restore --use-current-runtime --self-contained false -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0
# redis-server only serves the embedded mode (no upstream configured).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app ./
# The embedded redis-server keeps its AOF and RDB in data/redis under the working directory
# (Proxy:EmbeddedRedis:DataDirectory): owned by the non-root user the proxy runs as (APP_UID, from the base image),
# before VOLUME, so that a new volume starts with that owner.
RUN mkdir -p /app/data && chown "$APP_UID" /app/data
ENV Proxy__ListenAddress=0.0.0.0 \
    Proxy__Port=6380
EXPOSE 6380
VOLUME ["/app/data"]
USER $APP_UID
# The binary itself PINGs its own port (no shell, curl or redis-cli needed): healthy on +PONG (or -NOAUTH, a Redis whose
# clients authenticate themselves), unhealthy when nothing answers within 2 s or the proxy answers an error, such as
# "-ERR upstream redis:6379 unavailable: ..." while Redis is down.
HEALTHCHECK --interval=10s --timeout=5s --start-period=15s --retries=3 CMD ["dotnet", "RedisTimer.Proxy.dll", "--healthcheck"]
ENTRYPOINT ["dotnet", "RedisTimer.Proxy.dll"]
