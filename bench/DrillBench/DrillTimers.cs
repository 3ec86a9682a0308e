using System.Globalization;

namespace RedisTimer.Bench.Drills;

/// <summary>One scheduled timer: its id and when it is due (Redis clock, µs).</summary>
internal sealed record Scheduled(string Id, long DueUs);

internal static class DrillTimers
{
    private const int Chunk = 500;

    /// <summary>
    /// Creates one-shot timers <c>{prefix}{i}</c> due evenly from <paramref name="firstDueUs"/> over <paramref name="spanMs"/>,
    /// in pipelined chunks sent to the proxies in turn, each chunk's intervals counted from Redis's clock read just
    /// before it. Every reply must be <c>:1</c>.
    /// </summary>
    public static List<Scheduled> Create(string redisEndpoint, IReadOnlyList<string> proxies, string prefix, int count, long firstDueUs, int spanMs)
    {
        using var redis = RespConnection.Connect(redisEndpoint);
        var connections = proxies.Select(p => RespConnection.Connect(p)).ToList();
        try
        {
            var scheduled = new List<Scheduled>(count);
            for (int from = 0, n = 0; from < count; from += Chunk, n++)
            {
                long nowUs = DrillRedis.TimeUs(redis);
                var proxy = connections[n % connections.Count];
                int to = Math.Min(count, from + Chunk);
                for (int i = from; i < to; i++)
                {
                    long dueUs = firstDueUs + (long)i * spanMs * 1000 / count;
                    long intervalMs = Math.Max(1, (dueUs - nowUs) / 1000);
                    string id = prefix + i.ToString(CultureInfo.InvariantCulture);
                    proxy.Write("TIMER.NEW", id, "drill_count", intervalMs.ToString(CultureInfo.InvariantCulture), "2",
                        DrillRedis.FiresKey, DrillRedis.FiredAtKey, id);
                    scheduled.Add(new Scheduled(id, nowUs + intervalMs * 1000));
                }
                proxy.Flush();
                for (int i = from; i < to; i++)
                {
                    var reply = proxy.Read();
                    if (reply is not 1L) throw new InvalidOperationException($"TIMER.NEW {prefix}{i} via {proxy.Endpoint}: {reply}");
                }
                ReadDueTimes(redis, scheduled, from, to);
            }
            return scheduled;
        }
        finally
        {
            foreach (var c in connections) c.Dispose();
        }
    }

    // The proxy counts an interval from when Redis runs the TIMER.NEW, a little after the clock read above: the due
    // time Redis stored is the one lateness and "due while Redis was down" are measured against.
    private static void ReadDueTimes(RespConnection redis, List<Scheduled> scheduled, int from, int to)
    {
        for (int i = from; i < to; i++) redis.Write("HGET", scheduled[i].Id, "due");
        redis.Flush();
        for (int i = from; i < to; i++)
        {
            // Gone already only if it fired in between: then the estimate stays.
            if (redis.Read() is string ms)
                scheduled[i] = scheduled[i] with { DueUs = (long)Math.Round(double.Parse(ms, CultureInfo.InvariantCulture) * 1000) };
        }
    }

    /// <summary>A timer far ahead through each proxy: a proxy's scheduler starts with its first timer command.</summary>
    public static void Activate(IReadOnlyList<string> proxies)
    {
        foreach (var endpoint in proxies)
        {
            using var proxy = RespConnection.Connect(endpoint);
            proxy.Checked("TIMER.NEW", $"drill:warm:{endpoint}", "drill_count", "3600000", "2", DrillRedis.FiresKey, DrillRedis.FiredAtKey, "warm");
        }
    }

    public static void Save(string path, IEnumerable<Scheduled> timers) =>
        File.WriteAllLines(path, timers.Select(t => $"{t.Id} {t.DueUs.ToString(CultureInfo.InvariantCulture)}"));

    public static List<Scheduled> Load(string path) =>
        File.ReadLines(path).Where(l => l.Length > 0).Select(l => l.Split(' ')).Select(p => new Scheduled(p[0], long.Parse(p[1], CultureInfo.InvariantCulture))).ToList();
}
