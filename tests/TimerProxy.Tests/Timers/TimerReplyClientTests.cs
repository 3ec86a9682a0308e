using RedisTimer.Proxy.Tests.Infrastructure;
using StackExchange.Redis;
using static RedisTimer.Proxy.Tests.Timers.TimerReplyKit;

namespace RedisTimer.Proxy.Tests.Timers;

/// <summary>TIMER.* from StackExchange.Redis (db.ExecuteAsync), as applications call the module.</summary>
public class TimerReplyClientTests(TimerFixture fx) : IClassFixture<TimerFixture>
{
    [Theory]
    [InlineData("resp2")]
    [InlineData("resp3")]
    public async Task ExecuteAsync_creates_inspects_and_kills_a_timer(string protocol)
    {
        await using var mux = await fx.MultiplexerAsync("protocol=" + protocol);
        var db = mux.GetDatabase();
        string t = Key("se"), list = Key("se-list");

        Assert.Equal(1, (long)await db.ExecuteAsync("TIMER.NEW", t, "rt_raw", "60000", "LOOP", "1", list, "a 1", "b\r\n2"));
        Assert.Equal(0, (long)await db.ExecuteAsync("TIMER.NEW", t, "rt_raw", "60000", "LOOP", "1", list, "a 1", "b\r\n2"));

        var info = await db.ExecuteAsync("TIMER.INFO", t);
        // A RESP3 map is a flat list of name, value pairs to SE.Redis too, in the reply's order.
        Assert.Equal(protocol == "resp3" ? ResultType.Map : ResultType.Array, info.Resp3Type);
        var items = (RedisResult[])info!;
        var fields = new List<(string Name, RedisResult Value)>();
        for (int i = 0; i < items.Length; i += 2) fields.Add(((string)items[i]!, items[i + 1]));
        Assert.Equal(["function", "interval", "remaining", "loop", "key1", "arg1", "arg2"], fields.Select(f => f.Name));
        Assert.Equal("rt_raw", (string?)fields[0].Value);
        Assert.Equal(60000, (long)fields[1].Value);
        Assert.Equal(ResultType.Integer, fields[1].Value.Resp2Type);
        Assert.InRange((long)fields[2].Value, 50_000, 59_999);
        if (protocol == "resp3") Assert.True((bool)fields[3].Value);
        else Assert.Equal(1, (long)fields[3].Value);
        Assert.Equal(list, (string?)fields[4].Value);
        Assert.Equal("a 1", (string?)fields[5].Value);
        Assert.Equal("b\r\n2", (string?)fields[6].Value);

        Assert.Equal(RedisType.Unknown, await db.KeyTypeAsync(t)); // "timer-tzw" is no type SE.Redis knows
        Assert.True(await db.KeyExistsAsync(t));

        var err = await Assert.ThrowsAsync<RedisServerException>(() => db.ExecuteAsync("TIMER.NEW", t, "rt_raw", "0", "0"));
        Assert.Equal("ERR invalid interval", err.Message);
        err = await Assert.ThrowsAsync<RedisServerException>(() => db.ExecuteAsync("timer.info"));
        Assert.Equal("ERR wrong number of arguments for 'timer.info' command", err.Message);

        Assert.Equal(1, (long)await db.ExecuteAsync("TIMER.KILL", t));
        Assert.Equal(0, (long)await db.ExecuteAsync("TIMER.KILL", t));
        Assert.True((await db.ExecuteAsync("TIMER.INFO", t)).IsNull);

        await db.StringSetAsync(t, "v");
        err = await Assert.ThrowsAsync<RedisServerException>(() => db.ExecuteAsync("TIMER.KILL", t));
        Assert.Equal("ERR wrong type", err.Message);
        Assert.Equal("v", (string?)await db.StringGetAsync(t));
    }

    [Theory]
    [InlineData("resp2")]
    [InlineData("resp3")]
    public async Task A_timer_created_from_the_client_fires_its_function(string protocol)
    {
        await using var mux = await fx.MultiplexerAsync("protocol=" + protocol);
        var db = mux.GetDatabase();
        string t = Key("se-fire"), list = Key("se-fire-list");
        Assert.Equal(1, (long)await db.ExecuteAsync("TIMER.NEW", t, "rt_raw", "50", "1", list, "x", "y"));
        await TimerFixture.WaitUntilAsync(async () => await db.ListLengthAsync(list) == 2, because: "fired");
        Assert.Equal(["x", "y"], (await db.ListRangeAsync(list)).Select(v => (string)v!));
        Assert.False(await db.KeyExistsAsync(t));
    }

    [Fact]
    public async Task Timer_commands_in_a_client_transaction()
    {
        await using var mux = await fx.MultiplexerAsync();
        var db = mux.GetDatabase();
        string t = Key("se-tx");
        var tx = db.CreateTransaction();
        var created = tx.ExecuteAsync("TIMER.NEW", t, "rt_log", "60000", "0", "a");
        var info = tx.ExecuteAsync("TIMER.INFO", t);
        var killed = tx.ExecuteAsync("TIMER.KILL", t);
        Assert.True(await tx.ExecuteAsync());
        Assert.Equal(1, (long)await created);
        var items = (RedisResult[])(await info)!;
        Assert.Equal(10, items.Length);
        Assert.Equal("arg1", (string?)items[8]);
        Assert.Equal("a", (string?)items[9]);
        Assert.Equal(1, (long)await killed);
    }
}
