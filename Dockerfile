# The proxy image. It runs the same entry point as scripts/run.sh and the tests:
#   dotnet RedisTimer.Proxy.dll [--port N] [--upstream host:port]
# Set Proxy__Upstream (or --upstream) to your Redis; without it the image starts its own redis-server.
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
ENV Proxy__ListenAddress=0.0.0.0 \
    Proxy__Port=6380
EXPOSE 6380
VOLUME ["/app/data"]
ENTRYPOINT ["dotnet", "RedisTimer.Proxy.dll"]
