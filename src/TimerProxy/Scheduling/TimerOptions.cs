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

    /// <summary>Timers fired in one transaction.</summary>
    public int FireBatchSize { get; set; } = 256;

    /// <summary>The fire lease: the proxy holding it fires, and renews it every third of this; when it stops
    /// renewing (killed, cut off), another proxy takes over after at most this long.</summary>
    public int LeaseMs { get; set; } = 3000;

    /// <summary>Replicas that must have each TIMER.NEW / TIMER.KILL before it is answered, and each fire before the
    /// next batch (a WAIT after each); 0: no waiting.</summary>
    public int WaitReplicas { get; set; }

    /// <summary>How long each such WAIT may take; then the client gets NOREPLICAS, and firing goes on.</summary>
    public int WaitTimeoutMs { get; set; } = 1000;
}
