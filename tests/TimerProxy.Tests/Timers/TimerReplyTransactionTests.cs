using System.Text;
using RedisTimer.Proxy.Tests.Infrastructure;
using static RedisTimer.Proxy.Tests.Timers.TimerReplyKit;

namespace RedisTimer.Proxy.Tests.Timers;

/// <summary>
/// TIMER.* pipelined, inside MULTI/EXEC and with WATCH (TIMER_SEMANTICS.md sections 1, 2 and 4), byte-exact,
/// RESP2 and RESP3.
/// </summary>
public class TimerReplyTransactionTests(TimerFixture fx) : IClassFixture<TimerFixture>
{
    private static async Task<List<string>> ReadRepliesAsync(RawClient c, int count)
    {
        var replies = new List<string>();
        for (int i = 0; i < count; i++) replies.Add(await c.ReadReplyAsync());
        return replies;
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Many_timer_commands_in_one_write_are_answered_in_order(int protocol)
    {
        using var c = await ConnectAsync(fx, protocol);
        string p = Key("pipe");
        const int n = 40;
        var bytes = new List<byte>();
        var expected = new List<string>();
        void Add(string reply, params object[] cmd) { bytes.AddRange(RawClient.Command(cmd)); expected.Add(reply); }
        for (int i = 0; i < n; i++)
        {
            if (i % 2 == 0) Add(":1\r\n", "TIMER.NEW", $"{p}:{i}", "rt_log", "60000", "LOOP", "1", $"k{i}", $"a{i}");
            else Add(":1\r\n", "TIMER.NEW", $"{p}:{i}", "rt_log", "60000", "0");
            Add("+PONG\r\n", "PING");
        }
        for (int i = 0; i < n; i++)
        {
            Add(i % 2 == 0 ? Info(protocol, "rt_log", 60000, true, [$"k{i}"], [$"a{i}"]) : Info(protocol, "rt_log", 60000, false),
                "TIMER.INFO", $"{p}:{i}");
            Add(Bulk("x"), "ECHO", "x");
        }
        Add(Nil(protocol), "TIMER.INFO", $"{p}:none");
        Add(Arity("timer.info"), "TIMER.INFO");
        Add(ModuleWrongType, "TIMER.INFO", p + ":str");  // SET comes later: see below
        for (int i = 0; i < n; i++) Add(":1\r\n", "TIMER.KILL", $"{p}:{i}");
        for (int i = 0; i < n; i++) Add(Nil(protocol), "TIMER.INFO", $"{p}:{i}");
        // The string must exist before its TIMER.INFO: create it first on another connection.
        using (var d = await ConnectAsync(fx, 2)) Assert.Equal("+OK\r\n", await d.CallAsync("SET", p + ":str", "v"));

        await c.SendAsync(bytes.ToArray());
        var replies = await ReadRepliesAsync(c, expected.Count);
        for (int i = 0; i < expected.Count; i++)
            Assert.Equal(expected[i], TakeRemaining(replies[i], out List<long> _));
        Assert.Equal("+PONG\r\n", await c.CallAsync("PING"));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Many_info_replies_in_one_write_with_big_values_survive_segment_boundaries(int protocol)
    {
        using var c = await ConnectAsync(fx, protocol);
        string p = Key("pipe-big");
        string big = new string('v', 20_000) + "\r\n" + new string('w', 15_000);
        const int n = 12;
        for (int i = 0; i < n; i++)
            Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", $"{p}:{i}", "rt_log", "60000", "1", big + i, big));
        var bytes = new List<byte>();
        for (int i = 0; i < n; i++) bytes.AddRange(RawClient.Command("TIMER.INFO", $"{p}:{i}"));
        await c.SendAsync(bytes.ToArray());
        for (int i = 0; i < n; i++)
            Assert.Equal(Info(protocol, "rt_log", 60000, false, [big + i], [big]), TakeRemaining(await c.ReadReplyAsync(), out long _));
        for (int i = 0; i < n; i++) Assert.Equal(":1\r\n", await c.CallAsync("TIMER.KILL", $"{p}:{i}"));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Arity_errors_inside_multi_are_queued_and_show_up_in_the_exec_array(int protocol)
    {
        using var c = await ConnectAsync(fx, protocol);
        string t = Key("multi-arity");
        Assert.Equal("+OK\r\n", await c.CallAsync("MULTI"));
        Assert.Equal("+QUEUED\r\n", await c.CallAsync("TIMER.NEW"));
        Assert.Equal("+QUEUED\r\n", await c.CallAsync("timer.new", t, "rt_log", "100"));
        Assert.Equal("+QUEUED\r\n", await c.CallAsync("TIMER.NEW", t, "rt_log", "100", "LOOP"));
        Assert.Equal("+QUEUED\r\n", await c.CallAsync("TIMER.NEW", t, "rt_log", "100", "2", "k"));
        Assert.Equal("+QUEUED\r\n", await c.CallAsync("TIMER.NEW", t, "rt_log", "0", "0"));
        Assert.Equal("+QUEUED\r\n", await c.CallAsync("TIMER.NEW", t, "rt_log", "100", "x"));
        Assert.Equal("+QUEUED\r\n", await c.CallAsync("Timer.Kill"));
        Assert.Equal("+QUEUED\r\n", await c.CallAsync("TIMER.KILL", t, t));
        Assert.Equal("+QUEUED\r\n", await c.CallAsync("timer.info"));
        Assert.Equal("+QUEUED\r\n", await c.CallAsync("TIMER.INFO", t, t));
        Assert.Equal("+QUEUED\r\n", await c.CallAsync("PING"));
        string exec = await c.CallAsync("EXEC");
        Assert.Equal("*11\r\n" + Arity("timer.new") + Arity("timer.new") + Arity("timer.new") + Arity("timer.new")
            + InvalidInterval + InvalidNumkeys + Arity("timer.kill") + Arity("timer.kill") + Arity("timer.info") + Arity("timer.info")
            + "+PONG\r\n", exec);
        Assert.Equal(":0\r\n", await c.CallAsync("EXISTS", t));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Exec_array_holds_each_timer_reply_with_info_flat_in_resp2_and_a_map_in_resp3(int protocol)
    {
        using var c = await ConnectAsync(fx, protocol);
        string t = Key("multi"), s = Key("multi-str");
        Assert.Equal("+OK\r\n", await c.CallAsync("SET", s, "v"));
        Assert.Equal("+OK\r\n", await c.CallAsync("MULTI"));
        string[] queue =
        [
            await c.CallAsync("TIMER.NEW", t, "rt_log", "60000", "LOOP", "1", "k1", "a1", "a2"),
            await c.CallAsync("TIMER.INFO", t),
            await c.CallAsync("TIMER.NEW", t, "rt_log", "60000", "0"),
            await c.CallAsync("TIMER.INFO", t),
            await c.CallAsync("TIMER.INFO", s),
            await c.CallAsync("TIMER.KILL", s),
            await c.CallAsync("TYPE", t),
            await c.CallAsync("TIMER.KILL", t),
            await c.CallAsync("TIMER.INFO", t),
            await c.CallAsync("TIMER.KILL", t),
        ];
        Assert.All(queue, r => Assert.Equal("+QUEUED\r\n", r));
        string exec = TakeRemaining(await c.CallAsync("EXEC"), out List<long> remaining);
        Assert.Equal("*10\r\n" + ":1\r\n" + Info(protocol, "rt_log", 60000, true, ["k1"], ["a1", "a2"]) + ":0\r\n"
            + Info(protocol, "rt_log", 60000, false) + ModuleWrongType + ModuleWrongType + "+timer-tzw\r\n" + ":1\r\n"
            + Nil(protocol) + ":0\r\n", exec);
        Assert.Equal(2, remaining.Count);
        Assert.All(remaining, r => Assert.InRange(r, 50_000, 59_999));
        Assert.Equal("$1\r\nv\r\n", await c.CallAsync("GET", s));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Whole_transaction_in_one_write(int protocol)
    {
        using var c = await ConnectAsync(fx, protocol);
        string t = Key("multi-pipe");
        await c.SendAsync([
            .. RawClient.Command("MULTI"),
            .. RawClient.Command("TIMER.NEW", t, "rt_log", "60000", "0", "x"),
            .. RawClient.Command("TIMER.INFO", t),
            .. RawClient.Command("TIMER.INFO"),
            .. RawClient.Command("EXEC"),
            .. RawClient.Command("TIMER.INFO", t),
            .. RawClient.Command("TIMER.KILL", t),
        ]);
        Assert.Equal("+OK\r\n", await c.ReadReplyAsync());
        for (int i = 0; i < 3; i++) Assert.Equal("+QUEUED\r\n", await c.ReadReplyAsync());
        Assert.Equal("*3\r\n:1\r\n" + Info(protocol, "rt_log", 60000, false, args: ["x"]) + Arity("timer.info"),
            TakeRemaining(await c.ReadReplyAsync(), out long _));
        Assert.Equal(Info(protocol, "rt_log", 60000, false, args: ["x"]), TakeRemaining(await c.ReadReplyAsync(), out long _));
        Assert.Equal(":1\r\n", await c.ReadReplyAsync());
    }

    /// <summary>Creates timer <paramref name="t"/> and queues a TIMER.INFO of it in a transaction that is discarded.</summary>
    private static async Task DiscardAnInfoAsync(RawClient c, string t)
    {
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", t, "rt_log", "60000", "0"));
        Assert.Equal("+OK\r\n", await c.CallAsync("MULTI"));
        Assert.Equal("+QUEUED\r\n", await c.CallAsync("TIMER.INFO", t));
        Assert.Equal("+OK\r\n", await c.CallAsync("DISCARD"));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Discarded_info_does_not_disturb_later_replies(int protocol)
    {
        using var c = await ConnectAsync(fx, protocol);
        string t = Key("discard");
        await DiscardAnInfoAsync(c, t);
        Assert.Equal(":2\r\n", await c.CallAsync("RPUSH", t + ":l", "a", "b"));
        Assert.Equal("*2\r\n$1\r\na\r\n$1\r\nb\r\n", await c.CallAsync("LRANGE", t + ":l", 0, -1));
        Assert.Equal(Info(protocol, "rt_log", 60000, false), TakeRemaining(await c.CallAsync("TIMER.INFO", t), out long _));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.KILL", t));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task A_reply_that_ends_like_the_start_of_an_info_reply_still_arrives(int protocol)
    {
        // After a discarded TIMER.INFO the proxy still looks for its reply; a reply ending in "*2\r\n" (or "%1\r\n")
        // could be the start of it and is held back, then released when nothing follows.
        using var c = await ConnectAsync(fx, protocol);
        string t = Key("held");
        await DiscardAnInfoAsync(c, t);
        Assert.Equal("+OK\r\n", await c.CallAsync("SET", t + ":v", "x*2"));
        for (int i = 0; i < 3; i++) Assert.Equal("$3\r\nx*2\r\n", await c.CallAsync("GET", t + ":v"));
        Assert.Equal("+OK\r\n", await c.CallAsync("SET", t + ":v", "x%1"));
        Assert.Equal("$3\r\nx%1\r\n", await c.CallAsync("GET", t + ":v"));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.KILL", t));
    }

    // ---- WATCH (section 4) ----

    /// <summary>WATCH key, run <paramref name="between"/> on another connection, then MULTI/PING/EXEC.</summary>
    private async Task<string> WatchedExecAsync(int protocol, string key, Func<RawClient, Task> between)
    {
        using var watcher = await ConnectAsync(fx, protocol);
        using var other = await ConnectAsync(fx, protocol);
        Assert.Equal("+OK\r\n", await watcher.CallAsync("WATCH", key));
        await between(other);
        Assert.Equal("+OK\r\n", await watcher.CallAsync("MULTI"));
        Assert.Equal("+QUEUED\r\n", await watcher.CallAsync("PING"));
        return await watcher.CallAsync("EXEC");
    }

    private const string ExecRan = "*1\r\n+PONG\r\n";

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Watch_is_invalidated_by_timer_new_create_and_reset(int protocol)
    {
        string t = Key("w-new");
        Assert.Equal(NullArray(protocol), await WatchedExecAsync(protocol, t,
            async o => Assert.Equal(":1\r\n", await o.CallAsync("TIMER.NEW", t, "rt_log", "60000", "0"))));
        Assert.Equal(NullArray(protocol), await WatchedExecAsync(protocol, t,
            async o => Assert.Equal(":0\r\n", await o.CallAsync("TIMER.NEW", t, "rt_log", "60000", "LOOP", "0"))));
        // Over a non-timer key too.
        string s = Key("w-new-str");
        using (var d = await ConnectAsync(fx, 2)) Assert.Equal("+OK\r\n", await d.CallAsync("SET", s, "v"));
        Assert.Equal(NullArray(protocol), await WatchedExecAsync(protocol, s,
            async o => Assert.Equal(":1\r\n", await o.CallAsync("TIMER.NEW", s, "rt_log", "60000", "0"))));
        using var c = await ConnectAsync(fx, 2);
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.KILL", t));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.KILL", s));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Watch_is_invalidated_by_timer_kill_of_a_timer_and_by_a_failing_kill_of_a_non_timer(int protocol)
    {
        string t = Key("w-kill");
        using (var d = await ConnectAsync(fx, 2)) Assert.Equal(":1\r\n", await d.CallAsync("TIMER.NEW", t, "rt_log", "60000", "0"));
        Assert.Equal(NullArray(protocol), await WatchedExecAsync(protocol, t,
            async o => Assert.Equal(":1\r\n", await o.CallAsync("TIMER.KILL", t))));

        string s = Key("w-kill-str");
        using (var d = await ConnectAsync(fx, 2)) Assert.Equal("+OK\r\n", await d.CallAsync("SET", s, "v"));
        Assert.Equal(NullArray(protocol), await WatchedExecAsync(protocol, s,
            async o => Assert.Equal(ModuleWrongType, await o.CallAsync("TIMER.KILL", s))));
        // ... also when the key has a TTL, which it keeps.
        using (var d = await ConnectAsync(fx, 2)) Assert.Equal(":1\r\n", await d.CallAsync("EXPIRE", s, "1000"));
        Assert.Equal(NullArray(protocol), await WatchedExecAsync(protocol, s,
            async o => Assert.Equal(ModuleWrongType, await o.CallAsync("TIMER.KILL", s))));
        using var c = await ConnectAsync(fx, 2);
        Assert.Equal("$1\r\nv\r\n", await c.CallAsync("GET", s));
        Assert.StartsWith(":", await c.CallAsync("TTL", s));
        Assert.NotEqual(":-1\r\n", await c.CallAsync("TTL", s));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Watch_is_not_invalidated_by_timer_info_nor_by_a_kill_of_a_missing_key(int protocol)
    {
        string t = Key("w-info");
        using (var d = await ConnectAsync(fx, 2)) Assert.Equal(":1\r\n", await d.CallAsync("TIMER.NEW", t, "rt_log", "60000", "0"));
        Assert.Equal(ExecRan, await WatchedExecAsync(protocol, t,
            async o => Assert.Equal(Info(protocol, "rt_log", 60000, false), TakeRemaining(await o.CallAsync("TIMER.INFO", t), out long _))));
        string missing = Key("w-missing");
        Assert.Equal(ExecRan, await WatchedExecAsync(protocol, missing,
            async o =>
            {
                Assert.Equal(":0\r\n", await o.CallAsync("TIMER.KILL", missing));
                Assert.Equal(Nil(protocol), await o.CallAsync("TIMER.INFO", missing));
            }));
        string s = Key("w-info-str");
        using (var d = await ConnectAsync(fx, 2)) Assert.Equal("+OK\r\n", await d.CallAsync("SET", s, "v"));
        Assert.Equal(ExecRan, await WatchedExecAsync(protocol, s,
            async o => Assert.Equal(ModuleWrongType, await o.CallAsync("TIMER.INFO", s))));
        // Validation errors write nothing either.
        Assert.Equal(ExecRan, await WatchedExecAsync(protocol, t,
            async o =>
            {
                Assert.Equal(InvalidInterval, await o.CallAsync("TIMER.NEW", t, "rt_log", "0", "0"));
                Assert.Equal(InvalidNumkeys, await o.CallAsync("TIMER.NEW", t, "rt_log", "10", "x"));
                Assert.Equal(Arity("timer.new"), await o.CallAsync("TIMER.NEW", t, "rt_log", "10"));
            }));
        using var c = await ConnectAsync(fx, 2);
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.KILL", t));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Watch_is_invalidated_by_a_one_shot_fire(int protocol)
    {
        string t = Key("w-fire"), counter = Key("w-fire-count");
        Assert.Equal(NullArray(protocol), await WatchedExecAsync(protocol, t, async o =>
        {
            Assert.Equal(":1\r\n", await o.CallAsync("TIMER.NEW", t, "rt_count", "50", "1", counter));
            await TimerFixture.WaitUntilAsync(async () => await o.CallAsync("EXISTS", t) == ":0\r\n", because: "fired");
        }));
        // The NEW alone already touches the key: check a WATCH taken after it, while the timer is still pending.
        for (int attempt = 0; ; attempt++)
        {
            string t2 = Key("w-fire2");
            using var watcher = await ConnectAsync(fx, protocol);
            using var other = await ConnectAsync(fx, protocol);
            Assert.Equal(":1\r\n", await other.CallAsync("TIMER.NEW", t2, "rt_count", "1000", "1", counter));
            Assert.Equal("+OK\r\n", await watcher.CallAsync("WATCH", t2));
            if (await watcher.CallAsync("EXISTS", t2) != ":1\r\n")
            {
                Assert.True(attempt < 3, "the 1000 ms timer kept firing before WATCH: machine too slow");
                continue; // fired before the WATCH: try again
            }
            await TimerFixture.WaitUntilAsync(async () => await other.CallAsync("EXISTS", t2) == ":0\r\n", because: "fired");
            Assert.Equal("+OK\r\n", await watcher.CallAsync("MULTI"));
            Assert.Equal("+QUEUED\r\n", await watcher.CallAsync("PING"));
            Assert.Equal(NullArray(protocol), await watcher.CallAsync("EXEC"));
            return;
        }
    }
}
