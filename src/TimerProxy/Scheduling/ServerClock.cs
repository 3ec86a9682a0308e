using System.Diagnostics;
using StackExchange.Redis;

namespace RedisTimer.Proxy.Scheduling;

/// <summary>
/// Redis's clock as seen from here: due times are absolute ms on the Redis server clock, so the scheduler
/// waits on the local monotonic clock shifted by an offset measured with TIME.
/// The estimate never runs ahead of Redis, so a timer is never fired before its due time: Redis read its clock
/// at some moment between sending TIME and receiving the reply, so "server time minus local time at the reply"
/// is a lower bound of the true offset, and the largest lower bound seen recently is the best one. (Taking the
/// middle of the round trip, as before, ran ahead by half of any delay on the way out: a TIME queued behind a
/// busy connection made timers fire hundreds of ms early.)
/// </summary>
public sealed class ServerClock
{
    private const int SamplesPerSync = 2;
    // Older lower bounds are dropped, so a server clock stepped back (NTP) is followed within this time.
    private static readonly TimeSpan KeepBest = TimeSpan.FromSeconds(30);

    private readonly Stopwatch _local = Stopwatch.StartNew();
    private readonly object _sync = new();
    private double _offsetMs = double.NaN;
    private double _measuredAtMs;

    public double NowMs => _local.Elapsed.TotalMilliseconds + Volatile.Read(ref _offsetMs);

    public async Task SyncAsync(IDatabase db)
    {
        double best = double.NegativeInfinity;
        for (int i = 0; i < SamplesPerSync; i++)
        {
            var time = (RedisValue[])(await db.ExecuteAsync("TIME"))!;
            double after = _local.Elapsed.TotalMilliseconds;
            double serverMs = (long)time[0] * 1000.0 + (long)time[1] / 1000.0;
            best = Math.Max(best, serverMs - after);
        }
        lock (_sync)
        {
            double now = _local.Elapsed.TotalMilliseconds;
            if (double.IsNaN(_offsetMs) || best >= _offsetMs || now - _measuredAtMs > KeepBest.TotalMilliseconds)
            {
                Volatile.Write(ref _offsetMs, best);
                _measuredAtMs = now;
            }
        }
    }
}
