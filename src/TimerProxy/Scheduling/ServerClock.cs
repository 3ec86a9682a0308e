using System.Diagnostics;
using StackExchange.Redis;

namespace RedisTimer.Proxy.Scheduling;

/// <summary>
/// Redis's clock as seen from here: due times are absolute ms on the Redis server clock, so the scheduler
/// waits on the local monotonic clock shifted by the offset measured with TIME (half the round trip).
/// </summary>
public sealed class ServerClock
{
    private readonly Stopwatch _local = Stopwatch.StartNew();
    private double _offsetMs;

    public double NowMs => _local.Elapsed.TotalMilliseconds + Volatile.Read(ref _offsetMs);

    public async Task SyncAsync(IDatabase db)
    {
        double before = _local.Elapsed.TotalMilliseconds;
        var time = (RedisValue[])(await db.ExecuteAsync("TIME"))!;
        double after = _local.Elapsed.TotalMilliseconds;
        double serverMs = (long)time[0] * 1000.0 + (long)time[1] / 1000.0;
        Volatile.Write(ref _offsetMs, serverMs - (before + after) / 2);
    }
}
