using Microsoft.Extensions.Logging;
using RedisTimer.Proxy.Upstream;

namespace RedisTimer.Proxy.Hosting;

/// <summary>
/// At start-up, tells the operator whether the upstream answers, and keeps trying (logging) while it does
/// not. Clients are served per connection regardless: each gets its own upstream connection when it comes.
/// The probe opens a TCP connection and sends nothing.
/// </summary>
public sealed class UpstreamWatch(UpstreamConnector connector, ILogger<UpstreamWatch> logger) : StartupWork
{
    protected override async Task RunAsync(CancellationToken stopping)
    {
        bool warned = false;
        while (!stopping.IsCancellationRequested)
        {
            if (await connector.ProbeAsync(stopping))
            {
                logger.LogInformation("Upstream {Upstream} is reachable", connector.Describe);
                return;
            }
            if (!warned)
            {
                logger.LogWarning("Upstream {Upstream} is not reachable yet; clients get an error until it is. Retrying every second", connector.Describe);
                warned = true;
            }
            await Task.Delay(TimeSpan.FromSeconds(1), stopping);
        }
    }
}
