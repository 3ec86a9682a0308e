using RedisTimer.Proxy.Tests.Infrastructure;

namespace RedisTimer.Proxy.Tests.Timers;

/// <summary>COMMAND INFO and COMMAND DOCS know the TIMER.* commands, as Redis knows a loaded module's, and say
/// of every other name exactly what Redis says.</summary>
public class TimerCommandDocsTests(TimerFixture fx) : IClassFixture<TimerFixture>
{
    // What Redis 7.0 answers for the module's timer.new, in RESP2 (TIMER_SEMANTICS section 2).
    private const string NewInfoResp2 =
        "*10\r\n$9\r\ntimer.new\r\n:-1\r\n*3\r\n+write\r\n+denyoom\r\n+module\r\n:1\r\n:1\r\n:1\r\n*0\r\n*0\r\n" +
        "*1\r\n*6\r\n$5\r\nflags\r\n*3\r\n+RW\r\n+access\r\n+update\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n" +
        "$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n" +
        "*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n";

    private static async Task<string> CallBothAsync(RawClient proxy, RawClient redis, params string[] command)
    {
        string direct = await redis.CallAsync(command);
        string through = await proxy.CallAsync(command);
        return $"{direct}\u0000{through}";
    }

    [Fact]
    public async Task Command_info_answers_for_timer_commands_in_their_place_and_as_redis_for_the_rest()
    {
        using var proxy = await fx.ConnectProxyAsync();
        using var redis = await fx.ConnectRedisAsync();
        string get = await redis.CallAsync("COMMAND", "INFO", "get");
        string getInfo = get["*1\r\n".Length..];
        Assert.Equal($"*4\r\n{getInfo}{NewInfoResp2}$-1\r\n{getInfo}", await proxy.CallAsync("COMMAND", "INFO", "get", "TIMER.NEW", "nosuch", "GET"));

        string kill = await proxy.CallAsync("COMMAND", "INFO", "timer.kill", "Timer.Info", "timer.list", "timer.stats");
        Assert.StartsWith("*4\r\n*10\r\n$10\r\ntimer.kill\r\n:-1\r\n*3\r\n+write\r\n+module\r\n+fast\r\n:1\r\n:1\r\n:1\r\n", kill);
        Assert.Contains("*10\r\n$10\r\ntimer.info\r\n:-1\r\n*3\r\n+readonly\r\n+module\r\n+fast\r\n:1\r\n:1\r\n:1\r\n", kill);
        Assert.Contains("*10\r\n$10\r\ntimer.list\r\n:-1\r\n*2\r\n+readonly\r\n+module\r\n:0\r\n:0\r\n:0\r\n*0\r\n*0\r\n*0\r\n*0\r\n", kill);
        Assert.EndsWith("*10\r\n$11\r\ntimer.stats\r\n:-1\r\n*3\r\n+readonly\r\n+module\r\n+fast\r\n:0\r\n:0\r\n:0\r\n*0\r\n*0\r\n*0\r\n*0\r\n", kill);

        // Without a TIMER.* name, and for a bad subcommand, the bytes are Redis's own.
        var both = (await CallBothAsync(proxy, redis, "COMMAND", "INFO", "get", "nosuch")).Split('\u0000');
        Assert.Equal(both[0], both[1]);
        both = (await CallBothAsync(proxy, redis, "COMMAND", "NOSUCH", "timer.new")).Split('\u0000');
        Assert.Equal(both[0], both[1]);
    }

    [Fact]
    public async Task In_resp3_the_timer_entries_use_sets_and_maps_as_redis_does()
    {
        using var proxy = await fx.ConnectProxyAsync();
        await proxy.CallAsync("HELLO", "3");
        string reply = await proxy.CallAsync("COMMAND", "INFO", "timer.new", "nosuch");
        Assert.Equal(
            "*2\r\n*10\r\n$9\r\ntimer.new\r\n:-1\r\n~3\r\n+write\r\n+denyoom\r\n+module\r\n:1\r\n:1\r\n:1\r\n~0\r\n~0\r\n" +
            "~1\r\n%3\r\n$5\r\nflags\r\n~3\r\n+RW\r\n+access\r\n+update\r\n$12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n$5\r\nindex\r\n" +
            "$4\r\nspec\r\n%1\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n" +
            "%3\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n~0\r\n_\r\n", reply);

        string docs = await proxy.CallAsync("COMMAND", "DOCS", "timer.list");
        Assert.StartsWith("%1\r\n$10\r\ntimer.list\r\n%4\r\n$7\r\nsummary\r\n", docs);
        Assert.Contains("$5\r\ngroup\r\n$6\r\nmodule\r\n", docs);
    }

    [Fact]
    public async Task Command_docs_adds_the_timer_commands_where_they_were_asked_between_redis_entries()
    {
        using var proxy = await fx.ConnectProxyAsync();
        using var redis = await fx.ConnectRedisAsync();
        string echoGet = await redis.CallAsync("COMMAND", "DOCS", "echo", "get");
        string echo = (await redis.CallAsync("COMMAND", "DOCS", "echo"))["*2\r\n".Length..];
        string get = (await redis.CallAsync("COMMAND", "DOCS", "get"))["*2\r\n".Length..];
        Assert.Equal($"*4\r\n{echo}{get}", echoGet);

        string reply = await proxy.CallAsync("COMMAND", "DOCS", "ECHO", "nosuch", "timer.new", "GET", "timer.kill");
        Assert.StartsWith($"*8\r\n{echo}$9\r\ntimer.new\r\n*8\r\n$7\r\nsummary\r\n", reply);
        int getAt = reply.IndexOf(get, StringComparison.Ordinal);
        Assert.True(getAt > 0, reply);
        Assert.StartsWith("$10\r\ntimer.kill\r\n*8\r\n$7\r\nsummary\r\n", reply[(getAt + get.Length)..]);
        Assert.Contains("$10\r\ncomplexity\r\n", reply);

        // Only unknown names: Redis's empty answer gains the timer's entry alone.
        Assert.StartsWith("*2\r\n$10\r\ntimer.info\r\n*8\r\n", await proxy.CallAsync("COMMAND", "DOCS", "nosuch", "timer.info"));
    }

    [Fact]
    public async Task Inside_a_transaction_and_pipelined_each_reply_stays_in_its_place()
    {
        using var proxy = await fx.ConnectProxyAsync();
        using var redis = await fx.ConnectRedisAsync();
        await proxy.SendAsync([.. RawClient.Command("PING"), .. RawClient.Command("COMMAND", "INFO", "timer.new"), .. RawClient.Command("ECHO", "after")]);
        Assert.Equal("+PONG\r\n", await proxy.ReadReplyAsync());
        Assert.Equal($"*1\r\n{NewInfoResp2}", await proxy.ReadReplyAsync());
        Assert.Equal("$5\r\nafter\r\n", await proxy.ReadReplyAsync());

        // In MULTI the answer is an element of EXEC's, which stays Redis's.
        Assert.Equal("+OK\r\n", await proxy.CallAsync("MULTI"));
        Assert.Equal("+QUEUED\r\n", await proxy.CallAsync("COMMAND", "INFO", "timer.new"));
        Assert.Equal("*1\r\n*1\r\n$-1\r\n", await proxy.CallAsync("EXEC"));
    }
}
