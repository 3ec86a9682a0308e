using RedisTimer.Proxy.Tests.Infrastructure;
using static RedisTimer.Proxy.Tests.Server.PassThroughSupport;

namespace RedisTimer.Proxy.Tests.Server;

/// <summary>QUIT, RESET and other commands that change or end the connection itself.</summary>
public class PassThroughConnectionTests(ProxyFixture fx) : IClassFixture<ProxyFixture>
{
    [Fact]
    public async Task Quit_replies_ok_and_closes_with_nothing_else_sent()
    {
        using var c = await fx.ConnectProxyAsync();
        await c.SendCommandAsync("QUIT");
        Assert.Equal("+OK\r\n", await c.ReadToCloseAsync(Generous));
    }

    [Fact]
    public async Task Commands_pipelined_after_quit_are_not_executed_and_get_no_reply()
    {
        string key = Key("quit");
        using var c = await fx.ConnectProxyAsync();
        var request = new MemoryStream();
        request.Write(RawClient.Command("PING"));
        request.Write(RawClient.Command("QUIT"));
        request.Write(RawClient.Command("SET", key, "after-quit"));
        request.Write(RawClient.Command("PING"));
        await c.SendAsync(request.ToArray());
        Assert.Equal("+PONG\r\n+OK\r\n", await c.ReadToCloseAsync(Generous));

        using var direct = await fx.ConnectRedisAsync();
        Assert.Equal(":0\r\n", await direct.CallAsync("EXISTS", key));
    }

    [Fact]
    public async Task Inline_quit_replies_ok_and_closes()
    {
        using var c = await fx.ConnectProxyAsync();
        await c.SendAsync("quit\r\n");
        Assert.Equal("+OK\r\n", await c.ReadToCloseAsync(Generous));
    }

    [Fact]
    public async Task Reset_replies_reset_and_returns_to_db_0()
    {
        string key = Key("reset");
        using var c = await fx.ConnectProxyAsync();
        Assert.Equal("+OK\r\n", await c.CallAsync("SELECT", "4"));
        Assert.Equal("+OK\r\n", await c.CallAsync("SET", key, "in-four"));
        Assert.Equal(Bulk("in-four"), await c.CallAsync("GET", key));
        Assert.Equal("+RESET\r\n", await c.CallAsync("RESET"));
        Assert.Equal("$-1\r\n", await c.CallAsync("GET", key));
        Assert.Contains(" db=0 ", await c.CallAsync("CLIENT", "INFO"));
    }

    [Fact]
    public async Task Reset_ends_multi_name_and_resp3()
    {
        string key = Key("reset-more");
        using var c = await fx.ConnectProxyAsync();
        Assert.StartsWith("%7\r\n", await c.CallAsync("HELLO", "3"));
        Assert.Equal("+OK\r\n", await c.CallAsync("CLIENT", "SETNAME", "pt-reset"));
        Assert.Equal("+OK\r\n", await c.CallAsync("MULTI"));
        Assert.Equal("+QUEUED\r\n", await c.CallAsync("SET", key, "queued"));
        Assert.Equal("+RESET\r\n", await c.CallAsync("RESET"));
        Assert.Equal("-ERR EXEC without MULTI\r\n", await c.CallAsync("EXEC"));
        Assert.Equal("$-1\r\n", await c.CallAsync("GET", key)); // RESP2 null again, not RESP3's _
        Assert.Equal("$-1\r\n", await c.CallAsync("CLIENT", "GETNAME"));
    }

    [Fact]
    public async Task Reset_leaves_subscribe_mode()
    {
        string channel = Key("reset-sub");
        using var c = await fx.ConnectProxyAsync();
        Assert.Equal($"*3\r\n$9\r\nsubscribe\r\n{Bulk(channel)}:1\r\n", await c.CallAsync("SUBSCRIBE", channel));
        Assert.Equal("+RESET\r\n", await c.CallAsync("RESET"));
        Assert.Equal("+PONG\r\n", await c.CallAsync("PING"));
        using var direct = await fx.ConnectRedisAsync();
        Assert.Equal(":0\r\n", await direct.CallAsync("PUBLISH", channel, "nobody"));
    }

    [Fact]
    public async Task Ping_and_echo_match_direct_redis()
    {
        var (direct, proxied) = await DifferentialAsync(fx, "ping", key =>
            [["PING"], ["PING", "hello"], ["ECHO", key], ["ECHO"], ["PING", "a", "b"]]);
        Assert.Equal(direct, proxied);
        Assert.StartsWith("+PONG\r\n$5\r\nhello\r\n", proxied);
    }
}
