using System.Net;
using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Prometheus;
using RedisTimer.Proxy.Dashboard;
using RedisTimer.Proxy.Hosting;
using RedisTimer.Proxy.Upstream;

namespace RedisTimer.Proxy.Metrics;

/// <summary>
/// The metrics port (<c>Proxy:Metrics:Port</c>, off by default: see the README, "Metrics"): Kestrel serving
/// <c>/metrics</c> in the Prometheus text format (prometheus-net's exporter, over a registry that holds only this
/// proxy's figures, the process's (<see cref="DotNetStats"/>) and <c>redistimer_build_info</c>) and the dashboard
/// (<see cref="DashboardRoutes"/>).
/// </summary>
public sealed class MetricsEndpoint(ProxyMetrics metrics, UpstreamConnector connector, ControlPlane control, IOptions<ProxyOptions> options,
    ILoggerFactory loggerFactory) : IHostedService, IAsyncDisposable
{
    private readonly ILogger _logger = loggerFactory.CreateLogger<MetricsEndpoint>();
    private WebApplication? _app;
    private PrometheusBridge? _bridge;
    private FireActivity? _activity;

    /// <summary>The bound port (0 while not serving).</summary>
    public int Port { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // TIMER.STATS reports it too, with or without a metrics port.
        metrics.ObserveUpstream(() => connector.LastReached);
        var o = options.Value.Metrics;
        if (o.Port == 0) return;
        var registry = Prometheus.Metrics.NewCustomRegistry();
        DotNetStats.Register(registry);
        var version = typeof(MetricsEndpoint).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
        Prometheus.Metrics.WithCustomRegistry(registry)
            .CreateGauge("redistimer_build_info", "The proxy's version; always 1.", "version")
            .WithLabels(version).Set(1);
        _bridge = new PrometheusBridge(metrics, registry);
        _activity = new FireActivity(metrics);

        // A web host of its own, with nothing of ASP.NET's defaults (no appsettings or ASPNETCORE_ variables of its
        // own, no signal handling: the proxy's host stops it), logging through the proxy's Serilog.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Services.AddSingleton(loggerFactory);
        builder.Services.AddSingleton<IHostLifetime, ProxyStopsIt>();
        builder.Services.AddRoutingCore();
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxConcurrentConnections = 64;
            k.Limits.MaxRequestBodySize = 0;
            k.Listen(IPAddress.Parse(o.Address), o.Port, listen => listen.Protocols = HttpProtocols.Http1);
        });
        var app = builder.Build();
        app.UseRouting();
        // prometheus-net maps every method; the port is read-only.
        app.MapMetrics("/metrics", registry).WithMetadata(new HttpMethodMetadata(["GET"]));
        new DashboardRoutes(metrics, _activity, new DashboardQueries(control), connector, version, _logger).Map(app);
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (IOException e)
        {
            await app.DisposeAsync();
            throw new IOException($"Proxy:Metrics:Port {o.Port} on {o.Address}: {e.Message}", e);
        }
        _app = app;
        Port = o.Port;
        _logger.LogInformation("Metrics at http://{Address}:{Port}/metrics, dashboard at http://{Address}:{Port}/", o.Address, o.Port, o.Address, o.Port);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null) await _app.StopAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
        _activity?.Dispose();
        _bridge?.Dispose();
    }

    private sealed class ProxyStopsIt : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
