using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RedisTimer.Proxy.Transport;
using RedisTimer.Proxy.Upstream;

namespace RedisTimer.Proxy.Hosting;

/// <summary>Tells the operator where to connect once the listener is up: the ports it bound.</summary>
public sealed class StartupBanner(
    IHostApplicationLifetime lifetime, IOptions<ProxyOptions> options, UpstreamEndpoint upstream, ClientListener listener,
    ILogger<StartupBanner> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancel)
    {
        lifetime.ApplicationStarted.Register(() =>
        {
            string address = options.Value.ListenAddress;
            if (listener.Port != 0)
                logger.LogInformation("RedisTimer proxy listening on {Address}:{Port}, forwarding to Redis at {Upstream}. Connect with: redis-cli -h {Address} -p {Port}",
                    address, listener.Port, upstream, address, listener.Port);
            if (listener.TlsPort != 0)
                logger.LogInformation("RedisTimer proxy listening with TLS on {Address}:{TlsPort}, forwarding to Redis at {Upstream}. Connect with: redis-cli --tls -h {Address} -p {TlsPort} --cacert <ca.crt>",
                    address, listener.TlsPort, upstream, address, listener.TlsPort);
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancel) => Task.CompletedTask;
}
