using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using RedisTimer.Proxy.Hosting;

namespace RedisTimer.Proxy.Tests.Infrastructure;

/// <summary>The proxy's real host, started in the test process on a port the OS picks.</summary>
public sealed class InProcessProxy : IAsyncDisposable
{
    private readonly IHost _host;

    /// <summary>The plain-text port (0 when the settings closed it).</summary>
    public int Port { get; }

    /// <summary>The TLS port, when the settings open one (<c>Proxy:Tls:Port</c> = <see cref="AnyFreePort"/>).</summary>
    public int TlsPort { get; }

    /// <summary>The metrics and dashboard port, when the settings open one (<c>Proxy:Metrics:Port</c> = <see cref="AnyFreePort"/>).</summary>
    public int MetricsPort => Service<RedisTimer.Proxy.Metrics.MetricsEndpoint>().Port;

    public string Endpoint => $"127.0.0.1:{Port}";

    /// <summary>Stands for "a free port" in <c>Proxy:Tls:Port</c> and <c>Proxy:Metrics:Port</c>; the proxy's plain port is always a free one unless set.</summary>
    public const string AnyFreePort = "free";

    private InProcessProxy(IHost host)
    {
        _host = host;
        (Port, TlsPort) = ProxyHost.BoundPorts(host);
    }

    public static async Task<InProcessProxy> StartAsync(string upstream, IDictionary<string, string?>? settings = null)
    {
        // The OS hands out a free port, released again before the proxy binds it: another process may take it in
        // between, so a bind that finds it taken is tried again with new ones.
        for (int attempt = 0; ; attempt++)
        {
            var values = new Dictionary<string, string?>
            {
                ["Proxy:Port"] = FreePort.Next().ToString(),
                ["Proxy:Upstream"] = upstream,
                ["Serilog:MinimumLevel:Default"] = "Warning",
            };
            if (settings is not null)
                foreach (var (k, v) in settings) values[k] = v;
            foreach (var port in (string[])["Proxy:Tls:Port", "Proxy:Metrics:Port"])
                if (values.GetValueOrDefault(port) == AnyFreePort) values[port] = FreePort.Next().ToString();
            var host = ProxyHost.Build([], config => config.AddInMemoryCollection(values));
            try
            {
                await host.StartAsync();
                return new InProcessProxy(host);
            }
            catch (IOException e) when (e.Message.Contains("address already in use") && attempt < 5)
            {
                host.Dispose();
            }
        }
    }

    /// <summary>One of the host's services (to read the scheduler's figures).</summary>
    public T Service<T>() where T : notnull => Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<T>(_host.Services);

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _host.StopAsync(timeout.Token);
        _host.Dispose();
    }
}
