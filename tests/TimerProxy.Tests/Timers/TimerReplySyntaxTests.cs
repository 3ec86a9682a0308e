using RedisTimer.Proxy.Tests.Infrastructure;
using static RedisTimer.Proxy.Tests.Timers.TimerReplyKit;

namespace RedisTimer.Proxy.Tests.Timers;

/// <summary>TIMER_SEMANTICS.md section 1: syntax and validation, byte-exact, RESP2 and RESP3.</summary>
public class TimerReplySyntaxTests(TimerFixture fx) : IClassFixture<TimerFixture>
{
    // ---- arity: the name in the message is always lower case, whatever case was sent ----

    [Theory]
    [InlineData(2, "TIMER.NEW")]
    [InlineData(2, "timer.new")]
    [InlineData(2, "Timer.New")]
    [InlineData(3, "TIMER.NEW")]
    [InlineData(3, "tImEr.nEw")]
    public async Task New_with_fewer_than_four_arguments_is_an_arity_error_named_in_lower_case(int protocol, string name)
    {
        using var c = await ConnectAsync(fx, protocol);
        string t = Key("arity-new");
        Assert.Equal(Arity("timer.new"), await c.CallAsync(name));
        Assert.Equal(Arity("timer.new"), await c.CallAsync(name, t));
        Assert.Equal(Arity("timer.new"), await c.CallAsync(name, t, "rt_log"));
        Assert.Equal(Arity("timer.new"), await c.CallAsync(name, t, "rt_log", "100"));
        // (1) comes before (2): a bad interval with too few arguments is still an arity error.
        Assert.Equal(Arity("timer.new"), await c.CallAsync(name, t, "rt_log", "abc"));
        Assert.Equal(":0\r\n", await c.CallAsync("EXISTS", t));
    }

    [Theory]
    [InlineData(2, "TIMER.KILL", "timer.kill")]
    [InlineData(2, "timer.kill", "timer.kill")]
    [InlineData(3, "Timer.Kill", "timer.kill")]
    [InlineData(2, "TIMER.INFO", "timer.info")]
    [InlineData(2, "timer.info", "timer.info")]
    [InlineData(3, "TiMeR.InFo", "timer.info")]
    [InlineData(3, "TIMER.INFO", "timer.info")]
    public async Task Kill_and_info_take_exactly_one_argument(int protocol, string name, string lower)
    {
        using var c = await ConnectAsync(fx, protocol);
        string t = Key("arity-ki");
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", t, "rt_log", "60000", "0"));
        Assert.Equal(Arity(lower), await c.CallAsync(name));
        Assert.Equal(Arity(lower), await c.CallAsync(name, t, t));
        Assert.Equal(Arity(lower), await c.CallAsync(name, t, "x", "y"));
        // Nothing was killed by the refused calls.
        Assert.Equal(":1\r\n", await c.CallAsync("EXISTS", t));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.KILL", t));
    }

    // ---- the check order: argc, interval, LOOP, numkeys present, numkeys, numkeys <= args ----

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Checks_come_in_the_module_order(int protocol)
    {
        using var c = await ConnectAsync(fx, protocol);
        string t = Key("order");
        // (2) interval before (3) LOOP / (4) missing numkeys
        Assert.Equal(InvalidInterval, await c.CallAsync("TIMER.NEW", t, "rt_log", "0", "LOOP"));
        // (4) LOOP consumed the fourth argument: numkeys is missing
        Assert.Equal(Arity("timer.new"), await c.CallAsync("TIMER.NEW", t, "rt_log", "100", "LOOP"));
        Assert.Equal(Arity("timer.new"), await c.CallAsync("TIMER.NEW", t, "rt_log", "100", "loop"));
        // (2) interval before (5) numkeys and (6) numkeys > args
        Assert.Equal(InvalidInterval, await c.CallAsync("TIMER.NEW", t, "rt_log", "abc", "x"));
        Assert.Equal(InvalidInterval, await c.CallAsync("TIMER.NEW", t, "rt_log", "abc", "5"));
        Assert.Equal(InvalidInterval, await c.CallAsync("TIMER.NEW", t, "rt_log", "-1", "LOOP", "x"));
        // (5) numkeys before (6)
        Assert.Equal(InvalidNumkeys, await c.CallAsync("TIMER.NEW", t, "rt_log", "100", "x"));
        Assert.Equal(InvalidNumkeys, await c.CallAsync("TIMER.NEW", t, "rt_log", "100", "LOOP", "x", "k"));
        // (6) numkeys larger than what follows
        Assert.Equal(Arity("timer.new"), await c.CallAsync("TIMER.NEW", t, "rt_log", "100", "2", "k"));
        Assert.Equal(Arity("timer.new"), await c.CallAsync("TIMER.NEW", t, "rt_log", "100", "LOOP", "2", "k"));
        Assert.Equal(Arity("timer.new"), await c.CallAsync("TIMER.NEW", t, "rt_log", "100", "1"));
        Assert.Equal(":0\r\n", await c.CallAsync("EXISTS", t));
    }

    // ---- intervals ----

    public static TheoryData<int, string> InvalidIntervals()
    {
        var data = new TheoryData<int, string>();
        string[] values = ["0", "-1", "abc", "", " 100", "100 ", "+100", "0100", "100.0", "1e3", "0x10",
            "9223372036854775808", "99999999999999999999", "-9223372036854775808", "-0", "00", "1 ", "\r\n1"];
        foreach (int p in new[] { 2, 3 })
            foreach (var v in values) data.Add(p, v);
        return data;
    }

    [Theory]
    [MemberData(nameof(InvalidIntervals))]
    public async Task Invalid_interval_is_refused_and_nothing_is_created(int protocol, string interval)
    {
        using var c = await ConnectAsync(fx, protocol);
        string t = Key("iv");
        Assert.Equal(InvalidInterval, await c.CallAsync("TIMER.NEW", t, "rt_log", interval, "0"));
        Assert.Equal(InvalidInterval, await c.CallAsync("TIMER.NEW", t, "rt_log", interval, "LOOP", "0"));
        Assert.Equal(InvalidInterval, await c.CallAsync("TIMER.NEW", t, "rt_log", interval, "1", t, "a"));
        Assert.Equal(":0\r\n", await c.CallAsync("EXISTS", t));
    }

    [Theory]
    [InlineData("9223372036854775807")]   // INT64_MAX: the module answers :1 and fires at once
    [InlineData("10000000000000000")]     // 1e16: the module answers :1 and never fires (remaining 0)
    [InlineData("9223372036854775")]      // INT64_MAX/1000: the module is still normal here
    public async Task Interval_whose_due_time_cannot_be_represented_is_refused(string interval)
    {
        // Documented difference (TIMER_SEMANTICS section 0): the module overflows and schedules garbage;
        // we refuse any interval whose due time (server ms + iv) cannot be represented exactly (> 2^53).
        using var c = await ConnectAsync(fx, 2);
        string t = Key("iv-big");
        Assert.Equal(InvalidInterval, await c.CallAsync("TIMER.NEW", t, "rt_log", interval, "0"));
        Assert.Equal(InvalidInterval, await c.CallAsync("TIMER.NEW", t, "rt_log", interval, "LOOP", "0"));
        Assert.Equal(":0\r\n", await c.CallAsync("EXISTS", t));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Interval_1e13_behaves_normally(int protocol)
    {
        using var c = await ConnectAsync(fx, protocol);
        string t = Key("iv-1e13");
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", t, "rt_log", "10000000000000", "0"));
        string info = TakeRemaining(await c.CallAsync("TIMER.INFO", t), out long remaining);
        Assert.Equal(Info(protocol, "rt_log", 10_000_000_000_000, loop: false), info);
        Assert.InRange(remaining, 10_000_000_000_000 - 600_000, 10_000_000_000_000 - 1);
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.KILL", t));
    }

    [Fact]
    public async Task Interval_1_is_accepted_and_fires_almost_at_once()
    {
        using var c = await ConnectAsync(fx, 2);
        string t = Key("iv-1");
        string counter = t + ":count";
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", t, "rt_count", "1", "1", counter));
        await TimerFixture.WaitUntilAsync(async () => await c.CallAsync("GET", counter) == "$1\r\n1\r\n", because: "the 1 ms timer fired");
        Assert.Equal(":0\r\n", await c.CallAsync("EXISTS", t));
        Assert.Equal("$-1\r\n", await c.CallAsync("TIMER.INFO", t));
    }

    // ---- numkeys ----

    public static TheoryData<int, string> InvalidNumkeysValues()
    {
        var data = new TheoryData<int, string>();
        foreach (int p in new[] { 2, 3 })
            foreach (var v in new[] { "-1", "x", "", "1.0", "+1", "99999999999999999999", " 1", "01", "-0", "9223372036854775808" })
                data.Add(p, v);
        return data;
    }

    [Theory]
    [MemberData(nameof(InvalidNumkeysValues))]
    public async Task Invalid_numkeys_is_refused(int protocol, string numkeys)
    {
        using var c = await ConnectAsync(fx, protocol);
        string t = Key("nk");
        Assert.Equal(InvalidNumkeys, await c.CallAsync("TIMER.NEW", t, "rt_log", "100", numkeys));
        Assert.Equal(InvalidNumkeys, await c.CallAsync("TIMER.NEW", t, "rt_log", "100", numkeys, "a", "b"));
        Assert.Equal(InvalidNumkeys, await c.CallAsync("TIMER.NEW", t, "rt_log", "100", "LOOP", numkeys, "a"));
        Assert.Equal(":0\r\n", await c.CallAsync("EXISTS", t));
    }

    [Theory]
    [InlineData(2, "1", 0)]
    [InlineData(2, "3", 2)]
    [InlineData(2, "2147483648", 1)]
    [InlineData(2, "9223372036854775807", 3)]
    [InlineData(3, "2", 1)]
    [InlineData(3, "2147483648", 0)]
    public async Task Numkeys_larger_than_the_arguments_given_is_an_arity_error(int protocol, string numkeys, int given)
    {
        using var c = await ConnectAsync(fx, protocol);
        string t = Key("nk-big");
        var keys = Enumerable.Range(1, given).Select(i => (object)$"k{i}").ToArray();
        Assert.Equal(Arity("timer.new"), await c.CallAsync(["TIMER.NEW", t, "rt_log", "100", numkeys, .. keys]));
        Assert.Equal(Arity("timer.new"), await c.CallAsync(["TIMER.NEW", t, "rt_log", "100", "LOOP", numkeys, .. keys]));
        Assert.Equal(":0\r\n", await c.CallAsync("EXISTS", t));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Numkeys_0_with_args_makes_every_extra_argument_an_arg(int protocol)
    {
        using var c = await ConnectAsync(fx, protocol);
        string t = Key("nk0");
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", t, "rt_log", "60000", "0", "a", "b", "c"));
        Assert.Equal(Info(protocol, "rt_log", 60000, false, args: ["a", "b", "c"]), TakeRemaining(await c.CallAsync("TIMER.INFO", t), out long _));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.KILL", t));
    }

    // ---- LOOP: position 4 only, any case ----

    [Theory]
    [InlineData(2, "LOOP")]
    [InlineData(2, "loop")]
    [InlineData(2, "Loop")]
    [InlineData(2, "lOoP")]
    [InlineData(3, "LOOP")]
    [InlineData(3, "lOoP")]
    public async Task Loop_is_matched_case_insensitively(int protocol, string loop)
    {
        using var c = await ConnectAsync(fx, protocol);
        string t = Key("loop");
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", t, "rt_log", "60000", loop, "1", "k", "a"));
        Assert.Equal(Info(protocol, "rt_log", 60000, true, ["k"], ["a"]), TakeRemaining(await c.CallAsync("TIMER.INFO", t), out long _));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.KILL", t));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Loop_position_rules(int protocol)
    {
        using var c = await ConnectAsync(fx, protocol);
        string t = Key("looppos");
        Assert.Equal(InvalidNumkeys, await c.CallAsync("TIMER.NEW", t, "rt_log", "60000", "LOOPS", "0"));
        Assert.Equal(InvalidNumkeys, await c.CallAsync("TIMER.NEW", t, "rt_log", "60000", "LOOP", "LOOP", "0"));
        Assert.Equal(":0\r\n", await c.CallAsync("EXISTS", t));

        // After numkeys, LOOP is an ordinary argument: an arg with numkeys 0 ...
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", t, "rt_log", "60000", "0", "LOOP"));
        Assert.Equal(Info(protocol, "rt_log", 60000, false, args: ["LOOP"]), TakeRemaining(await c.CallAsync("TIMER.INFO", t), out long _));
        // ... and a key with numkeys 1 (a reset of the same timer: :0).
        Assert.Equal(":0\r\n", await c.CallAsync("TIMER.NEW", t, "rt_log", "60000", "1", "LOOP"));
        Assert.Equal(Info(protocol, "rt_log", 60000, false, keys: ["LOOP"]), TakeRemaining(await c.CallAsync("TIMER.INFO", t), out long _));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.KILL", t));
    }

    [Fact]
    public async Task Loop_after_numkeys_fires_as_a_one_shot_with_LOOP_as_arg_or_key()
    {
        using var c = await ConnectAsync(fx, 2);
        string list = Key("looppos-list");
        string a = Key("looppos-a"), b = Key("looppos-b");
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", a, "rt_raw", "50", "1", list, "LOOP"));
        await TimerFixture.WaitUntilAsync(async () => await c.CallAsync("EXISTS", a) == ":0\r\n", because: "one-shot consumed");
        Assert.Equal("*1\r\n$4\r\nLOOP\r\n", await c.CallAsync("LRANGE", list, 0, -1));

        // key1 = LOOP: rt_raw pushes its args onto key1, i.e. onto the key named LOOP.
        string loopKey = "LOOP";
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", b, "rt_raw", "50", "1", loopKey, "x"));
        await TimerFixture.WaitUntilAsync(async () => await c.CallAsync("EXISTS", b) == ":0\r\n", because: "one-shot consumed");
        await TimerFixture.WaitUntilAsync(async () => await c.CallAsync("LRANGE", loopKey, 0, -1) == "*1\r\n$1\r\nx\r\n", because: "fired with key1=LOOP");
        await c.CallAsync("DEL", loopKey);
    }

    // ---- empty, spaces, CRLF and binary keys and args: byte-exact in INFO and in the FCALL ----

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Empty_spaced_crlf_and_binary_keys_and_args_come_back_byte_exact_from_info(int protocol)
    {
        using var c = await ConnectAsync(fx, protocol);
        string t = Key("bin-info");
        byte[] crlf = "x\r\ny\r\n"u8.ToArray();
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", t, "rt_raw", "60000", "3", "", AllBytes, "\r\n",
            "", "a b", crlf, AllBytes, "$3\r\nabc", "*1\r\n"));
        string expected = Info(protocol, "rt_raw", 60000, false,
            ["", L1(AllBytes), "\r\n"], ["", "a b", L1(crlf), L1(AllBytes), "$3\r\nabc", "*1\r\n"]);
        Assert.Equal(expected, TakeRemaining(await c.CallAsync("TIMER.INFO", t), out long _));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.KILL", t));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Binary_timer_id_and_function_name_round_trip(int protocol)
    {
        using var c = await ConnectAsync(fx, protocol);
        byte[] id = [.. "rtr:bin-id:"u8, .. Guid.NewGuid().ToByteArray(), 0, 13, 10, 255, 32];
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", id, "no such\r\nfunction", "60000", "0"));
        Assert.Equal(Info(protocol, "no such\r\nfunction", 60000, false), TakeRemaining(await c.CallAsync("TIMER.INFO", id), out long _));
        Assert.Equal("+timer-tzw\r\n", await c.CallAsync("TYPE", id));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.KILL", id));
        Assert.Equal(Nil(protocol), await c.CallAsync("TIMER.INFO", id));
    }

    [Fact]
    public async Task Empty_timer_id_is_an_ordinary_timer()
    {
        // The only test in this class that uses the key "".
        using var c = await ConnectAsync(fx, 2);
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", "", "rt_log", "60000", "1", "", ""));
        Assert.Equal(Info(2, "rt_log", 60000, false, [""], [""]), TakeRemaining(await c.CallAsync("TIMER.INFO", ""), out long _));
        Assert.Equal("+timer-tzw\r\n", await c.CallAsync("TYPE", ""));
        Assert.Equal(":0\r\n", await c.CallAsync("TIMER.NEW", "", "rt_log", "60000", "0"));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.KILL", ""));
        Assert.Equal(":0\r\n", await c.CallAsync("TIMER.KILL", ""));
    }

    [Fact]
    public async Task Empty_crlf_and_binary_args_reach_the_fired_function_byte_exact()
    {
        using var c = await ConnectAsync(fx, 2);
        string t = Key("bin-fire");
        string list = Key("bin-fire-list");
        byte[] crlf = "x\r\ny\r\n"u8.ToArray();
        object[] args = ["", "a b", crlf, AllBytes, "\r\n", "$3\r\nabc", "LOOP", "0"];
        Assert.Equal(":1\r\n", await c.CallAsync(["TIMER.NEW", t, "rt_raw", "50", "1", list, .. args]));
        await TimerFixture.WaitUntilAsync(async () => await c.CallAsync("LLEN", list) == $":{args.Length}\r\n", because: "rt_raw pushed every arg");
        string expected = $"*{args.Length}\r\n" + string.Concat(args.Select(a => a is byte[] b ? Bulk(b) : Bulk((string)a)));
        Assert.Equal(expected, await c.CallAsync("LRANGE", list, 0, -1));
        Assert.Equal(":0\r\n", await c.CallAsync("EXISTS", t));
    }

    [Fact]
    public async Task Binary_key_reaches_the_fired_function_byte_exact()
    {
        using var c = await ConnectAsync(fx, 2);
        string t = Key("binkey-fire");
        byte[] list = [.. "rtr:binkey:"u8, .. Guid.NewGuid().ToByteArray(), 0, 13, 10, 200, 32];
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", t, "rt_raw", "50", "1", list, "v"));
        await TimerFixture.WaitUntilAsync(async () => await c.CallAsync("LRANGE", list, 0, -1) == "*1\r\n$1\r\nv\r\n", because: "rt_raw pushed onto the binary key");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Ten_thousand_keys_and_args_are_accepted_and_listed_in_order(int protocol)
    {
        // The module takes any numkeys; Lua's unpack() limit (about 8000 values) must not show through.
        using var c = await ConnectAsync(fx, protocol);
        string t = Key("manykeys");
        string[] keys = Enumerable.Range(1, 10_000).Select(i => $"k{i}").ToArray();
        string[] args = Enumerable.Range(1, 10_000).Select(i => $"a{i}").ToArray();
        Assert.Equal(":1\r\n", await c.CallAsync(["TIMER.NEW", t, "rt_log", "600000", "10000", .. keys, .. args]));
        Assert.Equal(Info(protocol, "rt_log", 600000, false, keys, args), TakeRemaining(await c.CallAsync("TIMER.INFO", t), out long _));
        Assert.Equal(":0\r\n", await c.CallAsync(["TIMER.NEW", t, "rt_log", "600000", "LOOP", "0", .. args]));
        Assert.Equal(Info(protocol, "rt_log", 600000, true, args: args), TakeRemaining(await c.CallAsync("TIMER.INFO", t), out long _));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.KILL", t));
    }

    [Fact]
    public async Task A_two_megabyte_arg_sent_in_pieces_is_accepted()
    {
        using var c = await ConnectAsync(fx, 2);
        string t = Key("bigarg");
        string big = new string('x', 2_000_000);
        byte[] frame = RawClient.Command("TIMER.NEW", t, "rt_log", "600000", "0", big);
        await c.SendAsync(frame[..1000]);
        await Task.Delay(200);
        await c.SendAsync(frame[1000..]);
        Assert.Equal(":1\r\n", await c.ReadReplyAsync());
        Assert.Equal(Info(2, "rt_log", 600000, false, args: [big]), TakeRemaining(await c.CallAsync("TIMER.INFO", t), out long _));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.KILL", t));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Inline_timer_commands_get_the_same_replies(int protocol)
    {
        using var c = await ConnectAsync(fx, protocol);
        string t = Key("inline");
        await c.SendAsync($"timer.new {t} rt_log 60000 loop 1 \"k 1\" a\r\nTIMER.INFO {t}\r\nTIMER.INFO\r\nTimer.Kill {t} x\r\n"
            + $"TIMER.NEW {t} rt_log 0 0\r\nTIMER.KILL {t}\r\nTIMER.INFO {t}\r\n");
        Assert.Equal(":1\r\n", await c.ReadReplyAsync());
        Assert.Equal(Info(protocol, "rt_log", 60000, true, ["k 1"], ["a"]), TakeRemaining(await c.ReadReplyAsync(), out long _));
        Assert.Equal(Arity("timer.info"), await c.ReadReplyAsync());
        Assert.Equal(Arity("timer.kill"), await c.ReadReplyAsync());
        Assert.Equal(InvalidInterval, await c.ReadReplyAsync());
        Assert.Equal(":1\r\n", await c.ReadReplyAsync());
        Assert.Equal(Nil(protocol), await c.ReadReplyAsync());
    }
}
