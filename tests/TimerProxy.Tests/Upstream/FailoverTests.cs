using System.Diagnostics;
using RedisTimer.Proxy.Tests.Infrastructure;
using Xunit.Abstractions;

namespace RedisTimer.Proxy.Tests.Upstream;

/// <summary>
/// The proxy follows the master: among several endpoints (ROLE), or from Sentinel (serviceName). New connections
/// reach the new master, connections to the old one are closed, and timers fire on the new master.
/// </summary>
public sealed class FailoverTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(20);

    private static async Task WaitForReplicaAsync(RedisServer replica)
    {
        using var c = await RawClient.ConnectAsync(replica.Port);
        await TimerFixture.WaitUntilAsync(async () => (await c.CallAsync("INFO", "replication")).Contains("master_link_status:up"),
            Generous, "the replica is in sync");
    }

    /// <summary>
    /// The port of the Redis a new connection through the proxy reaches, or 0 while the proxy answers with its own
    /// error (the master it knows is dead and the new one is not located yet) or the connection is closed (it reached
    /// the old master just as Sentinel, or the proxy, closed the clients of the demoted one).
    /// </summary>
    private static async Task<int> ReachedPortAsync(int proxyPort)
    {
        using var c = await RawClient.ConnectAsync(proxyPort);
        string info;
        try
        {
            info = await c.CallAsync("INFO", "server");
        }
        catch (IOException)
        {
            return 0;
        }
        if (info.StartsWith("-ERR upstream", StringComparison.Ordinal)) return 0;
        string line = info.Split("\r\n").First(l => l.StartsWith("tcp_port:", StringComparison.Ordinal));
        return int.Parse(line["tcp_port:".Length..]);
    }

    private static async Task<TimeSpan> TimeUntilNewConnectionsReachAsync(int proxyPort, int port)
    {
        var watch = Stopwatch.StartNew();
        await TimerFixture.WaitUntilAsync(async () => await ReachedPortAsync(proxyPort) == port, Generous, $"new connections reach {port}");
        return watch.Elapsed;
    }

    private static async Task AssertClosedAsync(RawClient c)
    {
        try
        {
            await c.SendCommandAsync("PING");
            Assert.Equal("", await c.ReadToCloseAsync());
        }
        catch (IOException) { }
    }

    private static async Task AssertTimerFiresOnAsync(int proxyPort, RedisServer master, string id)
    {
        using var c = await RawClient.ConnectAsync(proxyPort);
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", id, "rt_log", "50", "1", id + ":key"));
        await TimerFixture.WaitUntilAsync(async () => (await TimerFixture.ReadFiresAsync(master.Port)).Any(f => f.Keys.SequenceEqual([id + ":key"])),
            Generous, $"{id} fired on the master on {master.Port}");
    }

    [Fact]
    public async Task Among_several_endpoints_new_connections_follow_the_one_whose_role_is_master()
    {
        using var a = new RedisServer();
        using var b = new RedisServer("--replicaof", "127.0.0.1", a.Port.ToString());
        using (var direct = await RawClient.ConnectAsync(a.Port)) await TimerFixture.LoadTestLibraryAsync(direct);
        await WaitForReplicaAsync(b);
        // The replica first in the list: the proxy must ask, not take the first.
        await using var proxy = await InProcessProxy.StartAsync($"{b.Endpoint},{a.Endpoint}");
        Assert.Equal(a.Port, await ReachedPortAsync(proxy.Port));
        await AssertTimerFiresOnAsync(proxy.Port, a, "fo:roles:before");
        using var old = await RawClient.ConnectAsync(proxy.Port);
        Assert.Equal("+PONG\r\n", await old.CallAsync("PING"));

        // A switch by hand: b becomes the master, a its replica.
        using (var cb = await RawClient.ConnectAsync(b.Port)) Assert.Equal("+OK\r\n", await cb.CallAsync("REPLICAOF", "NO", "ONE"));
        using (var ca = await RawClient.ConnectAsync(a.Port)) Assert.Equal("+OK\r\n", await ca.CallAsync("REPLICAOF", "127.0.0.1", b.Port.ToString()));
        var took = await TimeUntilNewConnectionsReachAsync(proxy.Port, b.Port);
        output.WriteLine($"new connections reached the new master {took.TotalMilliseconds:F0} ms after the switch");
        await AssertClosedAsync(old);
        await WaitForReplicaAsync(a);
        await AssertTimerFiresOnAsync(proxy.Port, b, "fo:roles:after");
    }

    [Fact]
    public async Task With_sentinel_new_connections_reach_the_promoted_master_and_timers_fire_there()
    {
        using var a = new RedisServer();
        using var b = new RedisServer("--replicaof", "127.0.0.1", a.Port.ToString());
        using (var direct = await RawClient.ConnectAsync(a.Port)) await TimerFixture.LoadTestLibraryAsync(direct);
        await WaitForReplicaAsync(b);
        using var sentinel = new SentinelServer(a.Port);
        await using var proxy = await InProcessProxy.StartAsync($"{sentinel.Endpoint},serviceName={SentinelServer.Service}");
        Assert.Equal(a.Port, await ReachedPortAsync(proxy.Port));
        await AssertTimerFiresOnAsync(proxy.Port, a, "fo:sentinel:before");
        using var old = await RawClient.ConnectAsync(proxy.Port);
        Assert.Equal("+PONG\r\n", await old.CallAsync("PING"));

        await sentinel.FailoverAsync(Generous);
        await TimerFixture.WaitUntilAsync(async () => await sentinel.MasterPortAsync() == b.Port, Generous, "Sentinel switched the master");
        var took = await TimeUntilNewConnectionsReachAsync(proxy.Port, b.Port);
        output.WriteLine($"new connections reached the new master {took.TotalMilliseconds:F0} ms after Sentinel reported it");
        await AssertClosedAsync(old);
        await AssertTimerFiresOnAsync(proxy.Port, b, "fo:sentinel:after");
    }

    [Fact]
    public async Task With_sentinel_a_master_killed_with_sigkill_is_replaced_and_its_timers_fire_once_on_the_new_one()
    {
        using var a = new RedisServer();
        using var b = new RedisServer("--replicaof", "127.0.0.1", a.Port.ToString());
        using (var direct = await RawClient.ConnectAsync(a.Port)) await TimerFixture.LoadTestLibraryAsync(direct);
        await WaitForReplicaAsync(b);
        using var sentinel = new SentinelServer(a.Port);
        await using var proxy = await InProcessProxy.StartAsync($"{sentinel.Endpoint},serviceName={SentinelServer.Service}");
        // Sentinel must know the replica before the master dies, or it has nobody to promote.
        using (var s = await RawClient.ConnectAsync(sentinel.Port))
            await TimerFixture.WaitUntilAsync(async () => (await s.CallAsync("SENTINEL", "REPLICAS", SentinelServer.Service)).Contains(b.Port.ToString()),
                Generous, "Sentinel found the replica");

        // Due after the failover: created on the old master, replicated (WAIT), fired by the new one.
        using (var c = await RawClient.ConnectAsync(proxy.Port))
        {
            Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", "fo:kill:pending", "rt_count", "8000", "1", "fo:kill:pending:n"));
            Assert.Equal(":1\r\n", await c.CallAsync("WAIT", "1", "5000"));
        }
        a.Stop();
        await TimerFixture.WaitUntilAsync(async () => await sentinel.MasterPortAsync() == b.Port, TimeSpan.FromSeconds(30), "Sentinel promoted the replica");
        var took = await TimeUntilNewConnectionsReachAsync(proxy.Port, b.Port);
        output.WriteLine($"new connections reached the promoted master {took.TotalMilliseconds:F0} ms after Sentinel reported it");
        await AssertTimerFiresOnAsync(proxy.Port, b, "fo:kill:after");
        using var onB = await RawClient.ConnectAsync(b.Port);
        await TimerFixture.WaitUntilAsync(async () => await onB.CallAsync("EXISTS", "fo:kill:pending") == ":0\r\n", Generous, "the pending timer fired");
        Assert.Equal("$1\r\n1\r\n", await onB.CallAsync("GET", "fo:kill:pending:n"));
    }
}
