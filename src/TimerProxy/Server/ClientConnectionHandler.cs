using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RedisTimer.Proxy.Hosting;
using RedisTimer.Proxy.Metrics;
using RedisTimer.Proxy.Timers;
using RedisTimer.Proxy.Scheduling;
using RedisTimer.Proxy.Upstream;
using RedisTimer.Resp;

namespace RedisTimer.Proxy.Server;

/// <summary>The listener (Transport) hands each accepted client here; the session sees only pipes.</summary>
public sealed class ClientConnectionHandler(
    UpstreamConnector connector,
    ITimerActivation timers,
    IHostApplicationLifetime lifetime,
    IOptions<ProxyOptions> options,
    ReplicaWait replicaWait,
    ProxyMetrics metrics,
    ILogger<ClientConnectionHandler> logger) : ConnectionHandler
{
    private readonly RespLimits _limits = new() { MaxBulkLength = options.Value.MaxBulkLength };
    private readonly int _maxClients = options.Value.MaxClients;
    private readonly long _timeoutMs = options.Value.Timeout * 1000L;
    private readonly ConcurrentDictionary<ClientSession, EndPoint?> _sessions = new();
    private int _sweeping;
    private int _open;
    private long _refusedUnlogged, _refusedLoggedAt = long.MinValue / 2;

    public override async Task OnConnectedAsync(ConnectionContext client)
    {
        metrics.ClientOpened();
        int open = Interlocked.Increment(ref _open);
        try
        {
            if (open > _maxClients)
            {
                // As Redis at its maxclients: this error, then the close; no upstream connection is opened for it.
                RefusedOverLimit(client);
                await ClientSession.RefuseAsync(client.Transport.Output, "max number of clients reached");
                return;
            }
            await ServeAsync(client);
        }
        finally
        {
            Interlocked.Decrement(ref _open);
            metrics.ClientClosed();
        }
    }

    // As Redis's clientsCron: every client looked at a few times a second, closed once idle for longer than the timeout.
    private async Task SweepIdleAsync()
    {
        using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(250));
        try
        {
            while (await tick.WaitForNextTickAsync(lifetime.ApplicationStopping))
            {
                long now = Environment.TickCount64;
                foreach (var (session, endpoint) in _sessions)
                {
                    if (!session.IsIdle(now, _timeoutMs)) continue;
                    _sessions.TryRemove(session, out _);
                    logger.ClosedIdle(endpoint, _timeoutMs / 1000);
                    session.CloseIdle();
                }
            }
        }
        catch (OperationCanceledException) { }
    }

    // A client storm at the limit is a line every 10 s with the count, not a line per refused client.
    private void RefusedOverLimit(ConnectionContext client)
    {
        long refused = Interlocked.Increment(ref _refusedUnlogged);
        long now = Environment.TickCount64, last = Interlocked.Read(ref _refusedLoggedAt);
        if (now - last < 10_000 || Interlocked.CompareExchange(ref _refusedLoggedAt, now, last) != last) return;
        Interlocked.Add(ref _refusedUnlogged, -refused);
        logger.Refused(client.RemoteEndPoint, $"max number of clients reached (Proxy:MaxClients {_maxClients}; {refused} refused since the last such line)");
    }

    private async Task ServeAsync(ConnectionContext client)
    {
        UpstreamLink upstream;
        try
        {
            // Not the client's ConnectionClosed token: a client that sends its commands and half-closes at
            // once (printf ... | nc -N) must still get its replies, as from Redis directly.
            upstream = await connector.ConnectAsync(lifetime.ApplicationStopping);
        }
        catch (UpstreamUnavailableException e)
        {
            logger.Refused(client.RemoteEndPoint, e.Message);
            await ClientSession.RefuseAsync(client.Transport.Output, e.Message);
            return;
        }

        logger.Connected(client.RemoteEndPoint, connector.Describe);
        await using (upstream)
        {
            var shutdown = client.Features.Get<IConnectionLifetimeNotificationFeature>()?.ConnectionClosedRequested ?? CancellationToken.None;
            var session = new ClientSession(client.Transport, upstream, _limits, connector.Describe,
                TimeSpan.FromMilliseconds(options.Value.ShutdownDrainMs), timers, connector.ConfiguredDatabase, logger, replicaWait, metrics);
            if (_timeoutMs > 0)
            {
                _sessions[session] = client.RemoteEndPoint;
                if (Interlocked.Exchange(ref _sweeping, 1) == 0) _ = SweepIdleAsync();
            }
            try
            {
                await session.RunAsync(shutdown);
            }
            finally
            {
                _sessions.TryRemove(session, out _);
            }
        }
        logger.Disconnected(client.RemoteEndPoint);
    }
}
