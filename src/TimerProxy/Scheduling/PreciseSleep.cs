using System.Runtime.InteropServices;

namespace RedisTimer.Proxy.Scheduling;

/// <summary>
/// Sleeps shorter than a millisecond. .NET's timed waits count whole milliseconds and overshoot by up to
/// one more, and yielding in a loop until a due time keeps a whole core busy, which on a small machine is the
/// core Redis needed: the fires it was waiting for came late. usleep ends within the kernel's timer slack
/// (50 µs by default) and leaves the core to others.
/// </summary>
internal static partial class PreciseSleep
{
    public static void For(TimeSpan span)
    {
        if (OperatingSystem.IsWindows())
        {
            Thread.Sleep(0);
            return;
        }
        usleep((uint)Math.Clamp(span.TotalMicroseconds, 1, 1_000_000));
    }

    [LibraryImport("libc")]
    private static partial int usleep(uint microseconds);
}
