namespace RedisTimer.Proxy.Scheduling;

/// <summary>The "Timers" configuration section.</summary>
public sealed class TimerOptions
{
    public const string Section = "Timers";

    /// <summary>How often the index is read again to repair what events missed (and the clock re-synced).</summary>
    public int ReconcileIntervalMs { get; set; } = 1000;

    /// <summary>How far ahead timers are held in memory.</summary>
    public int WindowMs { get; set; } = 10_000;

    /// <summary>At most this many timers per database are loaded in one reconciliation (bounds memory).</summary>
    public int MaxLoaded { get; set; } = 200_000;

    /// <summary>Timers fired in one transaction. Its WATCH costs Redis 7.0 time quadratic in the number of keys (each
    /// key is compared with those the client already watches): 4 µs for 16 keys, 39 µs for 64, 590 µs for 256,
    /// 8.6 ms for 1024 (200 WATCH + UNWATCH of each size, INFO commandstats). At 128 the 100k burst of bench/timer-bench.sh
    /// was faster than at 256 in 4 of 5 interleaved pairs (median 1.64 s against 1.94 s; WATCH 1.5 instead of 2.5-3.2 µs
    /// per fired timer); 64 was no faster than 128.</summary>
    public int FireBatchSize { get; set; } = 128;

    /// <summary>The fire lease: the proxy holding it fires, and renews it every third of this; when it stops
    /// renewing (killed, cut off), another proxy takes over after at most this long.</summary>
    public int LeaseMs { get; set; } = 3000;

    /// <summary>Replicas that must have each TIMER.NEW / TIMER.KILL before it is answered, and each fire before the
    /// next batch (a WAIT after each); 0: no waiting.</summary>
    public int WaitReplicas { get; set; }

    /// <summary>How long each such WAIT may take; then the client gets NOREPLICAS, and firing goes on.</summary>
    public int WaitTimeoutMs { get; set; } = 1000;
}
