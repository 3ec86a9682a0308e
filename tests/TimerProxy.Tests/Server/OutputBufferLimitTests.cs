using RedisTimer.Proxy.Tests.Infrastructure;

namespace RedisTimer.Proxy.Tests.Server;

/// <summary>
/// The bound on replies buffered for a client is Redis's own client-output-buffer-limit: the proxy holds no more
/// than its pipe's pause threshold per client and then stops reading from Redis (BackpressureTests), so the unread
/// replies pile up in Redis, which applies its limit to the client's own upstream connection and closes it; the
/// proxy then closes the client, as Redis closes a direct one, and logs it.
/// </summary>
public class OutputBufferLimitTests
{
    private const int ValueSize = 64 * 1024;
    private const int Gets = 500; // 32 MB of replies against a limit of 2 MB

    private static async Task<string> OverrunAsync(int port, byte[] value, Func<Task> closed)
    {
        using var client = await RawClient.ConnectAsync(port);
        Assert.Equal("+OK\r\n", await client.CallAsync("SET", "obl:big", value));
        await client.SendAsync(Enumerable.Range(0, Gets).SelectMany(_ => RawClient.Command("GET", "obl:big")).ToArray());
        // Not read until Redis has acted: then whatever reached the client before the close, and the close.
        await closed();
        return await client.ReadToCloseAsync(TimeSpan.FromSeconds(30));
    }

    private static int WholeReplies(string received) =>
        (received.Length - received.Replace($"${ValueSize}\r\n", "").Length) / $"${ValueSize}\r\n".Length;

    [Fact]
    public async Task A_client_that_does_not_read_is_closed_by_redis_limit_through_the_proxy_as_directly()
    {
        using var redis = new RedisServer();
        using (var admin = await RawClient.ConnectAsync(redis.Port))
            Assert.Equal("+OK\r\n", await admin.CallAsync("CONFIG", "SET", "client-output-buffer-limit", "normal 2mb 0 0"));
        using var proxy = new ProxyProcess(redis.Endpoint);
        await proxy.WaitListeningAsync();
        var value = new byte[ValueSize];
        Array.Fill(value, (byte)'v');

        string direct = await OverrunAsync(redis.Port, value, () => TimerFixture.WaitUntilAsync(
            () => Task.FromResult(redis.ReadLog().Contains("overcoming of output buffer limits")), because: "Redis closes the client"));
        string through = await OverrunAsync(proxy.Port, value, () => proxy.WaitForLogAsync("closed a client's connection", TimeSpan.FromSeconds(15)));

        Assert.InRange(WholeReplies(direct), 0, Gets - 1);
        Assert.InRange(WholeReplies(through), 0, Gets - 1);
        Assert.DoesNotContain("-ERR", through); // nothing of the proxy's own: the close is the answer, as directly
        Assert.Equal(2, redis.ReadLog().Split("overcoming of output buffer limits").Length - 1);
    }
}
