using RedisTimer.Proxy.Tests.Infrastructure;

namespace RedisTimer.Proxy.Tests.Timers;

/// <summary>A Redis with keyspace notifications on (E and g): changes made directly on Redis are followed.</summary>
public class NotifyingRedisFixture : TimerFixture
{
    protected override string[] RedisArgs => ["--notify-keyspace-events", "Eg"];
}

public class TimerDirectChangeTests(NotifyingRedisFixture fx) : IClassFixture<NotifyingRedisFixture>
{
    [Fact]
    public async Task Rename_done_directly_on_redis_keeps_the_schedule_under_the_new_name()
    {
        using var proxied = await fx.ConnectProxyAsync();
        Assert.Equal(":1\r\n", await proxied.CallAsync("TIMER.NEW", "direct:a", "rt_log", "1500", "1", "direct:b"));
        using var direct = await fx.ConnectRedisAsync();
        Assert.Equal("+OK\r\n", await direct.CallAsync("RENAME", "direct:a", "direct:b"));

        await TimerFixture.WaitUntilAsync(async () => (await fx.FiresAsync()).Any(f => f.Keys.SequenceEqual(["direct:b"])), TimeSpan.FromSeconds(15));
        await Task.Delay(500);
        Assert.Single(await fx.FiresAsync(), f => f.Keys.SequenceEqual(["direct:b"]));
        Assert.Equal(":0\r\n", await direct.CallAsync("EXISTS", "direct:b"));
    }

    [Fact]
    public async Task Restore_of_a_dump_under_another_name_directly_on_redis_gives_a_live_timer()
    {
        using var proxied = await fx.ConnectProxyAsync();
        Assert.Equal(":1\r\n", await proxied.CallAsync("TIMER.NEW", "direct:src", "rt_log", "1200", "1", "direct:copy"));
        using var direct = await fx.ConnectRedisAsync();
        await direct.SendCommandAsync("DUMP", "direct:src");
        string dump = await direct.ReadReplyAsync();
        var payload = System.Text.Encoding.Latin1.GetBytes(TimerFixture.ParseBulkArray("*1\r\n" + dump)[0]);
        Assert.Equal("+OK\r\n", await direct.CallAsync("RESTORE", "direct:copy", "0", payload));
        Assert.Equal(":1\r\n", await proxied.CallAsync("TIMER.KILL", "direct:src"));
        await TimerFixture.WaitUntilAsync(async () => (await direct.CallAsync("ZSCORE", "timer-tzw:due", "direct:copy")) != "$-1\r\n",
            TimeSpan.FromSeconds(10), "restored timer indexed");

        await TimerFixture.WaitUntilAsync(async () => (await fx.FiresAsync()).Any(f => f.Keys.SequenceEqual(["direct:copy"])), TimeSpan.FromSeconds(15));
        Assert.Equal(":0\r\n", await direct.CallAsync("EXISTS", "direct:copy"));
    }

    [Fact]
    public async Task A_timer_written_by_a_lua_script_as_the_storage_doc_describes_fires()
    {
        using var proxied = await fx.ConnectProxyAsync();
        // The proxy's scheduler runs once timers exist (here: one far in the future).
        Assert.Equal(":1\r\n", await proxied.CallAsync("TIMER.NEW", "lua:anchor", "rt_log", "600000", "0"));
        await WriteByHandAsync(proxied, "lua:made", "lua-1"u8.ToArray(), 200, "{ 'rt_log', '200', '0', '1', KEYS[1], 'from-lua' }");
        Assert.Equal("+timer-tzw\r\n", await proxied.CallAsync("TYPE", "lua:made"));

        await TimerFixture.WaitUntilAsync(async () => (await fx.FiresAsync()).Any(f => f.Keys.SequenceEqual(["lua:made"])), TimeSpan.FromSeconds(15));
        var fire = Assert.Single(await fx.FiresAsync(), f => f.Keys.SequenceEqual(["lua:made"]));
        Assert.Equal(["from-lua"], fire.Args);
        Assert.Equal(0, fire.Exists);
        Assert.Equal(":1\r\n", await proxied.CallAsync("TIMER.KILL", "lua:anchor"));
    }

    [Fact]
    public async Task A_timer_written_by_hand_with_a_non_ascii_version_fires_once()
    {
        using var proxied = await fx.ConnectProxyAsync();
        Assert.Equal(":1\r\n", await proxied.CallAsync("TIMER.NEW", "hand:anchor", "rt_log", "600000", "0"));
        await WriteByHandAsync(proxied, "hand:made", [(byte)'v', 195, 169, 255], 200, "{ 'rt_log', '200', '0', '1', KEYS[1], 'non-ascii' }");
        await TimerFixture.WaitUntilAsync(async () => (await fx.FiresAsync()).Any(f => f.Keys.SequenceEqual(["hand:made"])), TimeSpan.FromSeconds(15));
        await Task.Delay(500);
        Assert.Single(await fx.FiresAsync(), f => f.Keys.SequenceEqual(["hand:made"]));
        Assert.Equal(":1\r\n", await proxied.CallAsync("TIMER.KILL", "hand:anchor"));
    }

    [Fact]
    public async Task Malformed_hand_written_timers_are_skipped_and_do_not_hold_up_the_others()
    {
        using var proxied = await fx.ConnectProxyAsync();
        Assert.Equal(":1\r\n", await proxied.CallAsync("TIMER.NEW", "bad:anchor", "rt_log", "600000", "0"));
        // Due first: a definition whose last argument is a MessagePack integer, and a LOOP timer whose interval
        // Lua would never have written. Neither can be fired as it stands.
        await WriteByHandAsync(proxied, "bad:int-arg", "v1"u8.ToArray(), 100, "{ 'rt_log', '100', '0', '1', KEYS[1], 5 }");
        await WriteByHandAsync(proxied, "bad:loop-iv", "v1"u8.ToArray(), 100, "{ 'rt_log', '1e-300', '1', '1', KEYS[1] }");
        Assert.Equal(":1\r\n", await proxied.CallAsync("TIMER.NEW", "bad:after", "rt_log", "300", "1", "bad:after"));

        await TimerFixture.WaitUntilAsync(async () => (await fx.FiresAsync()).Any(f => f.Keys.SequenceEqual(["bad:after"])),
            TimeSpan.FromSeconds(15), "the well-formed timer fires");
        await Task.Delay(500);
        var fires = await fx.FiresAsync();
        Assert.DoesNotContain(fires, f => f.Keys.SequenceEqual(["bad:int-arg"]) || f.Keys.SequenceEqual(["bad:loop-iv"]));
        Assert.Single(fires, f => f.Keys.SequenceEqual(["bad:after"]));
        Assert.Equal(":1\r\n", await proxied.CallAsync("TIMER.KILL", "bad:anchor"));
        await proxied.CallAsync("DEL", "bad:int-arg", "bad:loop-iv");
    }

    /// <summary>
    /// Writes a timer straight into Redis, as docs/STORAGE.md describes it (hash, index entry, event), due
    /// <paramref name="inMs"/> from Redis's clock, with the given version and the def field packed from a Lua table.
    /// </summary>
    private static async Task WriteByHandAsync(RawClient client, string id, byte[] version, int inMs, string defTable)
    {
        string script = $$"""
            local t = redis.call('TIME')
            local due = string.format('%.3f', tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000 + tonumber(ARGV[1]))
            redis.call('HSET', KEYS[1], '__timer-tzw__', '1', 'due', due, 'ver', ARGV[2], 'def', cmsgpack.pack({{defTable}}))
            redis.call('ZADD', 'timer-tzw:due', due, KEYS[1])
            redis.call('PUBLISH', 'timer-tzw:events', '0:' .. due .. ':' .. KEYS[1])
            return 1
            """;
        Assert.Equal(":1\r\n", await client.CallAsync("EVAL", script, "1", id, inMs.ToString(), version));
    }
}
