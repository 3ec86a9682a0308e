using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using RedisTimer.Proxy.Hosting;

namespace RedisTimer.Proxy.Tests.Infrastructure;

/// <summary>The proxy's real host, started in the test process on a port the OS picks.</summary>
public sealed class InProcessProxy : IAsyncDisposable
{
    private readonly IHost _host;

    public int Port { get; }
    public string Endpoint => $"127.0.0.1:{Port}";

    private InProcessProxy(IHost host)
    {
        _host = host;
        Port = ProxyHost.BoundPort(host);
    }

    public static async Task<InProcessProxy> StartAsync(string upstream, IDictionary<string, string?>? settings = null)
    {
        var values = new Dictionary<string, string?>
        {
            ["Proxy:Port"] = "0",
            ["Proxy:Upstream"] = upstream,
            ["Serilog:MinimumLevel:Default"] = "Warning",
        };
        if (settings is not null)
            foreach (var (k, v) in settings) values[k] = v;
        var host = ProxyHost.Build([], config => config.AddInMemoryCollection(values));
        await host.StartAsync();
        return new InProcessProxy(host);
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _host.StopAsync(timeout.Token);
        _host.Dispose();
    }
}
