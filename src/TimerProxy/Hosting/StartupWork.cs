using Microsoft.Extensions.Hosting;

namespace RedisTimer.Proxy.Hosting;

/// <summary>
/// A background service that runs from start-up until it is done or the host stops, and whose cancellation is never
/// reported as a failure.
/// </summary>
public abstract class StartupWork : BackgroundService
{
    protected sealed override async Task ExecuteAsync(CancellationToken stopping)
    {
        // The host ignores a cancelled ExecuteAsync only once StopAsync was called, not when start-up failed (a port
        // already taken): then it would log this ending as a failure of the service.
        try { await RunAsync(stopping); }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested) { }
    }

    protected abstract Task RunAsync(CancellationToken stopping);
}
