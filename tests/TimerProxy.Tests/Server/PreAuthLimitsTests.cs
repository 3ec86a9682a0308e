using RedisTimer.Proxy.Tests.Infrastructure;

namespace RedisTimer.Proxy.Tests.Server;

/// <summary>
/// Redis's limits for a client that has not authenticated (a request of more than 10 arguments, a bulk over 16 KiB:
/// an error, then the close) hold through the proxy, byte for byte, since the client's own upstream connection is
/// the one not authenticated; and the proxy holds no more of such a request than of any other.
/// </summary>
public sealed class PreAuthLimitsTests : IDisposable
{
    private readonly RedisServer _redis = new("--requirepass", "pre-auth-pw");

    public void Dispose() => _redis.Dispose();

    // A bulk announced as 20 KiB is refused on its header, before its body is sent (or with the body sent too).
    public static TheoryData<string, byte[]> Requests => new()
    {
        { "11 arguments", RawClient.Command(["SET", "k", "v", "a", "b", "c", "d", "e", "f", "g", "h"]) },
        { "a 20 KiB bulk", "*2\r\n$4\r\nECHO\r\n$20000\r\n"u8.ToArray() },
        { "a 20 KiB bulk after a PING", "*1\r\n$4\r\nPING\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$20000\r\n"u8.ToArray() },
        // Sent whole: Redis closes with the rest of it unread and its connection is reset; its replies before that
        // must still reach the client (a pipe completed with the reset lost them).
        { "a whole 20 KiB bulk after a PING", [.. RawClient.Command("PING"), .. RawClient.Command("SET", "k", new string('x', 20_000))] },
        { "a whole 20 KiB bulk", RawClient.Command("ECHO", new string('x', 20_000)) },
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public async Task Before_auth_redis_refuses_and_closes_through_the_proxy_as_directly(string what, byte[] request)
    {
        await using var proxy = await InProcessProxy.StartAsync(_redis.Endpoint);
        string direct, proxied;
        using (var d = await RawClient.ConnectAsync(_redis.Port))
        {
            await d.SendAsync(request);
            direct = await d.ReadToCloseAsync();
        }
        using (var p = await RawClient.ConnectAsync(proxy.Port))
        {
            await p.SendAsync(request);
            proxied = await p.ReadToCloseAsync();
        }
        Assert.Contains("-ERR Protocol error: unauthenticated", direct);
        Assert.True(direct == proxied, $"{what}: direct {direct.Trim()}, through the proxy {proxied.Trim()}");
        using var c = await RawClient.ConnectAsync(proxy.Port);
        Assert.Equal("+OK\r\n", await c.CallAsync("AUTH", "pre-auth-pw"));
        Assert.Equal("$1\r\nx\r\n", await c.CallAsync("ECHO", "x"));
    }
}
