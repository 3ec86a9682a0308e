using System.Text.RegularExpressions;
using RedisTimer.Proxy.Tests.Infrastructure;

namespace RedisTimer.Proxy.Tests.Timers;

/// <summary>
/// A restarted Redis listens before it has loaded its data and answers <c>-LOADING</c> meanwhile. Through the
/// proxy clients see exactly that, the scheduler waits (it neither fires nor gives up), and once loading ends
/// every persisted timer fires once, the overdue ones at once.
/// </summary>
public class TimerLoadingTests
{
    private const string Loading = "-LOADING Redis is loading the dataset in memory\r\n";

    // Redis's own knob for slow loading in its tests (microseconds per key, RDB only), with events served every
    // KiB of the file so that clients are answered meanwhile: 20,000 keys load in 2 s at the very least.
    private static RedisServer SlowLoadingRedis() =>
        new("--key-load-delay", "100", "--loading-process-events-interval-bytes", "1024");

    private const int FillerKeys = 20_000;

    private static async Task PrepareAsync(RedisServer redis)
    {
        using var direct = await RawClient.ConnectAsync(redis.Port);
        await TimerFixture.LoadTestLibraryAsync(direct);
        Assert.Equal("$-1\r\n", await direct.CallAsync("EVAL",
            "for i = 1, tonumber(ARGV[1]) do redis.call('SET', 'ld:fill:' .. i, 'v') end", 0, FillerKeys));
    }

    private static async Task CreateTimersAsync(int proxyPort)
    {
        using var c = await RawClient.ConnectAsync(proxyPort);
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", "ld:overdue", "rt_log", "800", "1", "ld:overdue"));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", "ld:later", "rt_log", "9000", "1", "ld:later"));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", "ld:loop", "rt_log", "300", "LOOP", "1", "ld:loop"));
        Assert.Equal("+OK\r\n", await c.CallAsync("SAVE"));
    }

    /// <summary>Restarts Redis from its RDB and returns while it is still loading.</summary>
    private static async Task RestartAndSeeLoadingAsync(RedisServer redis)
    {
        redis.Stop(Signals.SIGKILL);
        await Task.Delay(1000); // ld:overdue falls due while Redis is down
        redis.Start(redis.Port, untilLoaded: false);
        Assert.True(await IsLoadingAsync(redis), "Redis loaded its data before the test could look");
    }

    private static async Task<bool> IsLoadingAsync(RedisServer redis)
    {
        using var direct = await RawClient.ConnectAsync(redis.Port);
        string persistence = await direct.CallAsync("INFO", "persistence");
        Assert.Contains("\r\nloading:", persistence);
        return persistence.Contains("\r\nloading:1\r\n");
    }

    /// <summary>Waits for the end of loading and returns Redis's clock at that moment (µs).</summary>
    private static async Task<long> LoadedAtUsAsync(RedisServer redis)
    {
        await TimerFixture.WaitUntilAsync(async () => !await IsLoadingAsync(redis), TimeSpan.FromSeconds(90), "loading ended");
        using var direct = await RawClient.ConnectAsync(redis.Port);
        var time = TimerFixture.ParseBulkArray(await direct.CallAsync("TIME"));
        return long.Parse(time[0]) * 1_000_000 + long.Parse(time[1]);
    }

    private static async Task AssertEveryTimerFiresOnceAsync(TimerFixture.Fire[] before, RedisServer redis, long loadedAtUs)
    {
        Assert.Empty(before); // nothing fired before the restart
        await WaitForFiresAsync(redis, "ld:overdue", 1);
        await WaitForFiresAsync(redis, "ld:loop", 2);
        await WaitForFiresAsync(redis, "ld:later", 1);
        await Task.Delay(500); // room for a second fire of a one-shot timer, were there one
        var fires = await FiresAsync(redis);
        Assert.Single(fires, f => f.Keys[0] == "ld:overdue");
        Assert.Single(fires, f => f.Keys[0] == "ld:later");
        // Overdue at the end of loading: fired at once, not after some back-off (the margin is for a loaded machine).
        var overdue = fires.Single(f => f.Keys[0] == "ld:overdue");
        Assert.InRange(overdue.Us - loadedAtUs, -1_000_000, 3_000_000);
    }

    private static async Task WaitForFiresAsync(RedisServer redis, string id, int atLeast) =>
        await TimerFixture.WaitUntilAsync(async () => (await FiresAsync(redis)).Count(f => f.Keys[0] == id) >= atLeast,
            TimeSpan.FromSeconds(20), $"{id} fired {atLeast} time(s)");

    private static async Task<TimerFixture.Fire[]> FiresAsync(RedisServer redis) =>
        [.. await TimerFixture.ReadFiresAsync(redis.Port)];

    [Fact]
    public async Task While_a_restarted_redis_loads_clients_get_LOADING_and_then_every_timer_fires_once()
    {
        using var redis = SlowLoadingRedis();
        await PrepareAsync(redis);
        await using var proxy = await InProcessProxy.StartAsync(redis.Endpoint);
        await CreateTimersAsync(proxy.Port);
        var before = await FiresAsync(redis);

        await RestartAndSeeLoadingAsync(redis);
        using (var c = await RawClient.ConnectAsync(proxy.Port))
        {
            // Exactly what Redis answers a direct client, for forwarded and for timer commands alike.
            Assert.Equal(Loading, await c.CallAsync("GET", "ld:fill:1"));
            Assert.Equal(Loading, await c.CallAsync("TIMER.INFO", "ld:later"));
            Assert.Equal(Loading, await c.CallAsync("TIMER.NEW", "ld:refused", "rt_log", "100", "0"));
            Assert.Equal(Loading, await c.CallAsync("TIMER.KILL", "ld:later"));
            Assert.Equal(Loading, await c.CallAsync("TYPE", "ld:later"));
            Assert.True(await IsLoadingAsync(redis), "loading ended while the replies above were asked for");
        }

        long loadedAt = await LoadedAtUsAsync(redis);
        await AssertEveryTimerFiresOnceAsync(before, redis, loadedAt);
        using (var c = await RawClient.ConnectAsync(proxy.Port))
            Assert.Equal("$-1\r\n", await c.CallAsync("TIMER.INFO", "ld:refused"));
    }

    [Fact]
    public async Task A_proxy_started_while_redis_loads_fires_the_persisted_timers_once_loading_ends()
    {
        using var redis = SlowLoadingRedis();
        await PrepareAsync(redis);
        await using (var first = await InProcessProxy.StartAsync(redis.Endpoint))
            await CreateTimersAsync(first.Port);
        var before = await FiresAsync(redis);

        await RestartAndSeeLoadingAsync(redis);
        using var proxy = new ProxyProcess(redis.Endpoint);
        await proxy.WaitListeningAsync();
        using (var c = await RawClient.ConnectAsync(proxy.Port))
        {
            Assert.Equal(Loading, await c.CallAsync("GET", "ld:fill:1"));
            Assert.True(await IsLoadingAsync(redis), "loading ended while the reply above was asked for");
        }

        long loadedAt = await LoadedAtUsAsync(redis);
        await AssertEveryTimerFiresOnceAsync(before, redis, loadedAt);
        // Said once, as a wait; not a failure.
        Assert.Single(Regex.Matches(proxy.Output, "Redis is loading its dataset"));
        Assert.DoesNotMatch(@" (WRN|ERR|FTL)\] ", proxy.Output);
    }
}
