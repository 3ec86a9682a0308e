using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RedisTimer.Proxy.Upstream;

namespace RedisTimer.Proxy.Hosting;

/// <summary>
/// At start-up, tells the operator whether the upstream answers, and keeps trying (logging) while it does
/// not. Clients are served per connection regardless: each gets its own upstream connection when it comes.
/// The probe opens a TCP connection and sends nothing.
/// </summary>
public sealed class UpstreamWatch(UpstreamConnector connector, ILogger<UpstreamWatch> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stopping)
    {
        // The host ignores a cancelled ExecuteAsync only once StopAsync was called, not when start-up failed (a port
        // already taken): then it would log this ending as a failure of the service.
        try { await WatchAsync(stopping); }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested) { }
    }

    private async Task WatchAsync(CancellationToken stopping)
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
