namespace RedisTimer.Resp.Tests;

/// Measures what a piece of code allocates on the calling thread.
/// The runtime itself sometimes allocates on the test's thread in the middle of a measurement
/// (tiered JIT promotion, call-counting stubs), a one-off that says nothing about the code; code that
/// does allocate per call allocates in every attempt, so the fewest bytes of several attempts is the
/// honest figure.
internal static class AllocationMeter
{
    public static long FewestBytes(Action run, int attempts = 5)
    {
        run(); // warm up the JIT
        long fewest = long.MaxValue;
        for (int i = 0; i < attempts && fewest > 0; i++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            run();
            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return fewest;
    }
}
