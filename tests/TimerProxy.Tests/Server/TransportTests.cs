using System.Net.Sockets;
using System.Text;
using RedisTimer.Proxy.Tests.Infrastructure;

namespace RedisTimer.Proxy.Tests.Server;

/// <summary>
/// The pass-through basics under both transports (<c>Proxy:Transport</c> = <c>sockets</c> | <c>epoll</c>), whatever
/// the default is: concurrent pipelined clients, large values in both directions, half-close, upstream trouble.
/// </summary>
public class TransportTests
{
    private static Task<InProcessProxy> StartAsync(string upstream, string transport, int threads = 1) =>
        InProcessProxy.StartAsync(upstream, new Dictionary<string, string?>
        {
            ["Proxy:Transport"] = transport,
            ["Proxy:EpollThreads"] = threads.ToString(),
        });

    [Theory]
    [InlineData("sockets", 1)]
    [InlineData("epoll", 1)]
    [InlineData("epoll", 2)]
    public async Task Concurrent_pipelined_clients_get_their_replies_in_order(string transport, int threads)
    {
        using var redis = new RedisServer();
        await using var proxy = await StartAsync(redis.Endpoint, transport, threads);

        async Task Client(int id)
        {
            using var c = await RawClient.ConnectAsync(proxy.Port);
            var batch = new MemoryStream();
            for (int i = 0; i < 300; i++)
            {
                batch.Write(RawClient.Command("SET", $"t:{transport}:{id}:{i}", $"v{i}"));
                batch.Write(RawClient.Command("GET", $"t:{transport}:{id}:{i}"));
            }
            await c.SendAsync(batch.ToArray());
            for (int i = 0; i < 300; i++)
            {
                Assert.Equal("+OK\r\n", await c.ReadReplyAsync());
                string v = $"v{i}";
                Assert.Equal($"${v.Length}\r\n{v}\r\n", await c.ReadReplyAsync());
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 20).Select(Client));
        if (transport == "epoll")
            Assert.Contains(Directory.GetDirectories("/proc/self/task"), task => ThreadName(task).StartsWith("epoll-loop-"));
    }

    /// <summary>A thread's name, or "" when it ended after the directory was listed (thread-pool threads come and go).</summary>
    private static string ThreadName(string task)
    {
        try { return File.ReadAllText(Path.Combine(task, "comm")); }
        catch (IOException) { return ""; }
    }

    [Theory]
    [InlineData("sockets")]
    [InlineData("epoll")]
    public async Task Large_values_pass_both_ways_byte_for_byte(string transport)
    {
        using var redis = new RedisServer();
        await using var proxy = await StartAsync(redis.Endpoint, transport);
        using var c = await RawClient.ConnectAsync(proxy.Port);

        var value = new byte[10 * 1024 * 1024];
        Random.Shared.NextBytes(value);
        var pipeline = new MemoryStream();
        pipeline.Write(RawClient.Command("SET", "t:big", value));
        for (int i = 0; i < 3; i++) pipeline.Write(RawClient.Command("GET", "t:big"));
        await c.SendAsync(pipeline.ToArray());

        Assert.Equal("+OK\r\n", await c.ReadReplyAsync());
        var header = Encoding.ASCII.GetBytes($"${value.Length}\r\n");
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(header, await c.ReadBytesAsync(header.Length));
            var body = await c.ReadBytesAsync(value.Length + 2);
            Assert.True(body.AsSpan(0, value.Length).SequenceEqual(value), $"reply {i} differs");
        }
    }

    [Theory]
    [InlineData("sockets")]
    [InlineData("epoll")]
    public async Task Client_that_half_closes_gets_its_replies_then_the_close(string transport)
    {
        using var redis = new RedisServer();
        await using var proxy = await StartAsync(redis.Endpoint, transport);
        using var c = await RawClient.ConnectAsync(proxy.Port);
        await c.SendAsync("PING\r\nECHO half-closed\r\n");
        c.Socket.Shutdown(SocketShutdown.Send);
        Assert.Equal("+PONG\r\n$11\r\nhalf-closed\r\n", await c.ReadToCloseAsync(TimeSpan.FromSeconds(10)));
    }

    [Theory]
    [InlineData("sockets")]
    [InlineData("epoll")]
    public async Task Unreachable_upstream_and_lost_upstream_are_reported_to_the_client(string transport)
    {
        int closedPort = FreePort.Next();
        await using (var proxy = await StartAsync($"127.0.0.1:{closedPort}", transport))
        {
            using var c = await RawClient.ConnectAsync(proxy.Port);
            string got = await c.ReadToCloseAsync(TimeSpan.FromSeconds(10));
            Assert.StartsWith($"-ERR upstream 127.0.0.1:{closedPort} unavailable: ", got);
        }

        using var redis = new RedisServer();
        await using (var proxy = await StartAsync(redis.Endpoint, transport))
        {
            using var c = await RawClient.ConnectAsync(proxy.Port);
            Assert.Equal("+PONG\r\n", await c.CallAsync("PING"));
            // Killed by its id: the proxy's one start-up check may still be connected as another normal client.
            string id = (await c.CallAsync("CLIENT", "ID")).Trim(':', '\r', '\n');
            using (var admin = await RawClient.ConnectAsync(redis.Port))
                Assert.Equal(":1\r\n", await admin.CallAsync("CLIENT", "KILL", "ID", id));
            Assert.Equal("", await c.ReadToCloseAsync(TimeSpan.FromSeconds(10)));
        }
    }
}
