using System.Net.Sockets;
using System.Text.RegularExpressions;
using RedisTimer.Proxy.Tests.Infrastructure;

namespace RedisTimer.Proxy.Tests.Hosting;

/// <summary>The proxy process as users start it: configuration sources, the embedded Redis, shutdown.</summary>
public class HostTests
{
    [Fact]
    public async Task Without_upstream_it_runs_an_embedded_redis_with_persistence_and_stops_it()
    {
        var workDir = Directory.CreateTempSubdirectory("redistimer-embedded-").FullName;
        int redisPid = 0;
        try
        {
            using (var proxy = new ProxyProcess(upstream: null, workingDirectory: workDir))
            {
                await proxy.WaitForLogAsync("Embedded redis-server (pid", TimeSpan.FromSeconds(30));
                var match = Regex.Match(proxy.Output, @"Embedded redis-server \(pid (\d+)\) listening on 127\.0\.0\.1:(\d+), data in (\S+)");
                Assert.True(match.Success, proxy.Output);
                redisPid = int.Parse(match.Groups[1].Value);
                Assert.Equal(Path.Combine(workDir, "data", "redis"), match.Groups[3].Value);
                await proxy.WaitListeningAsync();

                using var client = await RawClient.ConnectAsync(proxy.Port);
                Assert.Equal("+OK\r\n", await client.CallAsync("SET", "embedded:k", "v"));
                Assert.Equal("*2\r\n$10\r\nappendonly\r\n$3\r\nyes\r\n", await client.CallAsync("CONFIG", "GET", "appendonly"));

                proxy.Signal(Signals.SIGTERM);
                Assert.True(proxy.WaitForExit(TimeSpan.FromSeconds(20)), proxy.Output);
            }
            Assert.False(Signals.IsAlive(redisPid), "embedded redis-server still running after the proxy stopped");
            Assert.True(Directory.Exists(Path.Combine(workDir, "data", "redis", "appendonlydir")));
        }
        finally
        {
            if (redisPid != 0 && Signals.IsAlive(redisPid)) Signals.Send(redisPid, Signals.SIGKILL);
            Directory.Delete(workDir, recursive: true);
        }
    }

    [Fact]
    public async Task Sigterm_stops_accepting_and_delivers_pending_replies_before_closing()
    {
        using var redis = new RedisServer("--enable-debug-command", "yes");
        using var proxy = new ProxyProcess(redis.Endpoint);
        await proxy.WaitListeningAsync();
        using var client = await RawClient.ConnectAsync(proxy.Port);
        Assert.Equal("+PONG\r\n", await client.CallAsync("PING"));

        // A slow command in flight when the shutdown starts.
        await client.SendAsync([.. RawClient.Command("DEBUG", "SLEEP", "1"), .. RawClient.Command("PING")]);
        await Task.Delay(200);
        proxy.Signal(Signals.SIGTERM);

        await AssertRefusedSoonAsync(proxy.Port);
        Assert.Equal("+OK\r\n+PONG\r\n", await client.ReadToCloseAsync(TimeSpan.FromSeconds(15)));
        Assert.True(proxy.WaitForExit(TimeSpan.FromSeconds(20)), proxy.Output);
    }

    private static async Task AssertRefusedSoonAsync(int port)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync("127.0.0.1", port);
            }
            catch (SocketException)
            {
                return;
            }
            await Task.Delay(20);
        }
        Assert.Fail("the proxy still accepts connections after SIGTERM");
    }

    [Fact]
    public async Task Upstream_and_log_level_come_from_environment_variables()
    {
        using var redis = new RedisServer();
        using var proxy = new ProxyProcess(upstream: null, environment: new Dictionary<string, string>
        {
            ["Proxy__Upstream"] = redis.Endpoint,
            ["Serilog__MinimumLevel__Default"] = "Debug",
        });
        await proxy.WaitForLogAsync($"Upstream {redis.Endpoint} is reachable", TimeSpan.FromSeconds(30));
        await proxy.WaitListeningAsync();
        using var client = await RawClient.ConnectAsync(proxy.Port);
        Assert.Equal("+PONG\r\n", await client.CallAsync("PING"));
        Assert.DoesNotContain("Embedded redis-server", proxy.Output);
        await proxy.WaitForLogAsync(" DBG] ", TimeSpan.FromSeconds(10));
    }
}
