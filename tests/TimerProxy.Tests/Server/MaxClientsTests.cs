using System.Text.RegularExpressions;
using RedisTimer.Proxy.Tests.Infrastructure;

namespace RedisTimer.Proxy.Tests.Server;

/// <summary><c>--maxclients</c>, as redis-server's: the client over the limit gets Redis's error and is closed.</summary>
public sealed class MaxClientsTests : IDisposable
{
    private readonly RedisServer _redis = new();

    public void Dispose() => _redis.Dispose();

    private async Task<int> RedisClientsAsync()
    {
        using var direct = await RawClient.ConnectAsync(_redis.Port);
        var info = await direct.CallAsync("INFO", "clients");
        return int.Parse(Regex.Match(info, @"connected_clients:(\d+)").Groups[1].Value) - 1; // not this one
    }

    [Fact]
    public async Task The_client_over_the_limit_gets_redis_error_and_is_closed_without_an_upstream_connection_and_a_freed_place_is_taken()
    {
        await using var proxy = await InProcessProxy.StartAsync(_redis.Endpoint, new Dictionary<string, string?> { ["Proxy:MaxClients"] = "2" });
        using var first = await RawClient.ConnectAsync(proxy.Port);
        using var second = await RawClient.ConnectAsync(proxy.Port);
        Assert.Equal("+PONG\r\n", await first.CallAsync("PING"));
        Assert.Equal("+PONG\r\n", await second.CallAsync("PING"));

        using (var third = await RawClient.ConnectAsync(proxy.Port))
            Assert.Equal("-ERR max number of clients reached\r\n", await third.ReadToCloseAsync());
        Assert.Equal(2, await RedisClientsAsync());
        Assert.Equal("+PONG\r\n", await second.CallAsync("PING"));

        first.Dispose();
        await TimerFixture.WaitUntilAsync(async () =>
        {
            using var again = await RawClient.ConnectAsync(proxy.Port);
            return await again.CallAsync("PING") == "+PONG\r\n";
        }, because: "the place the first client left is free again");
    }
}
