using System.Text;
using System.Text.RegularExpressions;
using RedisTimer.Proxy.Tests.Infrastructure;
using static RedisTimer.Proxy.Tests.Timers.TimerReplyKit;

namespace RedisTimer.Proxy.Tests.Timers;

/// <summary>
/// Pipelined TIMER.NEWs are merged into one call of the library and its reply is split again: every
/// TIMER.NEW still gets exactly the reply it would get alone, in order, whatever surrounds it.
/// </summary>
public class TimerMergedNewTests(TimerFixture fx) : IClassFixture<TimerFixture>
{
    private const string IndexInvalidation = ">2\r\n$10\r\ninvalidate\r\n*1\r\n$13\r\ntimer-tzw:due\r\n";

    private sealed class Pipeline
    {
        private readonly List<byte> _bytes = [];
        // With CLIENT TRACKING, Redis tracks the keys a library call declares (the index; the id too when a
        // TIMER.NEW goes alone, as the last of a pipeline split across two reads does) and sends their
        // invalidation when the call writes them: pushes of the library's doing, not the ones under test.
        private readonly HashSet<string> _libraryInvalidations = [IndexInvalidation];
        public List<string> Expected { get; } = [];
        /// <summary>RESP3 pushes met among the replies.</summary>
        public List<string> Pushes { get; } = [];

        public Pipeline Add(string reply, params object[] command)
        {
            _bytes.AddRange(RawClient.Command(command));
            Expected.Add(reply);
            if (command.Length > 1 && command[0] is "TIMER.NEW" && command[1] is string id)
                _libraryInvalidations.Add($">2\r\n$10\r\ninvalidate\r\n*1\r\n{Bulk(id)}");
            return this;
        }

        /// <summary>Bytes Redis reads without replying (an empty inline line, "*0").</summary>
        public Pipeline AddRaw(string bytes)
        {
            _bytes.AddRange(Encoding.ASCII.GetBytes(bytes));
            return this;
        }

        /// <summary>A command whose reply Redis does not send (CLIENT REPLY OFF/SKIP).</summary>
        public Pipeline AddUnanswered(params object[] command)
        {
            _bytes.AddRange(RawClient.Command(command));
            return this;
        }

        public byte[] Bytes => _bytes.ToArray();

        /// <summary>Sends everything in one write and checks every reply, byte for byte and in order.</summary>
        public async Task RunAsync(RawClient c)
        {
            await c.SendAsync(Bytes);
            await CheckRepliesAsync(c);
        }

        public async Task CheckRepliesAsync(RawClient c)
        {
            for (int i = 0; i < Expected.Count; i++)
            {
                string reply = TakeRemaining(await c.ReadReplyAsync(), out List<long> _);
                while (reply.StartsWith('>'))
                {
                    if (!_libraryInvalidations.Contains(reply)) Pushes.Add(reply);
                    reply = TakeRemaining(await c.ReadReplyAsync(), out List<long> _);
                }
                Assert.True(Expected[i] == reply, $"reply {i}: expected {Show(Expected[i])}, got {Show(reply)}");
            }
            await c.SendCommandAsync("PING");
            string pong = await c.ReadReplyAsync();
            while (_libraryInvalidations.Contains(pong)) pong = await c.ReadReplyAsync();
            Assert.Equal("+PONG\r\n", pong);
        }
    }

    private async Task<long> FcallCallsAsync()
    {
        using var direct = await fx.ConnectRedisAsync();
        string stats = await direct.CallAsync("INFO", "commandstats");
        var m = Regex.Match(stats, @"cmdstat_fcall:calls=(\d+)");
        return m.Success ? long.Parse(m.Groups[1].Value) : 0;
    }

    // Replies are counted from the first merged call on; until its reply came, TIMER.NEWs go alone.
    private static async Task StartMergingAsync(RawClient c, string prefix)
    {
        await new Pipeline()
            .Add(":1\r\n", "TIMER.NEW", prefix + ":start1", "rt_log", "600000", "0")
            .Add(":1\r\n", "TIMER.NEW", prefix + ":start2", "rt_log", "600000", "0")
            .RunAsync(c);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Every_merged_timer_gets_the_reply_it_would_get_alone(int protocol)
    {
        using var c = await ConnectAsync(fx, protocol);
        string p = Key("merge");
        await StartMergingAsync(c, p);
        using (var d = await DirectAsync(fx))
        {
            Assert.Equal("+OK\r\n", await d.CallAsync("SET", p + ":str", "v", "EX", "1000"));
            Assert.Equal(":1\r\n", await d.CallAsync("RPUSH", p + ":list", "x"));
        }
        byte[] binary = [.. Encoding.Latin1.GetBytes(p), .. AllBytes];
        var pipe = new Pipeline()
            .Add(":1\r\n", "TIMER.NEW", p + ":a", "rt_log", "600000", "0")
            .Add(":0\r\n", "TIMER.NEW", p + ":a", "rt_log", "700000", "0")
            .Add(":1\r\n", "TIMER.NEW", p + ":loop", "rt_log", "600000", "LOOP", "1", "k1", "a1")
            .Add(InvalidInterval, "TIMER.NEW", p + ":x", "rt_log", "0", "0")
            .Add(InvalidInterval, "TIMER.NEW", p + ":x", "rt_log", "abc", "0")
            .Add(InvalidInterval, "TIMER.NEW", p + ":x", "rt_log", "9223372036854775807", "0")
            .Add(Arity("timer.new"), "TIMER.NEW", p + ":x", "rt_log", "100")
            .Add(Arity("timer.new"), "TIMER.NEW", p + ":x")
            .Add(Arity("timer.new"), "TIMER.NEW")
            .Add(Arity("timer.new"), "TIMER.NEW", p + ":x", "rt_log", "100", "LOOP")
            .Add(InvalidNumkeys, "TIMER.NEW", p + ":x", "rt_log", "100", "x")
            .Add(Arity("timer.new"), "TIMER.NEW", p + ":x", "rt_log", "100", "2", "k")
            .Add(":1\r\n", "TIMER.NEW", p + ":argloop", "rt_log", "600000", "0", "LOOP")
            .Add(":1\r\n", "TIMER.NEW", p + ":str", "rt_log", "600000", "0")
            .Add(":1\r\n", "TIMER.NEW", p + ":list", "rt_log", "600000", "0")
            .Add("-ERR timer-tzw:due is the timer index of this database; use another id\r\n", "TIMER.NEW", "timer-tzw:due", "rt_log", "100", "0")
            .Add(":1\r\n", "TIMER.NEW", binary, "rt_log", "600000", "1", binary, binary)
            .Add(":1\r\n", "TIMER.NEW", p + ":b", "rt_log", "600000", "0")
            .Add(Info(protocol, "rt_log", 700000, false), "TIMER.INFO", p + ":a")
            .Add(Info(protocol, "rt_log", 600000, true, ["k1"], ["a1"]), "TIMER.INFO", p + ":loop")
            .Add(Info(protocol, "rt_log", 600000, false, [], ["LOOP"]), "TIMER.INFO", p + ":argloop")
            .Add(Info(protocol, "rt_log", 600000, false, [L1(binary)], [L1(binary)]), "TIMER.INFO", binary)
            .Add(Nil(protocol), "TIMER.INFO", p + ":x")
            .Add(":-1\r\n", "TTL", p + ":str")
            .Add("+timer-tzw\r\n", "TYPE", p + ":list");
        long before = await FcallCallsAsync();
        await pipe.RunAsync(c);
        // 17 TIMER.NEWs in two merged calls and one alone (the one without arguments), 5 TIMER.INFOs, one TYPE:
        // 9 calls (23 unmerged).
        long calls = await FcallCallsAsync() - before;
        Assert.True(calls <= 12, $"{calls} FCALLs: the TIMER.NEWs were not merged");
    }

    [Fact]
    public async Task An_id_created_twice_in_a_merged_call_of_new_ids_is_reset_by_the_second_and_indexed_once()
    {
        using var c = await ConnectAsync(fx, 2);
        string p = Key("twice");
        await StartMergingAsync(c, p);
        var pipe = new Pipeline()
            .Add(":1\r\n", "TIMER.NEW", p + ":a", "rt_log", "600000", "0")
            .Add(":1\r\n", "TIMER.NEW", p + ":b", "rt_log", "600000", "0")
            .Add(":0\r\n", "TIMER.NEW", p + ":a", "rt_log", "700000", "LOOP", "0")
            .Add(":0\r\n", "TIMER.NEW", p + ":a", "rt_log", "800000", "0")
            .Add(Info(2, "rt_log", 800000, false), "TIMER.INFO", p + ":a")
            .Add(Info(2, "rt_log", 600000, false), "TIMER.INFO", p + ":b");
        await pipe.RunAsync(c);
        using var d = await DirectAsync(fx);
        // The index holds the last due time: 200 s after b's, as the INFOs say.
        double a = Score(await d.CallAsync("ZSCORE", "timer-tzw:due", p + ":a"));
        double b = Score(await d.CallAsync("ZSCORE", "timer-tzw:due", p + ":b"));
        Assert.InRange(a - b, 190_000, 200_001);
    }

    private static double Score(string bulk) =>
        double.Parse(bulk.Split("\r\n")[1], System.Globalization.CultureInfo.InvariantCulture);

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Merged_kills_get_the_reply_each_would_get_alone_in_order_with_the_timer_news_around_them(int protocol)
    {
        using var c = await ConnectAsync(fx, protocol);
        string p = Key("mkill");
        await StartMergingAsync(c, p);
        using var d = await DirectAsync(fx);
        Assert.Equal("+OK\r\n", await d.CallAsync("SET", p + ":str", "v"));
        var pipe = new Pipeline()
            .Add(":1\r\n", "TIMER.NEW", p + ":a", "rt_log", "600000", "0")
            .Add(":1\r\n", "TIMER.NEW", p + ":b", "rt_log", "600000", "0")
            .Add(":1\r\n", "TIMER.NEW", p + ":c", "rt_log", "600000", "0")
            .Add(":1\r\n", "TIMER.KILL", p + ":a")
            .Add(":0\r\n", "TIMER.KILL", p + ":a")
            .Add(ModuleWrongType, "TIMER.KILL", p + ":str")
            .Add(":0\r\n", "TIMER.KILL", p + ":missing")
            .Add(":1\r\n", "TIMER.KILL", p + ":start1")
            .Add(Arity("timer.kill"), "TIMER.KILL")
            .Add(Arity("timer.kill"), "TIMER.KILL", p + ":a", "extra")
            .Add(":1\r\n", "TIMER.NEW", p + ":d", "rt_log", "600000", "0")
            .Add(":1\r\n", "TIMER.KILL", p + ":d")
            .Add(":1\r\n", "TIMER.KILL", p + ":b")
            .Add(":1\r\n", "TIMER.KILL", p + ":c")
            .Add(":1\r\n", "TIMER.NEW", p + ":b", "rt_log", "700000", "0")
            .Add(Info(protocol, "rt_log", 700000, false), "TIMER.INFO", p + ":b")
            .Add(Nil(protocol), "TIMER.INFO", p + ":a");
        long before = await FcallCallsAsync();
        await pipe.RunAsync(c);
        long calls = await FcallCallsAsync() - before;
        // Runs of one kind are merged: a, b, c; five kills; the two arity errors alone; d; three kills; b; two TIMER.INFOs:
        // 9 calls (17 unmerged).
        Assert.True(calls <= 10, $"{calls} FCALLs: the TIMER.KILLs were not merged");
        // A killed timer leaves nothing behind: neither its hash nor its index entry.
        foreach (var gone in new[] { ":a", ":c", ":d", ":start1" })
        {
            Assert.Equal(":0\r\n", await d.CallAsync("EXISTS", p + gone));
            Assert.Equal(NullBulk, await d.CallAsync("ZSCORE", "timer-tzw:due", p + gone));
        }
        Assert.NotEqual(NullBulk, await d.CallAsync("ZSCORE", "timer-tzw:due", p + ":b"));
        Assert.Equal("$1\r\nv\r\n", await d.CallAsync("GET", p + ":str"));
    }

    private const string NullBulk = "$-1\r\n";

    [Fact]
    public async Task A_merged_kill_of_a_key_that_is_not_a_timer_breaks_a_watch_on_it_as_the_module_does()
    {
        using var c = await ConnectAsync(fx, 2);
        string p = Key("mkwatch");
        await StartMergingAsync(c, p);
        using var watcher = await ConnectAsync(fx, 2);
        Assert.Equal("+OK\r\n", await watcher.CallAsync("SET", p + ":str", "v"));
        Assert.Equal("+OK\r\n", await watcher.CallAsync("WATCH", p + ":str"));
        await new Pipeline()
            .Add(":0\r\n", "TIMER.KILL", p + ":missing")
            .Add(ModuleWrongType, "TIMER.KILL", p + ":str")
            .Add(":0\r\n", "TIMER.KILL", p + ":missing2")
            .RunAsync(c);
        Assert.Equal("+OK\r\n", await watcher.CallAsync("MULTI"));
        Assert.Equal("+QUEUED\r\n", await watcher.CallAsync("GET", p + ":str"));
        Assert.Equal("*-1\r\n", await watcher.CallAsync("EXEC"));
    }

    [Fact]
    public async Task Near_timers_killed_in_merged_calls_never_fire_and_one_killed_and_created_again_fires_once()
    {
        using var c = await ConnectAsync(fx, 2);
        string p = Key("mkfire");
        await StartMergingAsync(c, p);
        var create = new Pipeline();
        for (int i = 0; i < 50; i++) create.Add(":1\r\n", "TIMER.NEW", $"{p}:{i}", "rt_count", "1500", "1", $"{p}:count{i}");
        await create.RunAsync(c);
        var kill = new Pipeline();
        for (int i = 0; i < 50; i++) kill.Add(":1\r\n", "TIMER.KILL", $"{p}:{i}");
        kill.Add(":1\r\n", "TIMER.NEW", $"{p}:again", "rt_count", "300", "1", $"{p}:count-again")
            .Add(":1\r\n", "TIMER.KILL", $"{p}:again")
            .Add(":1\r\n", "TIMER.NEW", $"{p}:again", "rt_count", "300", "1", $"{p}:count-again")
            .Add(":1\r\n", "TIMER.NEW", $"{p}:gone", "rt_count", "300", "1", $"{p}:count-gone")
            .Add(":1\r\n", "TIMER.KILL", $"{p}:gone");
        await kill.RunAsync(c);
        using var d = await DirectAsync(fx);
        await TimerFixture.WaitUntilAsync(async () => await d.CallAsync("GET", $"{p}:count-again") == "$1\r\n1\r\n",
            because: "the timer created again after its kill fires");
        // Past the killed ones' due time (1.5 s after creation), with a margin for a loaded machine.
        await Task.Delay(3000);
        Assert.Equal("$1\r\n1\r\n", await d.CallAsync("GET", $"{p}:count-again"));
        Assert.Equal(NullBulk, await d.CallAsync("GET", $"{p}:count-gone"));
        for (int i = 0; i < 50; i++) Assert.Equal(NullBulk, await d.CallAsync("GET", $"{p}:count{i}"));
    }

    [Fact]
    public async Task A_thousand_pipelined_timers_are_created_in_a_few_calls_and_each_fires_once()
    {
        using var c = await ConnectAsync(fx, 2);
        string p = Key("many");
        await StartMergingAsync(c, p);
        var pipe = new Pipeline();
        for (int i = 0; i < 1000; i++) pipe.Add(":1\r\n", "TIMER.NEW", $"{p}:{i}", "rt_count", "2000", "1", $"{p}:count");
        long before = await FcallCallsAsync();
        await pipe.RunAsync(c);
        long calls = await FcallCallsAsync() - before;
        Assert.True(calls <= 100, $"{calls} FCALLs for 1000 TIMER.NEWs");
        using var d = await DirectAsync(fx);
        await TimerFixture.WaitUntilAsync(async () => await d.CallAsync("GET", p + ":count") == "$4\r\n1000\r\n",
            because: "all 1000 merged timers fire");
        await Task.Delay(500);
        Assert.Equal("$4\r\n1000\r\n", await d.CallAsync("GET", p + ":count"));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Merged_timers_around_other_commands_big_replies_and_selects_keep_their_order(int protocol)
    {
        using var c = await ConnectAsync(fx, protocol);
        string p = Key("around");
        await StartMergingAsync(c, p);
        string big = new('v', 300_000);
        using (var d = await DirectAsync(fx)) Assert.Equal("+OK\r\n", await d.CallAsync("SET", p + ":big", big));
        var pipe = new Pipeline();
        for (int round = 0; round < 5; round++)
        {
            for (int i = 0; i < 30; i++) pipe.Add(":1\r\n", "TIMER.NEW", $"{p}:{round}:{i}", "rt_log", "600000", "0");
            pipe.Add(Bulk(big), "GET", p + ":big");
            pipe.Add(":1\r\n", "TIMER.NEW", $"{p}:{round}:alone", "rt_log", "600000", "0");
            pipe.Add(Info(protocol, "rt_log", 600000, false), "TIMER.INFO", $"{p}:{round}:0");
            pipe.Add(":1\r\n", "TIMER.NEW", $"{p}:{round}:db3", "rt_log", "600000", "0");
            pipe.Add("+OK\r\n", "SELECT", "3");
            pipe.Add(":1\r\n", "TIMER.NEW", $"{p}:{round}:db3", "rt_log", "600000", "0");
            pipe.Add(":1\r\n", "TIMER.NEW", $"{p}:{round}:db3b", "rt_log", "600000", "0");
            pipe.Add("+OK\r\n", "SELECT", "0");
            pipe.Add(":0\r\n", "TIMER.NEW", $"{p}:{round}:db3", "rt_log", "600000", "0");
            pipe.AddRaw("*0\r\n\r\n");
        }
        await pipe.RunAsync(c);
        using var d3 = await DirectAsync(fx, 3);
        Assert.Equal("+hash\r\n", await d3.CallAsync("TYPE", $"{p}:4:db3b"));
        Assert.StartsWith("$", await d3.CallAsync("ZSCORE", "timer-tzw:due", $"{p}:4:db3b"));
    }

    [Fact]
    public async Task A_timer_too_large_to_merge_between_merged_ones_keeps_its_place()
    {
        using var c = await ConnectAsync(fx, 2);
        string p = Key("large");
        await StartMergingAsync(c, p);
        string big = new('a', 300_000); // over the 256 KiB a rewritten frame may take: it streams through
        var pipe = new Pipeline();
        for (int round = 0; round < 3; round++)
        {
            for (int i = 0; i < 10; i++) pipe.Add(":1\r\n", "TIMER.NEW", $"{p}:{round}:{i}", "rt_log", "600000", "0");
            pipe.Add(":1\r\n", "TIMER.NEW", $"{p}:{round}:big", "rt_log", "600000", "0", big);
            pipe.Add(InvalidInterval, "TIMER.NEW", $"{p}:{round}:bad", "rt_log", "0", "0");
        }
        await pipe.RunAsync(c);
        Assert.Equal(Info(2, "rt_log", 600000, false, [], [big]), TakeRemaining(await c.CallAsync("TIMER.INFO", $"{p}:2:big"), out long _));
    }

    [Fact]
    public async Task Timers_sent_a_few_bytes_at_a_time_get_their_replies()
    {
        using var c = await ConnectAsync(fx, 2);
        string p = Key("split");
        await StartMergingAsync(c, p);
        var pipe = new Pipeline();
        for (int i = 0; i < 60; i++)
        {
            pipe.Add(":1\r\n", "TIMER.NEW", $"{p}:{i}", "rt_log", "600000", "0");
            if (i % 7 == 0) pipe.Add("+PONG\r\n", "PING");
            if (i % 5 == 0) pipe.AddRaw("*0\r\n");
            if (i % 9 == 0) pipe.AddRaw("\r\n").Add("+PONG\r\n", "PING").AddRaw("*-1\r\n");
            if (i % 11 == 0) pipe.Add(InvalidInterval, "TIMER.NEW", $"{p}:x", "rt_log", "-5", "0");
        }
        byte[] bytes = pipe.Bytes;
        var random = new Random(7);
        for (int at = 0; at < bytes.Length;)
        {
            int n = Math.Min(bytes.Length - at, random.Next(1, 400));
            await c.SendAsync(bytes[at..(at + n)]);
            at += n;
            if (random.Next(4) == 0) await Task.Delay(1);
        }
        await pipe.CheckRepliesAsync(c);
    }

    [Fact]
    public async Task Inside_multi_each_timer_is_queued_and_answered_in_the_exec_array()
    {
        using var c = await ConnectAsync(fx, 2);
        string p = Key("multi");
        await StartMergingAsync(c, p);
        var pipe = new Pipeline().Add("+OK\r\n", "MULTI");
        for (int i = 0; i < 10; i++) pipe.Add("+QUEUED\r\n", "TIMER.NEW", $"{p}:{i}", "rt_log", "600000", "0");
        pipe.Add("+QUEUED\r\n", "TIMER.NEW", $"{p}:bad", "rt_log", "0", "0");
        pipe.Add("*11\r\n" + string.Concat(Enumerable.Repeat(":1\r\n", 10)) + InvalidInterval, "EXEC");
        pipe.Add("+OK\r\n", "MULTI");
        pipe.Add("+QUEUED\r\n", "TIMER.NEW", $"{p}:d1", "rt_log", "600000", "0");
        pipe.Add("+QUEUED\r\n", "TIMER.NEW", $"{p}:d2", "rt_log", "600000", "0");
        pipe.Add("+OK\r\n", "DISCARD");
        // After the transaction merging resumes.
        for (int i = 0; i < 10; i++) pipe.Add(":0\r\n", "TIMER.NEW", $"{p}:{i}", "rt_log", "600000", "0");
        pipe.Add(":0\r\n", "EXISTS", $"{p}:d1");
        await pipe.RunAsync(c);
    }

    [Fact]
    public async Task Client_reply_skip_skips_only_the_next_timer_and_off_none_is_lost()
    {
        using var c = await ConnectAsync(fx, 2);
        string p = Key("reply");
        await StartMergingAsync(c, p);
        var pipe = new Pipeline().AddUnanswered("CLIENT", "REPLY", "SKIP");
        pipe.AddUnanswered("TIMER.NEW", $"{p}:0", "rt_log", "600000", "0");
        for (int i = 1; i < 10; i++) pipe.Add(":1\r\n", "TIMER.NEW", $"{p}:{i}", "rt_log", "600000", "0");
        pipe.AddUnanswered("CLIENT", "REPLY", "OFF");
        for (int i = 10; i < 20; i++) pipe.AddUnanswered("TIMER.NEW", $"{p}:{i}", "rt_log", "600000", "0");
        pipe.Add("+OK\r\n", "CLIENT", "REPLY", "ON");
        for (int i = 20; i < 30; i++) pipe.Add(":1\r\n", "TIMER.NEW", $"{p}:{i}", "rt_log", "600000", "0");
        await pipe.RunAsync(c);
        using var d = await DirectAsync(fx);
        for (int i = 0; i < 30; i++) Assert.Equal(":1\r\n", await d.CallAsync("EXISTS", $"{p}:{i}"));
    }

    [Fact]
    public async Task In_resp2_subscribe_mode_each_timer_gets_redis_refusal()
    {
        using var c = await ConnectAsync(fx, 2);
        string p = Key("sub");
        await StartMergingAsync(c, p);
        const string refusal = "-ERR Can't execute 'fcall': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n";
        var pipe = new Pipeline().Add($"*3\r\n$9\r\nsubscribe\r\n{Bulk(p)}:1\r\n", "SUBSCRIBE", p);
        for (int i = 0; i < 5; i++) pipe.Add(refusal, "TIMER.NEW", $"{p}:{i}", "rt_log", "600000", "0");
        pipe.Add("+RESET\r\n", "RESET");
        await c.SendAsync(pipe.Bytes);
        for (int i = 0; i < pipe.Expected.Count; i++) Assert.Equal(pipe.Expected[i], await c.ReadReplyAsync());
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", $"{p}:after", "rt_log", "600000", "0"));
    }

    [Fact]
    public async Task Resp3_pushes_between_merged_replies_are_passed_on_and_not_counted()
    {
        using var c = await ConnectAsync(fx, 3);
        string p = Key("push");
        await StartMergingAsync(c, p);
        Assert.Equal("+OK\r\n", await c.CallAsync("CLIENT", "TRACKING", "on"));
        using (var d = await DirectAsync(fx)) Assert.Equal("+OK\r\n", await d.CallAsync("SET", p + ":k", "v1"));
        var pipe = new Pipeline();
        for (int i = 0; i < 20; i++) pipe.Add(":1\r\n", "TIMER.NEW", $"{p}:{i}", "rt_log", "600000", "0");
        pipe.Add(Bulk("v1"), "GET", p + ":k");
        pipe.Add("+OK\r\n", "SET", p + ":k", "v2");
        for (int i = 20; i < 40; i++) pipe.Add(":1\r\n", "TIMER.NEW", $"{p}:{i}", "rt_log", "600000", "0");
        await pipe.RunAsync(c);
        // Tracking sends the client the invalidation of its own write.
        Assert.Equal([$">2\r\n$10\r\ninvalidate\r\n*1\r\n{Bulk(p + ":k")}"], pipe.Pushes);
    }

    [Fact]
    public async Task A_merged_call_that_redis_refuses_whole_gives_each_timer_the_refusal()
    {
        using var c = await ConnectAsync(fx, 2);
        string p = Key("oom");
        await StartMergingAsync(c, p);
        using var d = await DirectAsync(fx);
        await WhileOutOfMemoryAsync(d, async () =>
        {
            var pipe = new Pipeline();
            for (int i = 0; i < 20; i++) pipe.Add(Oom, "TIMER.NEW", $"{p}:{i}", "rt_log", "600000", "0");
            pipe.Add("+PONG\r\n", "PING");
            for (int i = 20; i < 40; i++) pipe.Add(Oom, "TIMER.NEW", $"{p}:{i}", "rt_log", "600000", "0");
            long before = await FcallCallsRejectedAsync(d);
            await pipe.RunAsync(c);
            Assert.True(await FcallCallsRejectedAsync(d) - before <= 4, "the refused TIMER.NEWs were not merged");
        });
        Assert.Equal(":0\r\n", await d.CallAsync("EXISTS", $"{p}:0"));
        await new Pipeline()
            .Add(":1\r\n", "TIMER.NEW", $"{p}:0", "rt_log", "600000", "0")
            .Add(":1\r\n", "TIMER.NEW", $"{p}:1", "rt_log", "600000", "0")
            .RunAsync(c);
    }

    private const string Oom = "-OOM command not allowed when used memory > 'maxmemory'.\r\n";

    [Fact]
    public async Task Out_of_memory_merged_kills_still_remove_their_timers_and_the_news_between_them_are_refused()
    {
        using var c = await ConnectAsync(fx, 2);
        string p = Key("oomkill");
        await StartMergingAsync(c, p);
        var create = new Pipeline();
        for (int i = 0; i < 10; i++) create.Add(":1\r\n", "TIMER.NEW", $"{p}:{i}", "rt_log", "600000", "0");
        await create.RunAsync(c);
        using var d = await DirectAsync(fx);
        await WhileOutOfMemoryAsync(d, async () =>
        {
            var pipe = new Pipeline();
            for (int i = 0; i < 5; i++) pipe.Add(":1\r\n", "TIMER.KILL", $"{p}:{i}");
            pipe.Add(Oom, "TIMER.NEW", $"{p}:new1", "rt_log", "600000", "0")
                .Add(Oom, "TIMER.NEW", $"{p}:new2", "rt_log", "600000", "0");
            for (int i = 5; i < 10; i++) pipe.Add(":1\r\n", "TIMER.KILL", $"{p}:{i}");
            await pipe.RunAsync(c);
        });
        for (int i = 0; i < 10; i++) Assert.Equal(":0\r\n", await d.CallAsync("EXISTS", $"{p}:{i}"));
        Assert.Equal(":0\r\n", await d.CallAsync("EXISTS", $"{p}:new1"));
    }


    // Redis refuses writes (and functions that may write) while maxmemory is below what it uses.
    private static async Task WhileOutOfMemoryAsync(RawClient direct, Func<Task> action)
    {
        Assert.Equal("+OK\r\n", await direct.CallAsync("CONFIG", "SET", "maxmemory", "1"));
        try
        {
            await action();
        }
        finally
        {
            Assert.Equal("+OK\r\n", await direct.CallAsync("CONFIG", "SET", "maxmemory", "0"));
        }
    }

    private static async Task<long> FcallCallsRejectedAsync(RawClient direct)
    {
        string stats = await direct.CallAsync("INFO", "commandstats");
        var m = Regex.Match(stats, @"cmdstat_fcall:.*rejected_calls=(\d+)");
        return m.Success ? long.Parse(m.Groups[1].Value) : 0;
    }

    [Fact]
    public async Task Key_permissions_are_checked_per_merged_timer_and_a_lost_fcall_right_refuses_each()
    {
        string p = Key("acl");
        string user = "merge" + Guid.NewGuid().ToString("N")[..8];
        using var d = await DirectAsync(fx);
        Assert.Equal("+OK\r\n", await d.CallAsync("ACL", "SETUSER", user, "on", ">pw", "~rtr:*", "~timer-tzw:due", "&*", "+@all"));
        using var c = await ConnectAsync(fx, 2);
        Assert.Equal("+OK\r\n", await c.CallAsync("AUTH", user, "pw"));
        await StartMergingAsync(c, p);
        const string noKey = "-NOPERM this user has no permissions to access one of the keys used as arguments\r\n";
        var pipe = new Pipeline()
            .Add(":1\r\n", "TIMER.NEW", $"{p}:1", "rt_log", "600000", "0")
            .Add(noKey, "TIMER.NEW", "other:1", "rt_log", "600000", "0")
            .Add(":1\r\n", "TIMER.NEW", $"{p}:2", "rt_log", "600000", "1", $"{p}:k")
            .Add(noKey, "TIMER.NEW", $"{p}:3", "rt_log", "600000", "1", "other:k")
            .Add(":1\r\n", "TIMER.NEW", $"{p}:4", "rt_log", "600000", "0")
            .Add(":1\r\n", "TIMER.KILL", $"{p}:4")
            .Add(noKey, "TIMER.KILL", "other:1")
            .Add(":0\r\n", "TIMER.KILL", $"{p}:4");
        Assert.Equal("+OK\r\n", await d.CallAsync("SET", "other:1", "v"));
        await pipe.RunAsync(c);
        Assert.Equal("$1\r\nv\r\n", await d.CallAsync("GET", "other:1")); // refused both times: still the string
        Assert.Equal(":1\r\n", await d.CallAsync("DEL", "other:1"));
        Assert.Equal(":0\r\n", await d.CallAsync("EXISTS", "other:1"));
        Assert.Equal(":0\r\n", await d.CallAsync("EXISTS", $"{p}:3"));

        Assert.Equal("+OK\r\n", await d.CallAsync("ACL", "SETUSER", user, "-fcall"));
        const string noFcall = "-NOPERM this user has no permissions to run the 'fcall' command\r\n";
        pipe = new Pipeline();
        for (int i = 10; i < 20; i++) pipe.Add(noFcall, "TIMER.NEW", $"{p}:{i}", "rt_log", "600000", "0");
        await pipe.RunAsync(c);
        Assert.Equal(":0\r\n", await d.CallAsync("EXISTS", $"{p}:10"));
    }

    [Theory]
    [InlineData(false, 9)]
    [InlineData(true, 10)]
    public async Task The_first_timer_of_a_database_is_announced_however_far_ahead_it_is_due(bool merged, int db)
    {
        // Schedulers with nothing to watch are idle until an event: the first timer of a database always
        // publishes one; later ones due beyond the event horizon (10 s) are left to reconciliation.
        using var c = await ConnectAsync(fx, 2);
        string p = Key("first");
        if (merged) await StartMergingAsync(c, p);
        using var events = await DirectAsync(fx);
        Assert.StartsWith("*3\r\n$9\r\nsubscribe\r\n", await events.CallAsync("SUBSCRIBE", "timer-tzw:events"));
        Assert.Equal("+OK\r\n", await c.CallAsync("SELECT", db));
        var pipe = new Pipeline();
        for (int i = 0; i < (merged ? 5 : 1); i++) pipe.Add(":1\r\n", "TIMER.NEW", $"{p}:{i}", "rt_log", "3600000", "0");
        await pipe.RunAsync(c);
        string published = await events.ReadReplyAsync();
        Assert.Contains($"{db}:", published);
        Assert.EndsWith($":{p}:0\r\n", published);
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", p + ":later", "rt_log", "3600000", "0"));
        Assert.True(await events.NothingArrivesWithinAsync(TimeSpan.FromMilliseconds(300)), "a later far timer was announced");
    }

    [Fact]
    public async Task A_refused_first_merge_leaves_timers_alone_until_merging_is_tried_again()
    {
        using var c = await ConnectAsync(fx, 2);
        string p = Key("retry");
        using var d = await DirectAsync(fx);
        await WhileOutOfMemoryAsync(d, async () =>
        {
            var refused = new Pipeline();
            for (int i = 0; i < 5; i++) refused.Add(Oom, "TIMER.NEW", $"{p}:r{i}", "rt_log", "600000", "0");
            await refused.RunAsync(c);
        });
        // Merging is tried again after 1000 requests; until its first reply, every timer goes alone.
        var alone = new Pipeline();
        for (int i = 0; i < 1200; i++) alone.Add(":1\r\n", "TIMER.NEW", $"{p}:{i}", "rt_log", "600000", "0");
        await alone.RunAsync(c);
        var merged = new Pipeline();
        for (int i = 0; i < 200; i++) merged.Add(":0\r\n", "TIMER.NEW", $"{p}:{i}", "rt_log", "600000", "0");
        long before = await FcallCallsAsync();
        await merged.RunAsync(c);
        long calls = await FcallCallsAsync() - before;
        Assert.True(calls <= 20, $"{calls} FCALLs for 200 TIMER.NEWs after merging was tried again");
    }

    [Fact]
    public async Task Before_authenticating_each_timer_gets_noauth_and_the_connection_stays_open()
    {
        // The proxy signs its connections in; RESET signs one back in as the default user, which needs the
        // password here. Redis closes an unauthenticated connection that sends more than 10 elements at once,
        // so nothing merged may go out until the client authenticated again.
        using var redis = new RedisServer("--requirepass", "merge-pw");
        await using var proxy = await InProcessProxy.StartAsync(redis.Endpoint,
            new Dictionary<string, string?> { ["Proxy:UpstreamPassword"] = "merge-pw" });
        using var c = await RawClient.ConnectAsync(proxy.Port);
        string p = Key("auth");
        await StartMergingAsync(c, p);
        Assert.Equal("+RESET\r\n", await c.CallAsync("RESET"));
        const string noAuth = "-NOAUTH Authentication required.\r\n";
        var refused = new Pipeline();
        for (int i = 0; i < 30; i++) refused.Add(noAuth, "TIMER.NEW", $"{p}:{i}", "rt_log", "600000", "0");
        await c.SendAsync(refused.Bytes);
        foreach (string reply in refused.Expected) Assert.Equal(reply, await c.ReadReplyAsync());
        Assert.Equal("+OK\r\n", await c.CallAsync("AUTH", "merge-pw"));
        var accepted = new Pipeline();
        for (int i = 0; i < 30; i++) accepted.Add(":1\r\n", "TIMER.NEW", $"{p}:{i}", "rt_log", "600000", "0");
        await accepted.RunAsync(c);
    }

    [Fact]
    public async Task Replconf_getack_which_redis_does_not_answer_ends_merging_without_losing_a_reply()
    {
        using var c = await ConnectAsync(fx, 2);
        string p = Key("replconf");
        await StartMergingAsync(c, p);
        var pipe = new Pipeline().AddUnanswered("REPLCONF", "GETACK", "*");
        for (int i = 0; i < 10; i++) pipe.Add(":1\r\n", "TIMER.NEW", $"{p}:{i}", "rt_log", "600000", "0");
        await pipe.RunAsync(c);
    }
}
