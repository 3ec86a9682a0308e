using RedisTimer.Proxy.Timers;
using RedisTimer.Proxy.Tests.Infrastructure;

namespace RedisTimer.Proxy.Tests.Timers;

/// <summary>The proxy's function library: absent until timers are used, and loaded again when it goes missing.</summary>
public class TimerLibraryTests
{
    [Fact]
    public async Task A_proxy_without_timers_leaves_functions_scripts_and_command_stats_untouched()
    {
        using var redis = new RedisServer();
        await using var proxy = await InProcessProxy.StartAsync(redis.Endpoint);
        using var direct = await RawClient.ConnectAsync(redis.Port);
        // The one thing a proxy asks at start-up is whether the library is there; then the statistics are reset.
        await TimerFixture.WaitUntilAsync(async () => (await direct.CallAsync("INFO", "commandstats")).Contains("cmdstat_function|list:calls=1,"),
            TimeSpan.FromSeconds(15), "start-up check");
        Assert.Equal("+OK\r\n", await direct.CallAsync("CONFIG", "RESETSTAT"));

        using var client = await RawClient.ConnectAsync(proxy.Port);
        Assert.Equal("+OK\r\n", await client.CallAsync("SET", "plain:k", "v"));
        Assert.Equal("+string\r\n", await client.CallAsync("TYPE", "plain:k"));
        Assert.Equal("+OK\r\n", await client.CallAsync("RENAME", "plain:k", "plain:k2"));
        await Task.Delay(1500); // time in which a scheduler, were one running, would poll

        var stats = await direct.CallAsync("INFO", "commandstats");
        Assert.Equal("*0\r\n", await direct.CallAsync("FUNCTION", "LIST"));
        Assert.Contains("number_of_cached_scripts:0", await direct.CallAsync("INFO", "memory"));
        Assert.Contains("cmdstat_type:calls=1,", stats);
        Assert.Contains("cmdstat_rename:calls=1,", stats);
        Assert.DoesNotContain("cmdstat_fcall", stats);
        Assert.DoesNotContain("cmdstat_function", stats);
        Assert.DoesNotContain("cmdstat_time", stats);
        Assert.DoesNotContain("cmdstat_info", stats);
        Assert.Contains("connected_clients:2", await direct.CallAsync("INFO", "clients")); // this one and the client's
    }

    [Fact]
    public async Task Function_flush_while_timers_exist_is_repaired_and_the_timer_still_fires()
    {
        using var redis = new RedisServer();
        await using var proxy = await InProcessProxy.StartAsync(redis.Endpoint);
        using var direct = await RawClient.ConnectAsync(redis.Port);
        using var client = await RawClient.ConnectAsync(proxy.Port);
        Assert.Equal(":1\r\n", await client.CallAsync("TIMER.NEW", "lib:t", "rt_count", "2500", "1", "lib:count"));
        Assert.Equal("+OK\r\n", await direct.CallAsync("FUNCTION", "FLUSH"));
        await TimerFixture.LoadTestLibraryAsync(direct);

        // Within a reconciliation the library is back: timer commands work again.
        await TimerFixture.WaitUntilAsync(async () => (await client.CallAsync("TIMER.INFO", "lib:t")).StartsWith("*"),
            TimeSpan.FromSeconds(10), "library reloaded");
        await TimerFixture.WaitUntilAsync(async () => await direct.CallAsync("GET", "lib:count") == "$1\r\n1\r\n",
            TimeSpan.FromSeconds(15), "timer fired");
    }

    [Fact]
    public async Task Redis_restarted_without_persistence_gets_the_library_at_the_next_timer_command()
    {
        using var redis = new RedisServer();
        await using var proxy = await InProcessProxy.StartAsync(redis.Endpoint);
        using (var client = await RawClient.ConnectAsync(proxy.Port))
            Assert.Equal(":1\r\n", await client.CallAsync("TIMER.NEW", "lib:gone", "nofn", "60000", "0"));

        redis.Stop(Signals.SIGKILL);
        redis.Start(redis.Port); // empty: no RDB, no AOF, no functions
        using var direct = await RawClient.ConnectAsync(redis.Port);
        await TimerFixture.LoadTestLibraryAsync(direct);

        // The first command may still meet the old state (the scheduler notices the empty Redis within a second).
        await TimerFixture.WaitUntilAsync(async () =>
        {
            using var c = await RawClient.ConnectAsync(proxy.Port);
            return await c.CallAsync("TIMER.NEW", "lib:new", "rt_count", "100", "1", "lib:count2") == ":1\r\n";
        }, TimeSpan.FromSeconds(15), "TIMER.NEW accepted after the restart");
        await TimerFixture.WaitUntilAsync(async () => await direct.CallAsync("GET", "lib:count2") == "$1\r\n1\r\n",
            TimeSpan.FromSeconds(15), "timer fired");
    }

    [Fact]
    public async Task An_older_library_loaded_over_this_one_is_replaced_and_merged_timer_news_work_again()
    {
        using var redis = new RedisServer();
        await using var proxy = await InProcessProxy.StartAsync(redis.Endpoint);
        using var direct = await RawClient.ConnectAsync(redis.Port);
        await TimerFixture.LoadTestLibraryAsync(direct);
        using var client = await RawClient.ConnectAsync(proxy.Port);
        Assert.Equal(":1\r\n", await client.CallAsync("TIMER.NEW", "lib:old:0", "rt_log", "600000", "0"));

        // What an older proxy (without timer_batch) loads when it starts using timers during a rolling upgrade.
        string older = TimerLibrary.Source.Replace("redis.register_function{function_name='timer_batch', callback=timer_batch}", "");
        Assert.NotEqual(TimerLibrary.Source, older);
        Assert.Equal("$10\r\nredistimer\r\n", await direct.CallAsync("FUNCTION", "LOAD", "REPLACE", older));

        await TimerFixture.WaitUntilAsync(async () => (await direct.CallAsync("FUNCTION", "LIST", "LIBRARYNAME", "redistimer")).Contains("timer_batch"),
            TimeSpan.FromSeconds(10), "this proxy's library loaded again");
        var pipeline = Enumerable.Range(1, 20).SelectMany(i => RawClient.Command("TIMER.NEW", $"lib:old:{i}", "rt_log", "600000", "0")).ToArray();
        for (int round = 0; round < 2; round++)
        {
            // The first round starts merging on this connection, the second is merged.
            await client.SendAsync(pipeline);
            for (int i = 0; i < 20; i++) Assert.Equal(round == 0 ? ":1\r\n" : ":0\r\n", await client.ReadReplyAsync());
        }
    }
}
