using System.Diagnostics;
using RedisTimer.Proxy.Tests.Infrastructure;
using static RedisTimer.Proxy.Tests.Server.PassThroughSupport;

namespace RedisTimer.Proxy.Tests.Server;

/// <summary>
/// Blocking commands hold the proxied client's own upstream connection: the reply must arrive only when another
/// client provides the data, and then byte for byte.
/// </summary>
public class PassThroughBlockingTests(ProxyFixture fx) : IClassFixture<ProxyFixture>
{
    private static readonly TimeSpan BlockedReadTimeout = TimeSpan.FromSeconds(20);

    // Sends the blocking command, waits until Redis itself reports the client blocked, and checks no reply came.
    private async Task<Task<string>> StartBlockedAsync(RawClient c, params object[] command)
    {
        long id = await ClientIdAsync(c);
        await c.SendCommandAsync(command);
        var reply = c.ReadReplyAsync(BlockedReadTimeout);
        await WaitUntilBlockedAsync(fx, id);
        Assert.False(reply.IsCompleted, $"blocking command answered early: {(reply.IsCompletedSuccessfully ? reply.Result : reply.Exception?.ToString())}");
        return reply;
    }

    [Fact]
    public async Task Blpop_is_woken_by_a_push_from_another_client()
    {
        string key = Key("blpop");
        using var blocked = await fx.ConnectProxyAsync();
        using var pusher = await fx.ConnectProxyAsync();
        var reply = await StartBlockedAsync(blocked, "BLPOP", key, "0");
        Assert.Equal(":1\r\n", await pusher.CallAsync("RPUSH", key, "first"));
        Assert.Equal($"*2\r\n{Bulk(key)}$5\r\nfirst\r\n", await reply.WaitAsync(Generous));
        Assert.Equal(":0\r\n", await pusher.CallAsync("EXISTS", key));
        Assert.Equal("+PONG\r\n", await blocked.CallAsync("PING"));
    }

    [Fact]
    public async Task Brpop_is_woken_by_a_push_from_a_direct_client()
    {
        string key = Key("brpop");
        using var blocked = await fx.ConnectProxyAsync();
        using var pusher = await fx.ConnectRedisAsync();
        var reply = await StartBlockedAsync(blocked, "BRPOP", key, "30");
        Assert.Equal(":2\r\n", await pusher.CallAsync("RPUSH", key, "a", "b"));
        Assert.Equal($"*2\r\n{Bulk(key)}$1\r\nb\r\n", await reply.WaitAsync(Generous));
        Assert.Equal("*1\r\n$1\r\na\r\n", await pusher.CallAsync("LRANGE", key, "0", "-1"));
    }

    [Fact]
    public async Task Blmove_is_woken_and_moves_the_element()
    {
        string source = Key("blmove-src"), destination = Key("blmove-dst");
        using var blocked = await fx.ConnectProxyAsync();
        using var pusher = await fx.ConnectProxyAsync();
        var reply = await StartBlockedAsync(blocked, "BLMOVE", source, destination, "LEFT", "RIGHT", "0");
        Assert.Equal(":1\r\n", await pusher.CallAsync("LPUSH", source, "moved"));
        Assert.Equal("$5\r\nmoved\r\n", await reply.WaitAsync(Generous));
        Assert.Equal("*1\r\n$5\r\nmoved\r\n", await pusher.CallAsync("LRANGE", destination, "0", "-1"));
    }

    [Fact]
    public async Task Xread_block_is_woken_by_xadd()
    {
        string stream = Key("xread");
        using var blocked = await fx.ConnectProxyAsync();
        using var producer = await fx.ConnectProxyAsync();
        var reply = await StartBlockedAsync(blocked, "XREAD", "BLOCK", "0", "STREAMS", stream, "$");
        Assert.Equal("$3\r\n5-1\r\n", await producer.CallAsync("XADD", stream, "5-1", "field", "value"));
        Assert.Equal($"*1\r\n*2\r\n{Bulk(stream)}*1\r\n*2\r\n$3\r\n5-1\r\n*2\r\n$5\r\nfield\r\n$5\r\nvalue\r\n",
            await reply.WaitAsync(Generous));
    }

    [Fact]
    public async Task Blpop_with_a_timeout_answers_null_array_when_nothing_comes()
    {
        string key = Key("blpop-timeout");
        using var c = await fx.ConnectProxyAsync();
        var clock = Stopwatch.StartNew();
        Assert.Equal("*-1\r\n", await c.CallAsync("BLPOP", key, "0.1"));
        Assert.True(clock.ElapsedMilliseconds >= 90, $"answered after {clock.ElapsedMilliseconds} ms");
        Assert.Equal("+PONG\r\n", await c.CallAsync("PING"));
    }

    [Fact]
    public async Task A_blocked_client_does_not_delay_other_proxied_clients()
    {
        string key = Key("blpop-other");
        using var blocked = await fx.ConnectProxyAsync();
        using var other = await fx.ConnectProxyAsync();
        var reply = await StartBlockedAsync(blocked, "BLPOP", key, "0");
        for (int i = 0; i < 20; i++) Assert.Equal("+PONG\r\n", await other.CallAsync("PING"));
        Assert.False(reply.IsCompleted);
        await other.CallAsync("LPUSH", key, "x");
        Assert.Equal($"*2\r\n{Bulk(key)}$1\r\nx\r\n", await reply.WaitAsync(Generous));
    }

    [Fact]
    public async Task Wait_for_one_replica_without_replicas_answers_zero_after_its_timeout()
    {
        using var c = await fx.ConnectProxyAsync();
        Assert.Equal("+OK\r\n", await c.CallAsync("SET", Key("wait"), "v"));
        var clock = Stopwatch.StartNew();
        Assert.Equal(":0\r\n", await c.CallAsync("WAIT", "1", "200"));
        Assert.True(clock.ElapsedMilliseconds >= 190, $"WAIT answered after {clock.ElapsedMilliseconds} ms");
        Assert.Equal(":0\r\n", await c.CallAsync("WAIT", "0", "0"));
    }
}
