using System.Runtime.CompilerServices;

namespace RedisTimer.Proxy.Tests.Infrastructure;

/// <summary>
/// Thread-pool headroom for the test host. With the default minimum of one thread per core, tests that start
/// processes and wait on sockets at once left awaits waiting for the pool to grow: a reply the proxy had sent
/// reached TimerDurabilityTests about half a second late (measured with Redis's TIME), enough for a 300 ms timer
/// to fire before the test killed the proxy. With this minimum that test passed 6 of 6 runs alone, against
/// 0 of 6 and 2 of 5 in two series without it.
/// </summary>
internal static class TestHostThreads
{
    [ModuleInitializer]
    internal static void Raise()
    {
        ThreadPool.GetMinThreads(out int workers, out int io);
        ThreadPool.SetMinThreads(Math.Max(workers, 32), Math.Max(io, 32));
    }
}
