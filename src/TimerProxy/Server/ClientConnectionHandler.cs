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

    public override async Task OnConnectedAsync(ConnectionContext client)
    {
        metrics.ClientConnections.Add(1);
        metrics.ClientsConnected.Add(1);
        try
        {
            await ServeAsync(client);
        }
        finally
        {
            metrics.ClientsConnected.Add(-1);
        }
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
                TimeSpan.FromMilliseconds(options.Value.ShutdownDrainMs), timers, connector.ConfiguredDatabase, logger, replicaWait);
            await session.RunAsync(shutdown);
        }
        logger.Disconnected(client.RemoteEndPoint);
    }
}
