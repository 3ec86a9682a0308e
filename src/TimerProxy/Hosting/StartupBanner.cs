using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RedisTimer.Proxy.Transport;
using RedisTimer.Proxy.Upstream;

namespace RedisTimer.Proxy.Hosting;

/// <summary>Tells the operator where to connect once the listener is up: the port it bound (the one the OS gave, with Port = 0).</summary>
public sealed class StartupBanner(
    IHostApplicationLifetime lifetime, IOptions<ProxyOptions> options, UpstreamEndpoint upstream, ClientListener listener,
    ILogger<StartupBanner> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancel)
    {
        lifetime.ApplicationStarted.Register(() =>
            logger.LogInformation("RedisTimer proxy listening on {Address}:{Port}, forwarding to Redis at {Upstream}. Connect with: redis-cli -h {Address} -p {Port}",
                options.Value.ListenAddress, listener.Port, upstream, options.Value.ListenAddress, listener.Port));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancel) => Task.CompletedTask;
}
