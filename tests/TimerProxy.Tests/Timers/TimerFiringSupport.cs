using System.Globalization;
using System.Text.RegularExpressions;
using RedisTimer.Proxy.Tests.Infrastructure;

namespace RedisTimer.Proxy.Tests.Timers;

/// <summary>
/// Helpers for the firing and keyspace tests (TIMER_SEMANTICS.md sections 3 and 4). Every timer these tests
/// create fires rt_log (or another rttest function) with a unique tag as its first argument, so a test finds
/// its own fires in rt:log whatever else the shared Redis holds.
/// </summary>
internal static partial class TimerFiringSupport
{
    public static readonly TimeSpan Generous = TimeSpan.FromSeconds(15);

    /// <summary>A name no other test uses.</summary>
    public static string Unique(string prefix) => $"tf:{prefix}:{Guid.NewGuid():N}";

    /// <summary>The fires rt_log recorded for this tag (its first argument) in the given db.</summary>
    public static async Task<List<TimerFixture.Fire>> FiresOfAsync(this TimerFixture fx, string tag, int db = 0) =>
        (await fx.FiresAsync(db)).Where(f => f.Args.Length > 0 && f.Args[0] == tag).ToList();

    /// <summary>Waits until the tag has fired at least <paramref name="count"/> times in the db; returns its fires.</summary>
    public static async Task<List<TimerFixture.Fire>> WaitForFiresAsync(this TimerFixture fx, string tag, int db = 0, int count = 1,
        TimeSpan? timeout = null)
    {
        List<TimerFixture.Fire> fires = [];
        await TimerFixture.WaitUntilAsync(async () => (fires = await fx.FiresOfAsync(tag, db)).Count >= count,
            timeout ?? Generous, $"{tag} fired {count} time(s) in db {db}");
        return fires;
    }

    /// <summary>Redis's clock in µs (the clock rt_log stamps fires with).</summary>
    public static async Task<long> ServerTimeUsAsync(RawClient c)
    {
        var parts = TimerFixture.ParseBulkArray(await c.CallAsync("TIME"));
        return long.Parse(parts[0], CultureInfo.InvariantCulture) * 1_000_000 + long.Parse(parts[1], CultureInfo.InvariantCulture);
    }

    public static long Integer(string reply)
    {
        Assert.True(reply.StartsWith(':') && reply.EndsWith("\r\n"), $"not an integer reply: {reply}");
        return long.Parse(reply[1..^2], CultureInfo.InvariantCulture);
    }

    /// <summary>TIMER.INFO's `remaining` from a RESP2 reply.</summary>
    public static long Remaining(string info)
    {
        var m = RemainingField().Match(info);
        Assert.True(m.Success, $"not a TIMER.INFO reply: {info}");
        return long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"\$9\r\nremaining\r\n:(-?\d+)\r\n")]
    private static partial Regex RemainingField();

    /// <summary>A connection to the proxy (or straight to Redis), with db selected.</summary>
    public static async Task<RawClient> ConnectAsync(this TimerFixture fx, bool direct = false, int db = 0)
    {
        var c = direct ? await fx.ConnectRedisAsync() : await fx.ConnectProxyAsync();
        if (db != 0) Assert.Equal("+OK\r\n", await c.CallAsync("SELECT", db));
        return c;
    }

    /// <summary>Redis still answers (it did not crash).</summary>
    public static async Task AssertRedisAliveAsync(this TimerFixture fx)
    {
        using var direct = await fx.ConnectRedisAsync();
        Assert.Equal("+PONG\r\n", await direct.CallAsync("PING"));
    }

    /// <summary>
    /// The timer's stored due time (ms), read straight from Redis: it moves forward on every LOOP fire, so it
    /// shows a LOOP timer firing when its function leaves no trace (missing or failing).
    /// </summary>
    public static async Task<double?> StoredDueAsync(this TimerFixture fx, string id, int db = 0)
    {
        using var direct = await fx.ConnectAsync(direct: true, db);
        string reply = await direct.CallAsync("HGET", id, "due");
        if (reply == "$-1\r\n") return null;
        return double.Parse(TimerFixture.ParseBulkArray("*1\r\n" + reply)[0], CultureInfo.InvariantCulture);
    }

    /// <summary>Waits until a LOOP timer was re-armed at least <paramref name="times"/> more times.</summary>
    public static async Task WaitForRearmsAsync(this TimerFixture fx, string id, int times, int db = 0)
    {
        double? first = await fx.StoredDueAsync(id, db);
        Assert.NotNull(first);
        var seen = new HashSet<double> { first.Value };
        await TimerFixture.WaitUntilAsync(async () =>
        {
            if (await fx.StoredDueAsync(id, db) is double due) seen.Add(due);
            return seen.Count > times;
        }, Generous, $"{id} re-armed {times} times");
    }
}
