using Microsoft.Extensions.Logging;
using RedisTimer.Proxy.Timers;
using StackExchange.Redis;

namespace RedisTimer.Proxy.Scheduling;

/// <summary>
/// Which of several proxies on one Redis fires: the one holding the lease key (<see cref="TimerSchema.LeaseKey"/>),
/// taken and renewed every third of <see cref="TimerOptions.LeaseMs"/> through the library. It only saves work:
/// fires are version-checked, so two proxies firing at once (a lease that lapsed mid-batch) still fire each timer
/// once. While the scheduler has nothing to do (no timers) the lease is given up and nothing is sent.
/// </summary>
internal sealed class FireLease(TimerOptions options, Func<bool> idle, Wakeup wakeFire, ILogger logger)
{
    private readonly string _id = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";
    private volatile bool _held;

    public bool IsHeld => _held;

    private static readonly TimeSpan IdleCheck = TimeSpan.FromMilliseconds(10);

    public async Task RunAsync(ConnectionMultiplexer mux, CancellationToken stop)
    {
        var db = mux.GetDatabase(0);
        var renewEvery = TimeSpan.FromMilliseconds(options.LeaseMs / 3.0);
        try
        {
            while (!stop.IsCancellationRequested)
            {
                if (idle())
                {
                    if (_held) await ReleaseAsync(db);
                    // A local flag, watched closely: the first timer after a quiet spell must not wait for the lease.
                    await Task.Delay(IdleCheck, stop);
                    continue;
                }
                else
                {
                    bool held;
                    try
                    {
                        held = (long)await db.ExecuteAsync("FCALL", "timer_lease", 1, TimerSchema.LeaseKey, _id, options.LeaseMs) == 1;
                    }
                    catch (Exception e) when (e is RedisException or TimeoutException)
                    {
                        // Not renewed: stop firing before the lease may have lapsed for the others.
                        logger.LogDebug(e, "Fire lease not renewed");
                        held = false;
                    }
                    if (held != _held)
                    {
                        _held = held;
                        if (held)
                        {
                            logger.LogInformation("This proxy holds the fire lease and fires the timers");
                            wakeFire.Set();
                        }
                        else logger.LogInformation("Another proxy holds the fire lease; this one stands by");
                    }
                }
                await Task.Delay(renewEvery, stop);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested) { }
        finally
        {
            if (_held) await ReleaseAsync(db);
        }
    }

    // Given up at once rather than left to lapse, so that another proxy takes over without waiting (a deploy).
    private async Task ReleaseAsync(IDatabase db)
    {
        _held = false;
        try
        {
            await db.ExecuteAsync("FCALL", "timer_release", 1, TimerSchema.LeaseKey, _id);
        }
        catch (Exception e) when (e is RedisException or TimeoutException or ObjectDisposedException)
        {
            logger.LogDebug(e, "Fire lease not released; it lapses");
        }
    }
}
