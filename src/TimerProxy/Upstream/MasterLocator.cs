using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RedisTimer.Proxy.Hosting;
using StackExchange.Redis;

namespace RedisTimer.Proxy.Upstream;

/// <summary>
/// Keeps <see cref="UpstreamEndpoint"/> on the current master when the configuration names several endpoints
/// (the one whose <c>ROLE</c> is master) or Sentinels (<c>serviceName</c>: their <c>+switch-master</c> events, and
/// <c>SENTINEL GET-MASTER-ADDR-BY-NAME</c> as a check for a missed one). With one endpoint it does nothing and
/// sends nothing. Its connections are StackExchange.Redis's, named <c>redistimer-locator</c>. It also follows
/// each Sentinel's failover events, so that firing pauses from a failover's start until the new master is known
/// (<see cref="UpstreamEndpoint.FailingOver"/>).
/// </summary>
public sealed class MasterLocator(UpstreamEndpoint endpoint, IOptions<ProxyOptions> options, ILogger<MasterLocator> logger) : IHostedService, IAsyncDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private ConnectionMultiplexer? _mux;
    private readonly List<ConnectionMultiplexer> _events = new();

    // A pause outlives a missed end of failover at most this long (Sentinel's own failover-timeout is 3 minutes).
    private static readonly TimeSpan FailoverPauseAtMost = TimeSpan.FromSeconds(30);
    private Task _watching = Task.CompletedTask;

    public async Task StartAsync(CancellationToken cancel)
    {
        if (!endpoint.NeedsLocating) return;
        var settings = endpoint.Settings;
        var found = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _watching = GuardAsync(settings.ServiceName is { } service
            ? () => WatchSentinelsAsync(settings, service, found, _stopping.Token)
            : () => WatchRolesAsync(settings, found, _stopping.Token));
        // The listener opens after this: wait a moment for the first master, so that the first clients need not fail.
        var waited = await Task.WhenAny(found.Task, Task.Delay(settings.ConnectTimeoutMs, cancel));
        if (waited != found.Task)
            logger.LogWarning("No master found yet for {Upstream}; clients get an error until one is", endpoint);
    }

    private async Task GuardAsync(Func<Task> watch)
    {
        try
        {
            await watch();
        }
        catch (Exception e) when (!_stopping.IsCancellationRequested)
        {
            logger.LogError(e, "Following the master of {Upstream} stopped: new connections keep going to {Master}", endpoint.Settings, endpoint);
        }
    }

    private TimeSpan Interval => TimeSpan.FromMilliseconds(options.Value.MasterCheckMs);

    private ConfigurationOptions Config(UpstreamSettings settings, bool sentinels)
    {
        var config = settings.ForControlPlane();
        config.ServiceName = null; // asking the Sentinels ourselves, not a connection to the master
        if (sentinels) config.CommandMap = CommandMap.Sentinel;
        config.AbortOnConnectFail = false;
        config.ClientName = "redistimer-locator";
        config.ConnectTimeout = Math.Max(settings.ConnectTimeoutMs, 1000);
        config.AsyncTimeout = config.SyncTimeout = Math.Max(settings.ConnectTimeoutMs, 1000);
        return config;
    }

    private async Task WatchSentinelsAsync(UpstreamSettings settings, string service, TaskCompletionSource found, CancellationToken stop)
    {
        var mux = _mux = await ConnectionMultiplexer.SentinelConnectAsync(Config(settings, sentinels: true));
        // Each Sentinel's own events, on a connection of its own: a failover is run, and announced, by one of them.
        foreach (var sentinel in settings.Endpoints)
        {
            var config = Config(settings, sentinels: true);
            config.EndPoints.Clear();
            config.EndPoints.Add(sentinel);
            var events = await ConnectionMultiplexer.SentinelConnectAsync(config);
            lock (_events) _events.Add(events);
            var subscriber = events.GetSubscriber();
            await subscriber.SubscribeAsync(RedisChannel.Literal("+switch-master"), (_, message) =>
            {
                // "<name> <old ip> <old port> <new ip> <new port>"
                var parts = ((string?)message ?? "").Split(' ');
                if (parts.Length == 5 && parts[0] == service && int.TryParse(parts[4], out int port))
                    Found(ToEndPoint(parts[3], port), "Sentinel +switch-master", found);
            });
            string name = EndPointCollection.ToString(sentinel);
            await subscriber.SubscribeAsync(RedisChannel.Pattern("*failover*"), (channel, message) => OnFailoverEvent(name, service, channel!, message!));
        }
        while (!stop.IsCancellationRequested)
        {
            foreach (var server in mux.GetServers().Where(s => s.IsConnected))
            {
                try
                {
                    if (await server.SentinelGetMasterAddressByNameAsync(service) is { } master)
                    {
                        Found(master, $"Sentinel {EndPointCollection.ToString(server.EndPoint)}", found);
                        break;
                    }
                }
                catch (Exception e) when (e is RedisException or TimeoutException)
                {
                    logger.LogDebug(e, "Sentinel {Sentinel} did not answer", server.EndPoint);
                }
            }
            await Delay(stop);
        }
    }

    /// <summary>
    /// "+try-failover master &lt;name&gt; &lt;ip&gt; &lt;port&gt;" and the "+failover-state-..." that follow it (from the Sentinel running
    /// the failover), "+failover-detected" (from the others): firing pauses; "-failover-abort-...": it goes on. The
    /// new master ends the pause (<see cref="UpstreamEndpoint.SetMaster"/>).
    /// </summary>
    private void OnFailoverEvent(string sentinel, string service, string channel, string message)
    {
        var parts = message.Split(' ');
        if (parts.Length < 2 || parts[0] != "master" || parts[1] != service) return;
        if (channel.StartsWith("-failover-abort", StringComparison.Ordinal) || channel == "+failover-end-for-timeout")
        {
            endpoint.EndFailover();
            logger.LogWarning("Sentinel {Sentinel}: {Event} for {Service}; firing goes on with {Master}", sentinel, channel, service, endpoint);
        }
        else if (channel is "+try-failover" or "+failover-detected" || channel.StartsWith("+failover-state-", StringComparison.Ordinal))
        {
            // Only about the master connected to: the states after the promotion name the old one, left already.
            if (parts.Length < 4 || !int.TryParse(parts[3], out int port) || !ToEndPoint(parts[2], port).Equals(endpoint.CurrentMaster)) return;
            bool already = endpoint.FailingOver;
            endpoint.BeginFailover(FailoverPauseAtMost);
            if (!already)
                logger.LogWarning("Sentinel {Sentinel}: {Event} for {Service}; firing pauses until the new master is known", sentinel, channel, service);
        }
    }

    private async Task WatchRolesAsync(UpstreamSettings settings, TaskCompletionSource found, CancellationToken stop)
    {
        var mux = _mux = await ConnectionMultiplexer.ConnectAsync(Config(settings, sentinels: false));
        while (!stop.IsCancellationRequested)
        {
            var masters = new List<EndPoint>();
            foreach (var candidate in settings.Endpoints)
            {
                try
                {
                    if (await mux.GetServer(candidate).RoleAsync() is Role.Master) masters.Add(candidate);
                }
                catch (Exception e) when (e is RedisException or TimeoutException)
                {
                    logger.LogDebug(e, "{Endpoint} did not answer ROLE", candidate);
                }
            }
            // While a switch is half done two may say master: stay on the current one as long as it does.
            var current = endpoint.CurrentMaster;
            if (masters.Count > 0 && (current is null || !masters.Contains(current))) Found(masters[0], "ROLE", found);
            await Delay(stop);
        }
    }

    private void Found(EndPoint master, string source, TaskCompletionSource found)
    {
        var previous = endpoint.CurrentMaster;
        if (endpoint.SetMaster(master))
        {
            if (previous is null) logger.LogInformation("Master of {Upstream} is {Master} ({Source})", endpoint.Settings, EndPointCollection.ToString(master), source);
            else logger.LogWarning("Master of {Upstream} moved from {Previous} to {Master} ({Source}); connections to {Previous} are closed",
                endpoint.Settings, EndPointCollection.ToString(previous), EndPointCollection.ToString(master), source, EndPointCollection.ToString(previous));
        }
        found.TrySetResult();
    }

    private static EndPoint ToEndPoint(string host, int port) =>
        IPAddress.TryParse(host, out var ip) ? new IPEndPoint(ip, port) : new DnsEndPoint(host, port);

    private async Task Delay(CancellationToken stop)
    {
        try { await Task.Delay(Interval, stop); }
        catch (OperationCanceledException) { }
    }

    public async Task StopAsync(CancellationToken cancel)
    {
        _stopping.Cancel();
        try { await _watching.WaitAsync(cancel); }
        catch (Exception e) when (e is OperationCanceledException or RedisException) { }
    }

    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        if (_mux is { } mux) await mux.DisposeAsync();
        ConnectionMultiplexer[] events;
        lock (_events) events = _events.ToArray();
        foreach (var e in events) await e.DisposeAsync();
    }
}
