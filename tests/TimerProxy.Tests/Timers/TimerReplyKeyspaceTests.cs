using RedisTimer.Proxy.Tests.Infrastructure;
using static RedisTimer.Proxy.Tests.Timers.TimerReplyKit;

namespace RedisTimer.Proxy.Tests.Timers;

/// <summary>TIMER_SEMANTICS.md section 2 (KEYS, SCAN TYPE) and section 4 (SELECT): timers in the keyspace.</summary>
public class TimerReplyKeyspaceTests(TimerFixture fx) : IClassFixture<TimerFixture>
{
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Keys_lists_timers(int protocol)
    {
        using var c = await ConnectAsync(fx, protocol);
        string prefix = Key("keys");
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", prefix + ":t", "rt_log", "60000", "0"));
        Assert.Equal("+OK\r\n", await c.CallAsync("SET", prefix + ":s", "v"));
        var keys = TimerFixture.ParseBulkArray(await c.CallAsync("KEYS", prefix + ":*"));
        Assert.Equal([prefix + ":s", prefix + ":t"], keys.Order(StringComparer.Ordinal));
        Assert.Equal("*1\r\n" + Bulk(prefix + ":t"), await c.CallAsync("KEYS", prefix + ":t"));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.KILL", prefix + ":t"));
    }

    [Theory]
    [InlineData(2, "timer-tzw")]
    [InlineData(2, "TIMER-TZW")]
    [InlineData(2, "Timer-Tzw")]
    [InlineData(3, "timer-tzw")]
    [InlineData(3, "TIMER-TZW")]
    public async Task Scan_type_timer_tzw_lists_timers_in_any_case_and_nothing_else(int protocol, string type)
    {
        using var c = await ConnectAsync(fx, protocol);
        string prefix = Key("scan");
        string[] timers = [prefix + ":t1", prefix + ":t2", prefix + ":t3"];
        foreach (var t in timers) Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", t, "rt_log", "60000", "LOOP", "0"));
        Assert.Equal(":1\r\n", await c.CallAsync("HSET", prefix + ":h", "f", "v"));
        Assert.Equal("+OK\r\n", await c.CallAsync("SET", prefix + ":s", "v"));

        var listed = await ScanAllAsync(c, "TYPE", type);
        Assert.Equal(timers, listed.Where(k => k.StartsWith(prefix)).Order(StringComparer.Ordinal));
        // With MATCH and COUNT, before or after TYPE.
        listed = await ScanAllAsync(c, "MATCH", prefix + ":*", "TYPE", type, "COUNT", "5");
        Assert.Equal(timers, listed.Order(StringComparer.Ordinal));
        listed = await ScanAllAsync(c, "type", type, "match", prefix + ":t*");
        Assert.Equal(timers, listed.Order(StringComparer.Ordinal));

        foreach (var t in timers) Assert.Equal(":1\r\n", await c.CallAsync("TIMER.KILL", t));
        listed = await ScanAllAsync(c, "MATCH", prefix + ":*", "TYPE", type);
        Assert.Empty(listed);
    }

    [Theory]
    [InlineData(2, "hash")]
    [InlineData(2, "HASH")]
    [InlineData(3, "hash")]
    public async Task Scan_type_hash_does_not_list_timers(int protocol, string type)
    {
        using var c = await ConnectAsync(fx, protocol);
        string prefix = Key("scanhash");
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", prefix + ":t", "rt_log", "60000", "0"));
        Assert.Equal(":1\r\n", await c.CallAsync("HSET", prefix + ":h", "f", "v"));
        var listed = await ScanAllAsync(c, "TYPE", type);
        Assert.Equal([prefix + ":h"], listed.Where(k => k.StartsWith(prefix)));
        listed = await ScanAllAsync(c, "MATCH", prefix + ":*", "TYPE", type);
        Assert.Equal([prefix + ":h"], listed);
        // Without TYPE, SCAN lists both.
        listed = await ScanAllAsync(c, "MATCH", prefix + ":*");
        Assert.Equal([prefix + ":h", prefix + ":t"], listed.Order(StringComparer.Ordinal));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.KILL", prefix + ":t"));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task After_select_the_timer_lives_and_fires_in_that_db(int protocol)
    {
        using var c = await ConnectAsync(fx, protocol);
        string t = Key("db"), list = Key("db-list");
        Assert.Equal("+OK\r\n", await c.CallAsync("SELECT", "5"));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", t, "rt_raw", "300", "1", list, "fired"));
        Assert.Equal(Info(protocol, "rt_raw", 300, false, [list], ["fired"]), TakeRemaining(await c.CallAsync("TIMER.INFO", t), out long _));
        Assert.Equal("+timer-tzw\r\n", await c.CallAsync("TYPE", t));

        using (var db0 = await DirectAsync(fx))
        {
            Assert.Equal(":0\r\n", await db0.CallAsync("EXISTS", t));
        }
        await TimerFixture.WaitUntilAsync(async () => await c.CallAsync("LRANGE", list, 0, -1) == "*1\r\n$5\r\nfired\r\n", because: "fired in db 5");
        Assert.Equal(":0\r\n", await c.CallAsync("EXISTS", t));
        Assert.Equal(Nil(protocol), await c.CallAsync("TIMER.INFO", t));
        using (var db0 = await DirectAsync(fx))
        {
            Assert.Equal(":0\r\n", await db0.CallAsync("EXISTS", list));
        }

        // Back in db 0 on the same connection: a timer there fires there.
        Assert.Equal("+OK\r\n", await c.CallAsync("SELECT", "0"));
        Assert.Equal(Nil(protocol), await c.CallAsync("TIMER.INFO", t));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", t, "rt_raw", "50", "1", list, "db0"));
        await TimerFixture.WaitUntilAsync(async () => await c.CallAsync("LRANGE", list, 0, -1) == "*1\r\n$3\r\ndb0\r\n", because: "fired in db 0");
        using var db5 = await DirectAsync(fx, 5);
        Assert.Equal("*1\r\n$5\r\nfired\r\n", await db5.CallAsync("LRANGE", list, 0, -1));
    }

    [Fact]
    public async Task Timers_of_the_same_name_in_two_dbs_are_independent()
    {
        using var a = await ConnectAsync(fx, 2);
        using var b = await ConnectAsync(fx, 2);
        string t = Key("twodb");
        Assert.Equal("+OK\r\n", await b.CallAsync("SELECT", "7"));
        Assert.Equal(":1\r\n", await a.CallAsync("TIMER.NEW", t, "rt_log", "60000", "0"));
        Assert.Equal(":1\r\n", await b.CallAsync("TIMER.NEW", t, "rt_log", "60000", "LOOP", "0"));
        Assert.Equal(Info(2, "rt_log", 60000, false), TakeRemaining(await a.CallAsync("TIMER.INFO", t), out long _));
        Assert.Equal(Info(2, "rt_log", 60000, true), TakeRemaining(await b.CallAsync("TIMER.INFO", t), out long _));
        Assert.Equal(":1\r\n", await a.CallAsync("TIMER.KILL", t));
        Assert.Equal("$-1\r\n", await a.CallAsync("TIMER.INFO", t));
        Assert.Equal(Info(2, "rt_log", 60000, true), TakeRemaining(await b.CallAsync("TIMER.INFO", t), out long _));
        Assert.Equal(":1\r\n", await b.CallAsync("TIMER.KILL", t));
    }

    [Fact]
    public async Task A_refused_select_leaves_the_timer_in_the_db_actually_selected()
    {
        using var c = await ConnectAsync(fx, 2);
        string t = Key("badselect"), list = Key("badselect-list");
        Assert.Equal("+OK\r\n", await c.CallAsync("SELECT", "3"));
        Assert.Equal("-ERR DB index is out of range\r\n", await c.CallAsync("SELECT", "99"));
        Assert.Equal("-ERR value is not an integer or out of range\r\n", await c.CallAsync("SELECT", "x"));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", t, "rt_raw", "200", "1", list, "fired"));
        using var db3 = await DirectAsync(fx, 3);
        Assert.Equal("+timer-tzw\r\n", await c.CallAsync("TYPE", t));
        await TimerFixture.WaitUntilAsync(async () => await db3.CallAsync("LRANGE", list, 0, -1) == "*1\r\n$5\r\nfired\r\n",
            TimeSpan.FromSeconds(20), because: "fired in db 3");
        Assert.Equal(":0\r\n", await db3.CallAsync("EXISTS", t));
    }

    [Fact]
    public async Task Select_and_timer_new_in_one_write_put_the_timer_in_the_selected_db()
    {
        using var c = await ConnectAsync(fx, 2);
        string t = Key("selpipe"), list = Key("selpipe-list");
        await c.SendAsync([.. RawClient.Command("SELECT", "4"), .. RawClient.Command("TIMER.NEW", t, "rt_raw", "100", "1", list, "v"),
            .. RawClient.Command("SELECT", "0"), .. RawClient.Command("TIMER.INFO", t)]);
        Assert.Equal("+OK\r\n", await c.ReadReplyAsync());
        Assert.Equal(":1\r\n", await c.ReadReplyAsync());
        Assert.Equal("+OK\r\n", await c.ReadReplyAsync());
        Assert.Equal("$-1\r\n", await c.ReadReplyAsync());
        using var db4 = await DirectAsync(fx, 4);
        await TimerFixture.WaitUntilAsync(async () => await db4.CallAsync("LRANGE", list, 0, -1) == "*1\r\n$1\r\nv\r\n", because: "fired in db 4");
    }
}
