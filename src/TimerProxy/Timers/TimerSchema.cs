namespace RedisTimer.Proxy.Timers;

/// <summary>Names shared with timer-library.lua; docs/STORAGE.md describes them.</summary>
public static class TimerSchema
{
    public const string LibraryName = "redistimer";
    public const string Tag = "__timer-tzw__";
    public const string Version = "1";
    /// <summary>Sorted set of due times (ms, Redis server clock) per database; members are timer ids.</summary>
    public const string IndexKey = "timer-tzw:due";

    /// <summary>List of a database's latest failed fires (JSON objects, newest first), kept a day after the last one.</summary>
    public const string FailuresKey = "timer-tzw:failed";

    /// <summary>In database 0: which proxy fires (its id), with the lease as the key's expiry.</summary>
    public const string LeaseKey = "timer-tzw:leader";
    /// <summary>Pub/sub channel; messages are "&lt;db&gt;:&lt;due ms, 0 when gone&gt;:&lt;id&gt;" after every change.</summary>
    public const string EventsChannel = "timer-tzw:events";
    /// <summary>Key of the one-entry map that carries TIMER.INFO's reply to the proxy.</summary>
    public const string InfoMagic = "\u001bRedisTimerInfo1";
}
