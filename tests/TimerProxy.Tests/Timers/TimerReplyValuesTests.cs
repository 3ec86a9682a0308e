using RedisTimer.Proxy.Tests.Infrastructure;
using static RedisTimer.Proxy.Tests.Timers.TimerReplyKit;

namespace RedisTimer.Proxy.Tests.Timers;

/// <summary>TIMER_SEMANTICS.md section 2: the replies of TIMER.NEW/KILL/INFO, byte-exact, RESP2 and RESP3.</summary>
public class TimerReplyValuesTests(TimerFixture fx) : IClassFixture<TimerFixture>
{
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task New_answers_1_when_created_and_0_when_it_replaces_a_timer(int protocol)
    {
        using var c = await ConnectAsync(fx, protocol);
        string t = Key("new");
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", t, "rt_log", "60000", "0"));
        Assert.Equal(":0\r\n", await c.CallAsync("TIMER.NEW", t, "rt_log", "60000", "LOOP", "0"));
        Assert.Equal(":0\r\n", await c.CallAsync("timer.new", t, "rt_count", "30000", "1", "k", "a"));
        // The reset replaced the whole definition.
        Assert.Equal(Info(protocol, "rt_count", 30000, false, ["k"], ["a"]), TakeRemaining(await c.CallAsync("TIMER.INFO", t), out long _));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.KILL", t));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", t, "rt_log", "60000", "0"));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.KILL", t));
    }

    public static TheoryData<int, string> NonTimerTypes()
    {
        var data = new TheoryData<int, string>();
        foreach (int p in new[] { 2, 3 })
            foreach (var type in new[] { "string", "list", "hash", "set", "zset", "stream" })
                data.Add(p, type);
        return data;
    }

    private static async Task MakeKeyAsync(RawClient c, string key, string type)
    {
        string reply = type switch
        {
            "string" => await c.CallAsync("SET", key, "v"),
            "list" => await c.CallAsync("RPUSH", key, "v"),
            "hash" => await c.CallAsync("HSET", key, "f", "v"),
            "set" => await c.CallAsync("SADD", key, "v"),
            "zset" => await c.CallAsync("ZADD", key, "1", "v"),
            "stream" => await c.CallAsync("XADD", key, "1-1", "f", "v"),
            _ => throw new ArgumentOutOfRangeException(nameof(type)),
        };
        Assert.DoesNotContain("ERR", reply);
        Assert.Equal($"+{type}\r\n", await c.CallAsync("TYPE", key));
    }

    [Theory]
    [MemberData(nameof(NonTimerTypes))]
    public async Task New_silently_overwrites_a_non_timer_key_and_drops_its_ttl(int protocol, string type)
    {
        using var c = await ConnectAsync(fx, protocol);
        string t = Key("over-" + type);
        await MakeKeyAsync(c, t, type);
        Assert.Equal(":1\r\n", await c.CallAsync("EXPIRE", t, "1000"));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", t, "rt_log", "60000", "0"));
        Assert.Equal("+timer-tzw\r\n", await c.CallAsync("TYPE", t));
        Assert.Equal(":-1\r\n", await c.CallAsync("TTL", t));
        Assert.Equal(Info(protocol, "rt_log", 60000, false), TakeRemaining(await c.CallAsync("TIMER.INFO", t), out long _));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.KILL", t));
        Assert.Equal(":0\r\n", await c.CallAsync("EXISTS", t));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task New_on_a_timer_with_a_ttl_answers_0_and_drops_the_ttl(int protocol)
    {
        using var c = await ConnectAsync(fx, protocol);
        string t = Key("ttl");
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", t, "rt_log", "60000", "0"));
        Assert.Equal(":1\r\n", await c.CallAsync("EXPIRE", t, "1000"));
        Assert.Equal(":0\r\n", await c.CallAsync("TIMER.NEW", t, "rt_log", "60000", "0"));
        Assert.Equal(":-1\r\n", await c.CallAsync("TTL", t));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.KILL", t));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Kill_answers_0_for_a_missing_key_and_1_for_a_timer(int protocol)
    {
        using var c = await ConnectAsync(fx, protocol);
        string t = Key("kill");
        Assert.Equal(":0\r\n", await c.CallAsync("TIMER.KILL", t));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", t, "rt_log", "60000", "LOOP", "0"));
        Assert.Equal(":1\r\n", await c.CallAsync("timer.kill", t));
        Assert.Equal(":0\r\n", await c.CallAsync("EXISTS", t));
        Assert.Equal(Nil(protocol), await c.CallAsync("TIMER.INFO", t));
        Assert.Equal(":0\r\n", await c.CallAsync("TIMER.KILL", t));
    }

    [Theory]
    [MemberData(nameof(NonTimerTypes))]
    public async Task Kill_of_a_non_timer_key_is_err_wrong_type_and_leaves_the_key_alone(int protocol, string type)
    {
        using var c = await ConnectAsync(fx, protocol);
        string t = Key("kill-" + type);
        await MakeKeyAsync(c, t, type);
        string dump = await c.CallAsync("DUMP", t);
        Assert.Equal(ModuleWrongType, await c.CallAsync("TIMER.KILL", t));
        Assert.Equal($"+{type}\r\n", await c.CallAsync("TYPE", t));
        Assert.Equal(dump, await c.CallAsync("DUMP", t));
        Assert.Equal(":-1\r\n", await c.CallAsync("TTL", t));

        // A key with a TTL keeps it.
        Assert.Equal(":1\r\n", await c.CallAsync("EXPIRE", t, "1000"));
        string expireTime = await c.CallAsync("PEXPIRETIME", t);
        Assert.Equal(ModuleWrongType, await c.CallAsync("TIMER.KILL", t));
        Assert.Equal(expireTime, await c.CallAsync("PEXPIRETIME", t));
        Assert.Equal(dump, await c.CallAsync("DUMP", t));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Info_of_a_missing_key_is_nil_and_of_a_non_timer_key_err_wrong_type(int protocol)
    {
        using var c = await ConnectAsync(fx, protocol);
        string t = Key("info-nil");
        Assert.Equal(Nil(protocol), await c.CallAsync("TIMER.INFO", t));
        Assert.Equal(Nil(protocol), await c.CallAsync("timer.info", t));
        Assert.Equal("+OK\r\n", await c.CallAsync("SET", t, "v"));
        Assert.Equal(ModuleWrongType, await c.CallAsync("TIMER.INFO", t));
        Assert.Equal(":1\r\n", await c.CallAsync("HSET", t + "h", "f", "v"));
        Assert.Equal(ModuleWrongType, await c.CallAsync("TIMER.INFO", t + "h"));
        Assert.Equal("$1\r\nv\r\n", await c.CallAsync("GET", t));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Info_lists_function_interval_remaining_loop_then_key1_to_keyN_then_arg1_to_argM(int protocol)
    {
        using var c = await ConnectAsync(fx, protocol);
        string t = Key("info-order");
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", t, "rt_log", "60000", "3", "ka", "kb", "kc", "a1", "a2"));
        Assert.Equal(Info(protocol, "rt_log", 60000, false, ["ka", "kb", "kc"], ["a1", "a2"]),
            TakeRemaining(await c.CallAsync("TIMER.INFO", t), out long _));

        // Ten and more: numbering goes on (key10, arg10, ...), keys first, args restart at 1.
        string[] keys = Enumerable.Range(1, 11).Select(i => $"k{i}").ToArray();
        string[] args = Enumerable.Range(1, 12).Select(i => $"v{i}").ToArray();
        Assert.Equal(":0\r\n", await c.CallAsync(["TIMER.NEW", t, "rt_log", "60000", "LOOP", "11", .. keys, .. args]));
        Assert.Equal(Info(protocol, "rt_log", 60000, true, keys, args), TakeRemaining(await c.CallAsync("TIMER.INFO", t), out long _));

        // No keys, no args: only the four fixed fields.
        Assert.Equal(":0\r\n", await c.CallAsync("TIMER.NEW", t, "rt_log", "60000", "LOOP", "0"));
        Assert.Equal(Info(protocol, "rt_log", 60000, true), TakeRemaining(await c.CallAsync("TIMER.INFO", t), out long _));

        // Keys only.
        Assert.Equal(":0\r\n", await c.CallAsync("TIMER.NEW", t, "rt_log", "60000", "2", "x", "y"));
        Assert.Equal(Info(protocol, "rt_log", 60000, false, ["x", "y"]), TakeRemaining(await c.CallAsync("TIMER.INFO", t), out long _));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.KILL", t));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Info_of_a_fresh_1000_ms_timer_shows_remaining_truncated(int protocol)
    {
        using var c = await ConnectAsync(fx, protocol);
        string t = Key("remaining");
        // LOOP, so that a slow machine that passes the due time still finds the key (re-armed).
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", t, "rt_log", "1000", "LOOP", "0"));
        Assert.Equal(Info(protocol, "rt_log", 1000, true), TakeRemaining(await c.CallAsync("TIMER.INFO", t), out long remaining));
        // Truncated, never rounded up to the interval: at most 999.
        Assert.InRange(remaining, 0, 999);
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.KILL", t));

        // A long one-shot: the same truncation, with a margin that a loaded machine cannot exceed.
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", t, "rt_log", "600000", "0"));
        Assert.Equal(Info(protocol, "rt_log", 600000, false), TakeRemaining(await c.CallAsync("TIMER.INFO", t), out remaining));
        Assert.InRange(remaining, 500_000, 599_999);
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.KILL", t));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Info_remaining_decreases_with_time(int protocol)
    {
        using var c = await ConnectAsync(fx, protocol);
        string t = Key("remaining-dec");
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", t, "rt_log", "600000", "0"));
        TakeRemaining(await c.CallAsync("TIMER.INFO", t), out long first);
        await Task.Delay(50);
        TakeRemaining(await c.CallAsync("TIMER.INFO", t), out long second);
        Assert.True(second <= first - 40, $"remaining went from {first} to {second} over 50 ms");
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.KILL", t));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Type_exists_ttl_pttl_persist_of_a_timer(int protocol)
    {
        using var c = await ConnectAsync(fx, protocol);
        string t = Key("meta");
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", t, "rt_log", "60000", "0"));
        Assert.Equal("+timer-tzw\r\n", await c.CallAsync("TYPE", t));
        Assert.Equal("+timer-tzw\r\n", await c.CallAsync("type", t));
        Assert.Equal(":1\r\n", await c.CallAsync("EXISTS", t));
        Assert.Equal(":-1\r\n", await c.CallAsync("TTL", t));
        Assert.Equal(":-1\r\n", await c.CallAsync("PTTL", t));
        Assert.Equal(":0\r\n", await c.CallAsync("PERSIST", t));
        // TYPE of everything else is still Redis's.
        Assert.Equal("+none\r\n", await c.CallAsync("TYPE", t + ":none"));
        Assert.Equal(":1\r\n", await c.CallAsync("HSET", t + ":h", "f", "v"));
        Assert.Equal("+hash\r\n", await c.CallAsync("TYPE", t + ":h"));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.KILL", t));
        Assert.Equal("+none\r\n", await c.CallAsync("TYPE", t));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task String_and_list_commands_on_a_timer_are_wrongtype(int protocol)
    {
        using var c = await ConnectAsync(fx, protocol);
        string t = Key("wrongtype");
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", t, "rt_log", "60000", "0"));
        Assert.Equal(WrongType, await c.CallAsync("GET", t));
        Assert.Equal(WrongType, await c.CallAsync("STRLEN", t));
        Assert.Equal(WrongType, await c.CallAsync("GETDEL", t));
        Assert.Equal(WrongType, await c.CallAsync("GETEX", t));
        Assert.Equal(WrongType, await c.CallAsync("LLEN", t));
        Assert.Equal(WrongType, await c.CallAsync("SMEMBERS", t));
        // Nothing of that touched the timer.
        Assert.Equal(Info(protocol, "rt_log", 60000, false), TakeRemaining(await c.CallAsync("TIMER.INFO", t), out long _));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.KILL", t));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Copy_of_a_timer_is_refused_like_the_module(int protocol)
    {
        // Section 0 allows a refusal with the module's error or a live copy; we refuse.
        using var c = await ConnectAsync(fx, protocol);
        string t = Key("copy"), other = Key("copy-dst");
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", t, "rt_log", "60000", "0"));
        Assert.Equal("-ERR not supported for this module key\r\n", await c.CallAsync("COPY", t, other));
        Assert.Equal("-ERR not supported for this module key\r\n", await c.CallAsync("copy", t, other, "REPLACE"));
        Assert.Equal(":0\r\n", await c.CallAsync("EXISTS", other));
        // COPY of anything else is Redis's own.
        Assert.Equal("+OK\r\n", await c.CallAsync("SET", other + ":s", "v"));
        Assert.Equal(":1\r\n", await c.CallAsync("COPY", other + ":s", other + ":s2"));
        Assert.Equal("$1\r\nv\r\n", await c.CallAsync("GET", other + ":s2"));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.KILL", t));
    }
}
