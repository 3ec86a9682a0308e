namespace RedisTimer.Proxy.Scheduling;

/// <summary>A wake-up call for a loop that waits: any number of <see cref="Set"/> before the wait end it once.</summary>
internal sealed class Wakeup
{
    private readonly SemaphoreSlim _signal = new(0, 1);

    public void Set()
    {
        try { if (_signal.CurrentCount == 0) _signal.Release(); } catch (SemaphoreFullException) { }
    }

    // The timeout removes the waiter (a WhenAny with a delay would leave one behind per wait).
    public Task<bool> WaitAsync(int timeoutMs, CancellationToken cancel) => _signal.WaitAsync(timeoutMs, cancel);

    public Task WaitAsync(CancellationToken cancel) => _signal.WaitAsync(cancel);
}
