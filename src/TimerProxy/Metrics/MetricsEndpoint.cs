using System.Net;
using System.Reflection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Prometheus;
using RedisTimer.Proxy.Hosting;
using RedisTimer.Proxy.Upstream;

namespace RedisTimer.Proxy.Metrics;

/// <summary>
/// Serves <c>/metrics</c> in the Prometheus text format on <c>Proxy:Metrics:Port</c> (off by default: see the README,
/// "Metrics") with prometheus-net's <see cref="MetricServer"/>. The registry holds only this proxy's figures, the
/// process's (<see cref="DotNetStats"/>) and <c>redistimer_build_info</c>.
/// </summary>
public sealed class MetricsEndpoint(ProxyMetrics metrics, UpstreamConnector connector, IOptions<ProxyOptions> options, ILogger<MetricsEndpoint> logger)
    : IHostedService, IDisposable
{
    private MetricServer? _server;
    private PrometheusBridge? _bridge;

    /// <summary>The bound port (0 while not serving).</summary>
    public int Port { get; private set; }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // TIMER.STATS reports it too, with or without a metrics port.
        metrics.ObserveUpstream(() => connector.LastReached);
        var o = options.Value.Metrics;
        if (o.Port == 0) return Task.CompletedTask;
        var registry = Prometheus.Metrics.NewCustomRegistry();
        DotNetStats.Register(registry);
        var version = typeof(MetricsEndpoint).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
        Prometheus.Metrics.WithCustomRegistry(registry)
            .CreateGauge("redistimer_build_info", "The proxy's version; always 1.", "version")
            .WithLabels(version).Set(1);
        _bridge = new PrometheusBridge(metrics, registry);
        _server = new MetricServer(HostName(o.Address), o.Port, "metrics/", registry);
        try
        {
            _server.Start();
        }
        catch (HttpListenerException e)
        {
            throw new IOException($"Proxy:Metrics:Port {o.Port} on {o.Address}: {e.Message}", e);
        }
        Port = o.Port;
        logger.LogInformation("Metrics at http://{Address}:{Port}/metrics", o.Address, o.Port);
        return Task.CompletedTask;
    }

    // HttpListener's prefixes take "+" for every address.
    private static string HostName(string address) => IPAddress.Parse(address) switch
    {
        var any when any.Equals(IPAddress.Any) || any.Equals(IPAddress.IPv6Any) => "+",
        { AddressFamily: System.Net.Sockets.AddressFamily.InterNetworkV6 } v6 => $"[{v6}]",
        var v4 => v4.ToString(),
    };

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is not null) await _server.StopAsync();
    }

    public void Dispose()
    {
        _server?.Dispose();
        _bridge?.Dispose();
    }
}
