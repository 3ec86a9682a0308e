using System.Globalization;
using System.Text;
using RedisTimer.Proxy.Tests.Infrastructure;

namespace RedisTimer.Proxy.Tests.Drills;

/// <summary>
/// The drills' timers: one-shot timers whose function (<c>drill_count</c>) counts every fire per timer id, so that a
/// missed timer (0) and a duplicated one (more than 1) are counted exactly, and stamps the first fire with Redis's
/// clock (µs), from which takeover and overdue delays are read. All of it lives in Redis, so it is persisted and
/// rolled back with the timers themselves when Redis restarts.
/// </summary>
internal static class DrillTimers
{
    public const string FiresKey = "drill:fires", FiredAtKey = "drill:fired-at";

    private const string Library = """
        #!lua name=rtdrill
        redis.register_function('drill_count', function(keys, args)
          local t = redis.call('TIME')
          redis.call('HINCRBY', keys[1], args[1], 1)
          redis.call('HSETNX', keys[2], args[1], string.format('%.0f', tonumber(t[1]) * 1000000 + tonumber(t[2])))
        end)
        """;

    // The persisted set, read in one atomic step: a fire deletes the timer and counts it in one transaction, so
    // each timer Redis kept is either still indexed or counted, whatever the proxy fires meanwhile.
    private const string PersistedScript = """
        local seen, out = {}, {}
        for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
          seen[id] = true; out[#out + 1] = id
        end
        for _, id in ipairs(redis.call('HKEYS', KEYS[2])) do
          if not seen[id] then out[#out + 1] = id end
        end
        return out
        """;

    public static async Task LoadLibraryAsync(int redisPort)
    {
        using var direct = await RawClient.ConnectAsync(redisPort);
        var reply = await direct.CallAsync("FUNCTION", "LOAD", "REPLACE", Library);
        if (!reply.Contains("rtdrill")) throw new InvalidOperationException("drill library not loaded: " + reply);
    }

    /// <summary>Redis's clock, in µs: the clock <c>drill_count</c> stamps fires with, and the machine's own.</summary>
    public static async Task<long> ServerTimeUsAsync(RawClient c)
    {
        var parts = TimerFixture.ParseBulkArray(await c.CallAsync("TIME"));
        return long.Parse(parts[0], CultureInfo.InvariantCulture) * 1_000_000 + long.Parse(parts[1], CultureInfo.InvariantCulture);
    }

    public static long NowUs() => (DateTime.UtcNow - DateTime.UnixEpoch).Ticks / 10;

    /// <summary>Waits until the machine's clock (Redis's too) reaches <paramref name="unixUs"/>.</summary>
    public static async Task DelayUntilAsync(long unixUs)
    {
        long waitUs = unixUs - NowUs();
        if (waitUs > 0) await Task.Delay(TimeSpan.FromMicroseconds(waitUs));
    }

    /// <summary>One scheduled timer: its id and the time it is due (Redis clock, µs).</summary>
    public sealed record Scheduled(string Id, long DueUs);

    /// <summary>
    /// Creates one-shot timers <c>{prefix}{i}</c> due evenly from <paramref name="firstDueUs"/> over
    /// <paramref name="spanMs"/>, in pipelined chunks sent to the given proxies in turn (each chunk's intervals
    /// counted from Redis's clock read just before it). Every reply must be <c>:1</c>.
    /// </summary>
    public static async Task<List<Scheduled>> CreateAsync(int redisPort, IReadOnlyList<int> proxyPorts, string prefix, int count,
        long firstDueUs, int spanMs, int chunk = 250)
    {
        using var direct = await RawClient.ConnectAsync(redisPort);
        var proxies = new List<RawClient>();
        try
        {
            foreach (int port in proxyPorts) proxies.Add(await RawClient.ConnectAsync(port));
            var scheduled = new List<Scheduled>(count);
            for (int from = 0, n = 0; from < count; from += chunk, n++)
            {
                long nowUs = await ServerTimeUsAsync(direct);
                var bytes = new MemoryStream();
                int to = Math.Min(count, from + chunk);
                for (int i = from; i < to; i++)
                {
                    long dueUs = firstDueUs + (long)i * spanMs * 1000 / count;
                    long intervalMs = Math.Max(1, (dueUs - nowUs) / 1000);
                    string id = prefix + i.ToString(CultureInfo.InvariantCulture);
                    bytes.Write(RawClient.Command("TIMER.NEW", id, "drill_count", intervalMs, 2, FiresKey, FiredAtKey, id));
                    scheduled.Add(new Scheduled(id, nowUs + intervalMs * 1000));
                }
                var proxy = proxies[n % proxies.Count];
                await proxy.SendAsync(bytes.ToArray());
                for (int i = from; i < to; i++)
                {
                    string reply = await proxy.ReadReplyAsync();
                    if (reply != ":1\r\n") throw new InvalidOperationException($"TIMER.NEW {prefix}{i} answered {reply.TrimEnd()}");
                }
            }
            return scheduled;
        }
        finally
        {
            foreach (var p in proxies) p.Dispose();
        }
    }

    /// <summary>Fires counted per timer id (<c>drill:fires</c>).</summary>
    public static async Task<Dictionary<string, long>> FireCountsAsync(RawClient direct) =>
        Pairs(await direct.CallAsync("HGETALL", FiresKey));

    /// <summary>When each timer first fired (Redis clock, µs).</summary>
    public static async Task<Dictionary<string, long>> FiredAtAsync(RawClient direct) =>
        Pairs(await direct.CallAsync("HGETALL", FiredAtKey));

    public static async Task<long> FiredCountAsync(RawClient direct)
    {
        string reply = await direct.CallAsync("HLEN", FiresKey);
        return long.Parse(reply.AsSpan(1, reply.Length - 3), CultureInfo.InvariantCulture);
    }

    /// <summary>The drill's timers (ids starting with <paramref name="prefix"/>) that Redis holds: indexed, or fired.</summary>
    public static async Task<HashSet<string>> PersistedAsync(RawClient direct, string prefix) =>
        TimerFixture.ParseBulkArray(await direct.CallAsync("EVAL", PersistedScript, 2, "timer-tzw:due", FiresKey))
            .Where(id => id.StartsWith(prefix, StringComparison.Ordinal)).ToHashSet();

    private static Dictionary<string, long> Pairs(string reply)
    {
        var items = TimerFixture.ParseBulkArray(reply);
        var pairs = new Dictionary<string, long>(items.Count / 2);
        for (int i = 0; i + 1 < items.Count; i += 2) pairs[items[i]] = long.Parse(items[i + 1], CultureInfo.InvariantCulture);
        return pairs;
    }

    /// <summary>How the expected timers fired: once, never, more than once.</summary>
    public sealed record Tally(int Expected, int FiredOnce, IReadOnlyList<string> Missed, IReadOnlyList<string> Duplicated)
    {
        public override string ToString()
        {
            var text = new StringBuilder($"{Expected} timers: {FiredOnce} fired once, {Missed.Count} missed, {Duplicated.Count} duplicated");
            if (Missed.Count > 0) text.Append("; missed e.g. ").Append(string.Join(", ", Missed.Take(10)));
            if (Duplicated.Count > 0) text.Append("; duplicated e.g. ").Append(string.Join(", ", Duplicated.Take(10)));
            return text.ToString();
        }
    }

    public static Tally Count(IEnumerable<string> expected, IReadOnlyDictionary<string, long> counts)
    {
        int once = 0, all = 0;
        List<string> missed = [], duplicated = [];
        foreach (var id in expected)
        {
            all++;
            long n = counts.GetValueOrDefault(id);
            if (n == 0) missed.Add(id);
            else if (n == 1) once++;
            else duplicated.Add(id);
        }
        return new Tally(all, once, missed, duplicated);
    }
}
