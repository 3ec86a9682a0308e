using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RedisTimer.Proxy.Upstream;

namespace RedisTimer.Proxy.Hosting;

/// <summary>Tells the operator where to connect once the listener is up.</summary>
public sealed class StartupBanner(
    IHostApplicationLifetime lifetime, IOptions<ProxyOptions> options, UpstreamEndpoint upstream,
    ILogger<StartupBanner> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancel)
    {
        lifetime.ApplicationStarted.Register(() =>
            logger.LogInformation("RedisTimer proxy listening on {Address}:{Port}, forwarding to Redis at {Upstream}. Connect with: redis-cli -h {Address} -p {Port}",
                options.Value.ListenAddress, options.Value.Port, upstream, options.Value.ListenAddress, options.Value.Port));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancel) => Task.CompletedTask;
}
