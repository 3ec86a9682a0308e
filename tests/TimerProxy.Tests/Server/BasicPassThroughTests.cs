using RedisTimer.Proxy.Tests.Infrastructure;

namespace RedisTimer.Proxy.Tests.Server;

public class BasicPassThroughTests(ProxyFixture fx) : IClassFixture<ProxyFixture>
{
    [Fact]
    public async Task Ping_over_multibulk_and_inline()
    {
        using var c = await fx.ConnectProxyAsync();
        Assert.Equal("+PONG\r\n", await c.CallAsync("PING"));
        await c.SendAsync("PING\r\n");
        Assert.Equal("+PONG\r\n", await c.ReadReplyAsync());
    }

    [Fact]
    public async Task Unknown_command_is_forwarded_and_answered_by_redis()
    {
        using var c = await fx.ConnectProxyAsync();
        Assert.Equal("-ERR unknown command 'NOSUCHCMD', with args beginning with: 'a' \r\n", await c.CallAsync("NOSUCHCMD", "a"));
    }
}
