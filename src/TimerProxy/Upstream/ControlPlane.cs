using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RedisTimer.Proxy.Hosting;
using StackExchange.Redis;

namespace RedisTimer.Proxy.Upstream;

/// <summary>
/// The proxy's own connection to Redis (StackExchange.Redis), for the timer library and the scheduler.
/// Opened on first use only: a proxy that never sees a timer never opens it, and so never shows up in
/// Redis's client list or command statistics. Clients' connections are never shared with it.
/// </summary>
public sealed class ControlPlane(UpstreamEndpoint endpoint, IOptions<ProxyOptions> options, ILogger<ControlPlane> logger)
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
            var (host, port) = endpoint.HostAndPort;
            var config = new ConfigurationOptions
            {
                AbortOnConnectFail = false,
                AllowAdmin = true, // INFO keyspace, to find the databases that hold timers
                ClientName = "redistimer",
                ConnectTimeout = Math.Max(options.Value.UpstreamConnectTimeoutMs, 5000),
                SyncTimeout = 10000,
                AsyncTimeout = 10000,
                KeepAlive = 60,
                Protocol = RedisProtocol.Resp2,
            };
            config.EndPoints.Add(host, port);
            if (!string.IsNullOrEmpty(options.Value.UpstreamUser)) config.User = options.Value.UpstreamUser;
            if (!string.IsNullOrEmpty(options.Value.UpstreamPassword)) config.Password = options.Value.UpstreamPassword;
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
