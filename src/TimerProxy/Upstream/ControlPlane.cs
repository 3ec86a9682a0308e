using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace RedisTimer.Proxy.Upstream;

/// <summary>
/// The proxy's own connection to Redis (StackExchange.Redis), for the timer library and the scheduler.
/// Opened on first use only: a proxy that never sees a timer never opens it, and so never shows up in
/// Redis's client list or command statistics. Clients' connections are never shared with it.
/// </summary>
public sealed class ControlPlane(UpstreamEndpoint endpoint, ILogger<ControlPlane> logger)
    : IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private ConnectionMultiplexer? _mux;

    public async Task<ConnectionMultiplexer> GetAsync()
    {
        if (_mux is { } ready) return ready;
        await _gate.WaitAsync();
        try
        {
            if (_mux is not null) return _mux;
            var settings = endpoint.Settings;
            var config = settings.ForControlPlane();
            config.AbortOnConnectFail = false;
            config.AllowAdmin = true; // INFO keyspace, to find the databases that hold timers
            config.ClientName = "redistimer";
            config.ConnectTimeout = Math.Max(settings.ConnectTimeoutMs, 5000);
            config.SyncTimeout = 10000;
            config.AsyncTimeout = 10000;
            config.KeepAlive = 60;
            config.Protocol = RedisProtocol.Resp2;
            _mux = await ConnectionMultiplexer.ConnectAsync(config);
            logger.LogInformation("Control connection to {Upstream} open", endpoint);
            return _mux;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_mux is not null) await _mux.CloseAsync(allowCommandsToComplete: true);
    }
}
