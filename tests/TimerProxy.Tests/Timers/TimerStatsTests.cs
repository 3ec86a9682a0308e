using System.Text.RegularExpressions;
using RedisTimer.Proxy.Tests.Infrastructure;

namespace RedisTimer.Proxy.Tests.Timers;

/// <summary>TIMER.STATS: the proxy's own figures, a flat array of name/value in RESP2 and a map in RESP3, in order with the pipeline.</summary>
public sealed class TimerStatsTests : IDisposable
{
    private readonly RedisServer _redis = new();

    public void Dispose() => _redis.Dispose();

    private static readonly string[] Names =
    [
        "timers_fired", "timer_fire_errors", "timers_stale_skipped", "timers_created", "timers_killed", "timers_scheduled",
        "scheduler_leader", "clients_connected", "client_connections", "upstream_up",
    ];

    private static Dictionary<string, long> Parse(string reply, int protocol)
    {
        Assert.StartsWith(protocol == 3 ? $"%{Names.Length}\r\n" : $"*{2 * Names.Length}\r\n", reply);
        var pairs = Regex.Matches(reply, @"\$\d+\r\n([a-z_]+)\r\n:(-?\d+)\r\n");
        Assert.Equal(Names, pairs.Select(m => m.Groups[1].Value));
        return pairs.ToDictionary(m => m.Groups[1].Value, m => long.Parse(m.Groups[2].Value));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Stats_count_what_this_proxy_did_in_the_clients_protocol(int protocol)
    {
        using (var d = await RawClient.ConnectAsync(_redis.Port)) await TimerFixture.LoadTestLibraryAsync(d);
        await using var proxy = await InProcessProxy.StartAsync(_redis.Endpoint);
        using var c = await RawClient.ConnectAsync(proxy.Port);
        if (protocol == 3) Assert.StartsWith("%", await c.CallAsync("HELLO", "3"));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", "stats:a", "rt_count", "100", "1", "stats:n"));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", "stats:b", "rt_fail", "100", "0"));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", "stats:later", "rt_count", "600000", "0"));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.KILL", "stats:later"));
        using var direct = await RawClient.ConnectAsync(_redis.Port);
        await TimerFixture.WaitUntilAsync(async () => await direct.CallAsync("EXISTS", "stats:a", "stats:b") == ":0\r\n", because: "both fire");

        Dictionary<string, long> stats = [];
        await TimerFixture.WaitUntilAsync(async () => (stats = Parse(await c.CallAsync("TIMER.STATS"), protocol))["timers_fired"] == 2,
            because: "the fires are counted");
        Assert.Equal(1, stats["timer_fire_errors"]);
        Assert.Equal(3, stats["timers_created"]);
        Assert.Equal(1, stats["timers_killed"]);
        Assert.Equal(0, stats["timers_scheduled"]);
        Assert.Equal(1, stats["scheduler_leader"]);
        Assert.Equal(1, stats["clients_connected"]);
        Assert.Equal(1, stats["client_connections"]);
        Assert.Equal(1, stats["upstream_up"]);

        // In order with what is pipelined around it, and inside a transaction.
        await c.SendAsync([.. RawClient.Command("PING"), .. RawClient.Command("TIMER.STATS"), .. RawClient.Command("TIMER.STATS", "x"), .. RawClient.Command("ECHO", "e")]);
        Assert.Equal("+PONG\r\n", await c.ReadReplyAsync());
        Parse(await c.ReadReplyAsync(), protocol);
        Assert.Equal("-ERR wrong number of arguments for 'timer.stats' command\r\n", await c.ReadReplyAsync());
        Assert.Equal("$1\r\ne\r\n", await c.ReadReplyAsync());
        Assert.Equal("+OK\r\n", await c.CallAsync("MULTI"));
        Assert.Equal("+QUEUED\r\n", await c.CallAsync("TIMER.STATS"));
        string exec = await c.CallAsync("EXEC");
        Assert.StartsWith("*1\r\n", exec);
        Parse(exec["*1\r\n".Length..], protocol);
    }
}
