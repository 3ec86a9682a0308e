using RedisTimer.Proxy.Tests.Infrastructure;

namespace RedisTimer.Proxy.Tests.Timers;

/// <summary>
/// Due times are absolute on the Redis server clock: a proxy killed with -9, or Redis restarted from RDB or
/// AOF, loses nothing; every timer still fires once, the overdue ones at once, LOOP timers go on.
/// </summary>
public class TimerDurabilityTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static async Task LoadTestLibraryAsync(RedisServer redis)
    {
        using var direct = await RawClient.ConnectAsync(redis.Port);
        await TimerFixture.LoadTestLibraryAsync(direct);
    }

    private static async Task<List<string>> LogAsync(RedisServer redis)
    {
        using var direct = await RawClient.ConnectAsync(redis.Port);
        return TimerFixture.ParseBulkArray(await direct.CallAsync("LRANGE", "rt:log", 0, -1));
    }

    private static int FiresOf(List<string> log, string id) => log.Count(l => l.Contains($"\"keys\":[\"{id}\"]"));

    [Theory]
    [InlineData(Signals.SIGKILL)]
    [InlineData(Signals.SIGTERM)] // a restart: it drains and stops
    public async Task Proxy_stopped_and_restarted_fires_every_timer_once(int signal)
    {
        using var redis = new RedisServer();
        await LoadTestLibraryAsync(redis);
        using (var first = new ProxyProcess(redis.Endpoint))
        {
            await first.WaitListeningAsync();
            using var c = await RawClient.ConnectAsync(first.Port);
            // A cold proxy's first timer command loads the library and starts the scheduler: warm up first, so the
            // timers below are made well before the kill (see TestHostThreads for the stall this once met).
            Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", "dur:warm", "rt_log", "600000", "0"));
            Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", "dur:overdue", "rt_log", "1000", "1", "dur:overdue"));
            Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", "dur:later", "rt_log", "3500", "1", "dur:later"));
            Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", "dur:loop", "rt_log", "400", "LOOP", "1", "dur:loop"));
            first.Signal(signal);
            Assert.True(first.WaitForExit(TimeSpan.FromSeconds(20)));
        }
        await Task.Delay(1500); // the first timer is now overdue, and nothing is running to fire it
        Assert.Equal(0, FiresOf(await LogAsync(redis), "dur:overdue"));

        using var second = new ProxyProcess(redis.Endpoint);
        await second.WaitForLogAsync("resuming timers", TimeSpan.FromSeconds(30));
        await TimerFixture.WaitUntilAsync(async () => FiresOf(await LogAsync(redis), "dur:later") == 1, TimeSpan.FromSeconds(20), "later timer");
        await TimerFixture.WaitUntilAsync(async () => FiresOf(await LogAsync(redis), "dur:loop") >= 3, TimeSpan.FromSeconds(20), "loop timer");
        await Task.Delay(500);
        var log = await LogAsync(redis);
        Assert.Equal(1, FiresOf(log, "dur:overdue"));
        Assert.Equal(1, FiresOf(log, "dur:later"));
    }

    public static TheoryData<string, string[]> Persistence => new()
    {
        { "RDB", [] },
        { "AOF", ["--appendonly", "yes", "--appendfsync", "always"] },
    };

    [Theory]
    [MemberData(nameof(Persistence))]
    public async Task Redis_restarted_from_persistence_fires_every_timer_once(string kind, string[] args)
    {
        using var redis = new RedisServer(args);
        await LoadTestLibraryAsync(redis);
        await using var proxy = await InProcessProxy.StartAsync(redis.Endpoint);
        using (var c = await RawClient.ConnectAsync(proxy.Port))
        {
            Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", "dur:down", "rt_log", "700", "1", "dur:down"));
            Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", "dur:after", "rt_log", "3000", "1", "dur:after"));
            Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", "dur:loop", "rt_log", "500", "LOOP", "1", "dur:loop"));
            if (kind == "RDB") Assert.Equal("+OK\r\n", await c.CallAsync("SAVE"));
        }
        redis.Stop(Signals.SIGKILL);
        await Task.Delay(1200); // dur:down falls due while Redis is down
        redis.Start(redis.Port);

        using (var c = await RawClient.ConnectAsync(proxy.Port))
        {
            // The timers came back from disk, with their schedule.
            Assert.Equal("+timer-tzw\r\n", await c.CallAsync("TYPE", "dur:after"));
        }
        await TimerFixture.WaitUntilAsync(async () => FiresOf(await LogAsync(redis), "dur:down") == 1, TimeSpan.FromSeconds(20), "overdue timer");
        await TimerFixture.WaitUntilAsync(async () => FiresOf(await LogAsync(redis), "dur:after") == 1, TimeSpan.FromSeconds(20), "later timer");
        await TimerFixture.WaitUntilAsync(async () => FiresOf(await LogAsync(redis), "dur:loop") >= 2, TimeSpan.FromSeconds(20), "loop timer");
        await Task.Delay(500);
        var log = await LogAsync(redis);
        Assert.Equal(1, FiresOf(log, "dur:down"));
        Assert.Equal(1, FiresOf(log, "dur:after"));
    }

    /// <summary>
    /// Without persistence a restarted Redis has lost its timers (and the library): nothing of the old ones fires,
    /// and the next TIMER.NEW works as on a fresh Redis (the proxy loads the library again).
    /// </summary>
    [Fact]
    public async Task Redis_restarted_without_persistence_loses_its_timers_and_new_ones_work()
    {
        using var redis = new RedisServer();
        await LoadTestLibraryAsync(redis);
        await using var proxy = await InProcessProxy.StartAsync(redis.Endpoint);
        using (var c = await RawClient.ConnectAsync(proxy.Port))
            Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", "dur:gone", "rt_log", "1500", "1", "dur:gone"));
        redis.Stop(Signals.SIGKILL);
        redis.Start(redis.Port);
        await LoadTestLibraryAsync(redis); // the user's functions were lost too

        // Until the scheduler has loaded the library again (at its next reconciliation, once it is connected again),
        // the commands the proxy rewrites are refused with Redis's "-ERR Function not found".
        var restarted = System.Diagnostics.Stopwatch.StartNew();
        using (var c = await RawClient.ConnectAsync(proxy.Port))
        {
            await TimerFixture.WaitUntilAsync(async () => await c.CallAsync("TYPE", "dur:gone") == "+none\r\n", TimeSpan.FromSeconds(20), "the library is back");
            output.WriteLine($"rewritten commands refused for {restarted.ElapsedMilliseconds} ms after the restart");
            Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", "dur:new", "rt_log", "100", "1", "dur:new"));
        }
        await TimerFixture.WaitUntilAsync(async () => FiresOf(await LogAsync(redis), "dur:new") == 1, TimeSpan.FromSeconds(20), "the new timer");
        await Task.Delay(2000); // past the lost timer's due time
        Assert.Equal(0, FiresOf(await LogAsync(redis), "dur:gone"));
    }
}
