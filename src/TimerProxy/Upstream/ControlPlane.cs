using System.Net;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace RedisTimer.Proxy.Upstream;

/// <summary>
/// The proxy's own connection to Redis (StackExchange.Redis), for the timer library and the scheduler.
/// Opened on first use only: a proxy that never sees a timer never opens it, and so never shows up in
/// Redis's client list or command statistics. Clients' connections are never shared with it.
/// </summary>
/// <remarks>
/// With several endpoints or Sentinels it connects to the master <see cref="MasterLocator"/> found, and to it
/// alone: after a switch the next <see cref="GetAsync"/> opens a connection to the new master and closes the old
/// one. Left to find the master itself, the library kept using the demoted one for a while after a Sentinel
/// failover (its reconciliation read an empty index there, and timers created on the new master did not fire).
/// </remarks>
public sealed class ControlPlane : IAsyncDisposable
{
    private readonly UpstreamEndpoint endpoint;
    private readonly UpstreamConnector connector;
    private readonly ILogger<ControlPlane> logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile ConnectionMultiplexer? _mux;
    private EndPoint? _muxMaster;

    public ControlPlane(UpstreamEndpoint endpoint, UpstreamConnector connector, ILogger<ControlPlane> logger)
    {
        this.endpoint = endpoint;
        this.connector = connector;
        this.logger = logger;
        endpoint.MasterChanged += _ => CloseDemoted();
    }

    // Closed at once, not when the next run asks for the new master: the scheduler's loops wait for their calls on
    // it to end before that run starts, and a call to a master that died would wait its whole timeout (10 s).
    private void CloseDemoted()
    {
        if (_mux is { } mux && !Equals(_muxMaster, endpoint.CurrentMaster)) _ = mux.CloseAsync(allowCommandsToComplete: false);
    }

    /// <summary>Fires when the master this connection serves is demoted: whoever holds it asks again.</summary>
    public CancellationToken MasterDemoted => endpoint.Demoted;

    public async Task<ConnectionMultiplexer> GetAsync()
    {
        var master = endpoint.CurrentMaster;
        if (_mux is { } ready && Equals(_muxMaster, master)) return ready;
        await _gate.WaitAsync();
        try
        {
            master = endpoint.CurrentMaster;
            if (_mux is not null && Equals(_muxMaster, master)) return _mux;
            var settings = endpoint.Settings;
            var config = settings.ForControlPlane();
            if (endpoint.NeedsLocating)
            {
                config.ServiceName = null;
                config.EndPoints.Clear();
                config.EndPoints.Add(master ?? throw new UpstreamUnavailableException($"upstream {endpoint} unavailable: no master found yet"));
            }
            config.AbortOnConnectFail = false;
            config.AllowAdmin = true; // INFO keyspace, to find the databases that hold timers
            config.ClientName = "redistimer";
            config.ConnectTimeout = Math.Max(settings.ConnectTimeoutMs, 5000);
            config.SyncTimeout = 10000;
            config.AsyncTimeout = 10000;
            config.KeepAlive = 60;
            // Back soon after Redis is: until then the library cannot be checked (a Redis restarted without
            // persistence refuses every rewritten command, "Function not found") and nothing fires. The heartbeat is
            // a local timer that notices the lost connection; it sends nothing itself.
            config.HeartbeatInterval = TimeSpan.FromMilliseconds(200);
            config.ReconnectRetryPolicy = new LinearRetry(200);
            config.Protocol = RedisProtocol.Resp2;
            // A Redis that refuses the proxy's credentials (or asks for some and none are configured, while clients sign
            // in themselves) would leave every call waiting 20 s for a connection that cannot succeed (StackExchange.Redis
            // reports no failure event for it), and end in a page of diagnostics: one PING first tells it in a moment.
            if (await connector.AuthRefusalAsync(CancellationToken.None) is { } refusal)
                throw new RedisConnectionException(ConnectionFailureType.AuthenticationFailure,
                    $"Redis refuses the proxy's own connection ({refusal}); give the proxy a user and password: --upstream-user / --upstream-password, or user= / password= in --upstream");
            var previous = _mux;
            _mux = await ConnectionMultiplexer.ConnectAsync(config);
            _muxMaster = master;
            logger.LogInformation("Control connection to {Upstream} open", endpoint);
            if (previous is not null) _ = previous.CloseAsync(allowCommandsToComplete: false);
            return _mux;
        }
        finally
        {
            _gate.Release();
        }
    }

    public override string ToString() => endpoint.ToString();

    public async ValueTask DisposeAsync()
    {
        if (_mux is not null) await _mux.CloseAsync(allowCommandsToComplete: true);
    }
}
