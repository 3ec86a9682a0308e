using System.Net.Sockets;
using Xunit.Abstractions;
using RedisTimer.Proxy.Tests.Infrastructure;

namespace RedisTimer.Proxy.Tests.Server;

/// <summary>
/// A side that stops reading stalls the other side instead of growing the proxy. Measured on the proxy
/// running as its own process (resident memory from /proc), as users run it.
/// </summary>
public class BackpressureTests(ITestOutputHelper output)
{
    private const int OneMb = 1024 * 1024;
    private const long AllowedGrowth = 24L * OneMb;

    [Fact]
    public async Task Client_that_does_not_read_a_gigabyte_of_replies_does_not_grow_the_proxy()
    {
        using var redis = new RedisServer();
        using var proxy = new ProxyProcess(redis.Endpoint);
        await proxy.WaitListeningAsync();

        var value = new byte[OneMb];
        Random.Shared.NextBytes(value);
        using var client = await RawClient.ConnectAsync(proxy.Port);
        Assert.Equal("+OK\r\n", await client.CallAsync("SET", "bp:big", value));
        // Warm up the proxy's buffers and JIT with a few full round trips before the baseline.
        for (int i = 0; i < 5; i++) Assert.Equal(OneMb + 12, (await client.CallAsync("GET", "bp:big")).Length);
        long baseline = Signals.RssBytes(proxy.Pid);

        var gets = Enumerable.Range(0, 1000).SelectMany(_ => RawClient.Command("GET", "bp:big")).ToArray();
        await client.SendAsync(gets);

        // Wait until the flow has stalled: Redis's output buffer for the client stops growing.
        using var admin = await RawClient.ConnectAsync(redis.Port);
        long lastOmem = -1;
        for (int i = 0; i < 50; i++)
        {
            await Task.Delay(100);
            long omem = MaxOutputMemory(await admin.CallAsync("CLIENT", "LIST"));
            if (omem > 0 && omem == lastOmem) break;
            lastOmem = omem;
        }
        long grown = Signals.RssBytes(proxy.Pid) - baseline;
        output.WriteLine($"Redis holds {lastOmem / OneMb} MB of unread replies; proxy RSS grew {grown / 1024} KiB");
        Assert.True(lastOmem > 100L * OneMb, $"Redis should hold the unread replies, holds {lastOmem}");
        Assert.True(grown < AllowedGrowth, $"proxy grew by {grown / OneMb} MB");

        // Nothing was lost: every reply arrives, in order, once the client reads.
        var header = System.Text.Encoding.ASCII.GetBytes($"${OneMb}\r\n");
        for (int i = 0; i < 1000; i++)
        {
            Assert.Equal(header, await client.ReadBytesAsync(header.Length));
            var body = await client.ReadBytesAsync(OneMb + 2);
            Assert.True(body.AsSpan(0, OneMb).SequenceEqual(value), $"reply {i} differs");
            Assert.Equal("\r\n"u8.ToArray(), body[OneMb..]);
        }
    }

    [Fact]
    public async Task Stalled_redis_stops_the_proxy_reading_from_the_client()
    {
        using var redis = new RedisServer();
        using var proxy = new ProxyProcess(redis.Endpoint);
        await proxy.WaitListeningAsync();
        using var client = await RawClient.ConnectAsync(proxy.Port);
        Assert.Equal("+PONG\r\n", await client.CallAsync("PING"));
        long baseline = Signals.RssBytes(proxy.Pid);

        var value = new byte[OneMb];
        var set = RawClient.Command("SET", "bp:slow", value);
        Signals.Send(redis.Pid, Signals.SIGSTOP);
        long sent = 0;
        int commands = 0;
        try
        {
            client.Socket.SendTimeout = 1000;
            while (sent < 1024L * OneMb)
            {
                // A blocking send that cannot complete within the timeout means the proxy stopped reading.
                try
                {
                    client.Socket.Send(set);
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
                {
                    break;
                }
                sent += set.Length;
                commands++;
            }
            long grown = Signals.RssBytes(proxy.Pid) - baseline;
            output.WriteLine($"client pushed {sent / OneMb} MB before blocking; proxy RSS grew {grown / 1024} KiB");
            Assert.True(sent < 200L * OneMb, $"the client could push {sent / OneMb} MB into a stalled pipeline");
            Assert.True(grown < AllowedGrowth, $"proxy grew by {grown / OneMb} MB");
        }
        finally
        {
            Signals.Send(redis.Pid, Signals.SIGCONT);
        }

        // Once Redis runs again the proxy serves as before.
        using var next = await RawClient.ConnectAsync(proxy.Port);
        Assert.Equal("+PONG\r\n", await next.CallAsync("PING"));
        Assert.True(commands > 0);
    }

    private static long MaxOutputMemory(string clientList)
    {
        long max = 0;
        foreach (var field in clientList.Split(' ', '\n'))
            if (field.StartsWith("omem=") && long.TryParse(field.AsSpan(5), out long v)) max = Math.Max(max, v);
        return max;
    }
}
