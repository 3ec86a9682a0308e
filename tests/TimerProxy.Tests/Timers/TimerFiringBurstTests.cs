using System.Diagnostics;
using RedisTimer.Proxy.Tests.Infrastructure;
using static RedisTimer.Proxy.Tests.Timers.TimerFiringSupport;

namespace RedisTimer.Proxy.Tests.Timers;

/// <summary>
/// §3 "many timers due at once": all fire. The module runs them in one event-loop pass and stalls every
/// client; ours fires in batches (§0 difference "a burst of due timers stalls the server"), so another
/// client's PING is answered meanwhile. Own class: its own Redis, so the burst does not slow other tests' timers.
/// </summary>
public class TimerFiringBurstTests(TimerFixture fx) : IClassFixture<TimerFixture>
{
    private const int Count = 2000;

    [Fact]
    public async Task Two_thousand_timers_due_at_once_all_fire_exactly_once_while_ping_is_answered()
    {
        string prefix = Unique("burst"), counter = prefix + ":count";
        using var c = await fx.ConnectAsync();
        using var pinger = await fx.ConnectAsync();
        using var watcher = await fx.ConnectAsync(direct: true);
        Assert.Equal("+PONG\r\n", await pinger.CallAsync("PING")); // its upstream connection is open before the burst

        // One pipelined write of 2,000 TIMER.NEW, all due about 800 ms from now.
        var batch = new MemoryStream();
        for (int i = 0; i < Count; i++)
            batch.Write(RawClient.Command("TIMER.NEW", $"{prefix}:{i}", "rt_count", "800", "1", counter));
        await c.SendAsync(batch.ToArray());
        for (int i = 0; i < Count; i++) Assert.Equal(":1\r\n", await c.ReadReplyAsync());

        // Another client pings through the proxy until every timer has fired; no PING may wait long.
        var worst = TimeSpan.Zero;
        int pings = 0, pingsDuringBurst = 0;
        var deadline = DateTime.UtcNow + Generous;
        while (true)
        {
            string fired = await watcher.CallAsync("GET", counter);
            long n = fired == "$-1\r\n" ? 0 : long.Parse(TimerFixture.ParseBulkArray("*1\r\n" + fired)[0]);
            if (n >= Count) break;
            Assert.True(DateTime.UtcNow < deadline, $"only {n} of {Count} timers fired in time");
            var sw = Stopwatch.StartNew();
            Assert.Equal("+PONG\r\n", await pinger.CallAsync("PING"));
            sw.Stop();
            if (sw.Elapsed > worst) worst = sw.Elapsed;
            pings++;
            if (n > 0) pingsDuringBurst++;
            await Task.Delay(5);
        }
        Assert.True(pings > 0);
        // Generous for a loaded two-core machine; the point is that no PING waits for the whole burst.
        Assert.True(worst < TimeSpan.FromSeconds(1), $"a PING waited {worst.TotalMilliseconds} ms ({pings} pings, {pingsDuringBurst} during the burst)");

        // Exactly once each: the count stays, and no timer key is left.
        await Task.Delay(500);
        Assert.Equal($"${Count.ToString().Length}\r\n{Count}\r\n", await watcher.CallAsync("GET", counter));
        string keys = await watcher.CallAsync("KEYS", prefix + ":[0-9]*");
        Assert.Equal("*0\r\n", keys);
    }
}
