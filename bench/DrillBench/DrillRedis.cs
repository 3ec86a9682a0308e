using System.Globalization;

namespace RedisTimer.Bench.Drills;

/// <summary>
/// What the drills keep in Redis: one-shot timers whose function (<c>drill_count</c>) counts every fire per timer id
/// (a missed timer shows 0, a duplicated one more than 1) and stamps the first fire with Redis's clock (µs). It all
/// lives in Redis, so a restart from disk keeps or rolls back the timers and their counts together.
/// The same function as the tests' (tests/TimerProxy.Tests/Drills/DrillTimers.cs).
/// </summary>
internal static class DrillRedis
{
    public const string FiresKey = "drill:fires", FiredAtKey = "drill:fired-at", LeaseKey = "timer-tzw:leader", IndexKey = "timer-tzw:due";

    private const string Library = """
        #!lua name=rtdrill
        redis.register_function('drill_count', function(keys, args)
          local t = redis.call('TIME')
          redis.call('HINCRBY', keys[1], args[1], 1)
          redis.call('HSETNX', keys[2], args[1], string.format('%.0f', tonumber(t[1]) * 1000000 + tonumber(t[2])))
        end)
        """;

    // One atomic read: a fire deletes its timer and counts it in one transaction, so every timer Redis kept is
    // either still indexed or counted, whatever the proxy fires meanwhile.
    private const string PersistedScript = """
        local seen, out = {}, {}
        for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do seen[id] = true; out[#out + 1] = id end
        for _, id in ipairs(redis.call('HKEYS', KEYS[2])) do
          if not seen[id] then out[#out + 1] = id end
        end
        return out
        """;

    public static void LoadLibrary(RespConnection redis) => redis.Checked("FUNCTION", "LOAD", "REPLACE", Library);

    public static long TimeUs(RespConnection redis) =>
        redis.Checked("TIME") is object?[] { Length: 2 } t && t[0] is string s && t[1] is string us
            ? long.Parse(s, CultureInfo.InvariantCulture) * 1_000_000 + long.Parse(us, CultureInfo.InvariantCulture)
            : throw new InvalidDataException("TIME: unexpected reply");

    /// <summary>The machine's clock in µs: Redis's TIME reads the same clock.</summary>
    public static long NowUs() => (DateTime.UtcNow - DateTime.UnixEpoch).Ticks / 10;

    public static Dictionary<string, long> FireCounts(RespConnection redis) => Pairs(redis.Checked("HGETALL", FiresKey));

    public static Dictionary<string, long> FiredAt(RespConnection redis) => Pairs(redis.Checked("HGETALL", FiredAtKey));

    public static long FiredCount(RespConnection redis) => (long)redis.Checked("HLEN", FiresKey)!;

    /// <summary>The timers with ids starting with <paramref name="prefix"/> that Redis holds: indexed, or fired.</summary>
    public static HashSet<string> Persisted(RespConnection redis, string prefix) =>
        ((object?[])redis.Checked("EVAL", PersistedScript, "2", IndexKey, FiresKey)!).Cast<string>()
            .Where(id => id.StartsWith(prefix, StringComparison.Ordinal)).ToHashSet();

    /// <summary>The pid in the lease holder's name (host:pid:id), or null when nobody holds it.</summary>
    public static int? LeaderPid(RespConnection redis)
    {
        if (redis.Checked("GET", LeaseKey) is not string holder) return null;
        var parts = holder.Split(':');
        return parts.Length >= 3 && int.TryParse(parts[^2], CultureInfo.InvariantCulture, out int pid) ? pid : null;
    }

    private static Dictionary<string, long> Pairs(object? reply)
    {
        var items = (object?[])reply!;
        var pairs = new Dictionary<string, long>(items.Length / 2);
        for (int i = 0; i + 1 < items.Length; i += 2) pairs[(string)items[i]!] = long.Parse((string)items[i + 1]!, CultureInfo.InvariantCulture);
        return pairs;
    }
}
