using RedisTimer.Proxy.Tests.Infrastructure;

namespace RedisTimer.Proxy.Tests.Timers;

/// <summary>
/// Timers the scheduler learns of without an event: written straight into Redis (found by reconciliation, which
/// reads the index in pages: IndexPagesTests), or changed behind the copy it holds.
/// </summary>
public class TimerReconciliationTests
{
    [Fact]
    public async Task Thousands_of_timers_written_without_events_each_fire_once()
    {
        using var redis = new RedisServer();
        using var direct = await RawClient.ConnectAsync(redis.Port);
        await TimerFixture.LoadTestLibraryAsync(direct);
        await using var proxy = await InProcessProxy.StartAsync(redis.Endpoint, new Dictionary<string, string?>
        {
            ["Timers:WindowMs"] = "3000",
            ["Timers:ReconcileIntervalMs"] = "200",
        });
        using var client = await RawClient.ConnectAsync(proxy.Port);
        Assert.Equal(":1\r\n", await client.CallAsync("TIMER.NEW", "rec:anchor", "rt_log", "600000", "0"));

        // 1,500 timers share one due time (more than a page of the index), 1,100 more follow a millisecond apart.
        // Due beyond the window, so a pass finds them as they enter it.
        const string script = """
            local t = redis.call('TIME')
            local base = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + 5000
            for i = 1, 2600 do
              local id = 'rec:t:' .. i
              local due = string.format('%.3f', base + math.max(0, i - 1500))
              redis.call('HSET', id, '__timer-tzw__', '1', 'due', due, 'ver', 'v' .. i,
                'def', cmsgpack.pack({ 'rt_raw', '5000', '0', '1', 'rec:fired', id }))
              redis.call('ZADD', 'timer-tzw:due', due, id)
            end
            return 2600
            """;
        Assert.Equal(":2600\r\n", await direct.CallAsync("EVAL", script, "0"));

        await TimerFixture.WaitUntilAsync(async () => await direct.CallAsync("LLEN", "rec:fired") == ":2600\r\n",
            TimeSpan.FromSeconds(40), "every timer written without an event fires");
        await Task.Delay(500); // time for a second fire of any of them, were there one
        await direct.SendCommandAsync("LRANGE", "rec:fired", 0, -1);
        var fired = TimerFixture.ParseBulkArray(await direct.ReadReplyAsync());
        Assert.Equal(Enumerable.Range(1, 2600).Select(i => $"rec:t:{i}").Order(), fired.Order());
        Assert.Equal(":0\r\n", await direct.CallAsync("EXISTS", "rec:t:1", "rec:t:1500", "rec:t:2600"));
        Assert.Equal(":1\r\n", await direct.CallAsync("ZCARD", "timer-tzw:due")); // the anchor
    }

    [Fact]
    public async Task A_loop_timer_whose_held_version_went_stale_is_read_again_at_once_not_at_the_next_reconciliation()
    {
        using var redis = new RedisServer();
        using var direct = await RawClient.ConnectAsync(redis.Port);
        await TimerFixture.LoadTestLibraryAsync(direct);
        // Reconciliation far away: only the scheduler's own reaction can keep the timer firing.
        await using var proxy = await InProcessProxy.StartAsync(redis.Endpoint, new Dictionary<string, string?>
        {
            ["Timers:ReconcileIntervalMs"] = "120000",
        });
        using var client = await RawClient.ConnectAsync(proxy.Port);
        Assert.Equal(":1\r\n", await client.CallAsync("TIMER.NEW", "stale:loop", "rt_log", "200", "LOOP", "0"));
        await TimerFixture.WaitUntilAsync(async () => await direct.CallAsync("LLEN", "rt:log") != ":0\r\n",
            TimeSpan.FromSeconds(15), "the first fire");

        // The version changes behind the scheduler's back and no event says so (as when a load that read the timer
        // before a fire lands after it): the copy it holds is stale, and its next fire is refused.
        Assert.Equal(":0\r\n", await direct.CallAsync("HSET", "stale:loop", "ver", "changed-behind-its-back"));
        long before = long.Parse((await direct.CallAsync("LLEN", "rt:log"))[1..^2]);
        await TimerFixture.WaitUntilAsync(async () => long.Parse((await direct.CallAsync("LLEN", "rt:log"))[1..^2]) >= before + 3,
            TimeSpan.FromSeconds(20), "the timer goes on firing well before the next reconciliation");
        Assert.Equal(":1\r\n", await client.CallAsync("TIMER.KILL", "stale:loop"));
    }
}
