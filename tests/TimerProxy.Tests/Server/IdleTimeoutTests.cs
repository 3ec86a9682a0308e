using RedisTimer.Proxy.Tests.Infrastructure;

namespace RedisTimer.Proxy.Tests.Server;

/// <summary><c>--timeout</c>, as redis-server's: idle clients are closed; blocked, subscribed and busy ones are not.</summary>
public sealed class IdleTimeoutTests : IDisposable
{
    private readonly RedisServer _redis = new();

    public void Dispose() => _redis.Dispose();

    [Fact]
    public async Task An_idle_client_is_closed_without_a_reply_while_blocked_subscribed_and_active_ones_stay()
    {
        await using var proxy = await InProcessProxy.StartAsync(_redis.Endpoint, new Dictionary<string, string?> { ["Proxy:Timeout"] = "2" });
        using var idle = await RawClient.ConnectAsync(proxy.Port);
        using var blocked = await RawClient.ConnectAsync(proxy.Port);
        using var subscribed = await RawClient.ConnectAsync(proxy.Port);
        using var active = await RawClient.ConnectAsync(proxy.Port);
        Assert.Equal("+PONG\r\n", await idle.CallAsync("PING"));
        await blocked.SendCommandAsync("BLPOP", "timeout:list", "0");
        Assert.StartsWith("*3\r\n$9\r\nsubscribe\r\n", await subscribed.CallAsync("SUBSCRIBE", "timeout:channel"));
        // The active one sends a PING every 100 ms throughout.
        using var stop = new CancellationTokenSource();
        var pinging = Task.Run(async () =>
        {
            int pongs = 0;
            while (!stop.IsCancellationRequested)
            {
                Assert.Equal("+PONG\r\n", await active.CallAsync("PING"));
                pongs++;
                await Task.Delay(100);
            }
            return pongs;
        });

        // The idle one goes after a bit more than two seconds (a loaded machine may take longer: nothing else is timed).
        Assert.Equal("", await idle.ReadToCloseAsync(TimeSpan.FromSeconds(20)));

        // Five more seconds, over two timeouts, for the others (the active one has 20 PINGs in each timeout to spare).
        await Task.Delay(5000);
        stop.Cancel();
        Assert.True(await pinging > 20);
        using var direct = await RawClient.ConnectAsync(_redis.Port);
        Assert.Equal(":1\r\n", await direct.CallAsync("RPUSH", "timeout:list", "x"));
        Assert.Equal("*2\r\n$12\r\ntimeout:list\r\n$1\r\nx\r\n", await blocked.ReadReplyAsync());
        Assert.Equal(":1\r\n", await direct.CallAsync("PUBLISH", "timeout:channel", "hello"));
        Assert.Equal("*3\r\n$7\r\nmessage\r\n$15\r\ntimeout:channel\r\n$5\r\nhello\r\n", await subscribed.ReadReplyAsync());
        Assert.Equal("+PONG\r\n", await active.CallAsync("PING"));
    }
}
