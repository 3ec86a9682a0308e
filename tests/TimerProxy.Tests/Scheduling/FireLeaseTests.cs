using System.Diagnostics;
using RedisTimer.Proxy.Scheduling;
using RedisTimer.Proxy.Tests.Infrastructure;
using Xunit.Abstractions;

namespace RedisTimer.Proxy.Tests.Scheduling;

/// <summary>Several proxies on one Redis: all serve timer commands, one fires (the lease holder), another takes over.</summary>
public sealed class FireLeaseTests(ITestOutputHelper output) : IDisposable
{
    private readonly RedisServer _redis = new();

    public void Dispose() => _redis.Dispose();

    private Task<RawClient> DirectAsync() => RawClient.ConnectAsync(_redis.Port);

    private async Task<string> LeaseHolderAsync()
    {
        using var c = await DirectAsync();
        return await c.CallAsync("GET", "timer-tzw:leader");
    }

    [Fact]
    public async Task Three_proxies_take_timers_one_fires_each_exactly_once()
    {
        using (var c = await DirectAsync()) await TimerFixture.LoadTestLibraryAsync(c);
        var proxies = new List<InProcessProxy>();
        try
        {
            for (int i = 0; i < 3; i++) proxies.Add(await InProcessProxy.StartAsync(_redis.Endpoint));
            const int count = 300;
            var clients = new List<RawClient>();
            foreach (var proxy in proxies) clients.Add(await RawClient.ConnectAsync(proxy.Port));
            for (int i = 0; i < count; i++)
                Assert.Equal(":1\r\n", await clients[i % 3].CallAsync("TIMER.NEW", $"lease:t:{i}", "rt_count", (200 + i * 4).ToString(), "1", $"lease:n:{i}"));
            using var direct = await DirectAsync();
            await TimerFixture.WaitUntilAsync(async () => await direct.CallAsync(Enumerable.Range(0, count).Select(i => (object)$"lease:t:{i}").Prepend("EXISTS").ToArray()) == ":0\r\n",
                TimeSpan.FromSeconds(30), "every timer fired");
            var counts = TimerFixture.ParseBulkArray(await direct.CallAsync(Enumerable.Range(0, count).Select(i => (object)$"lease:n:{i}").Prepend("MGET").ToArray()));
            Assert.All(counts, n => Assert.Equal("1", n));

            var fired = proxies.Select(p => p.Service<TimerScheduler>().Fired).ToList();
            output.WriteLine("fired per proxy: " + string.Join(", ", fired));
            Assert.Equal(count, fired.Sum());
            Assert.Single(fired, f => f > 0);
            Assert.Single(proxies, p => p.Service<TimerScheduler>().FiresTimers);
            foreach (var c in clients) c.Dispose();
        }
        finally
        {
            foreach (var proxy in proxies) await proxy.DisposeAsync();
        }
        // The last one stopping gave the lease up.
        Assert.Equal("$-1\r\n", await LeaseHolderAsync());
    }

    [Fact]
    public async Task When_the_leader_is_killed_another_proxy_fires_within_the_lease()
    {
        using (var c = await DirectAsync()) await TimerFixture.LoadTestLibraryAsync(c);
        const int leaseMs = 1000;
        using var first = new ProxyProcess(_redis.Endpoint, extraArgs: ["--Timers:LeaseMs", leaseMs.ToString()]);
        using var second = new ProxyProcess(_redis.Endpoint, extraArgs: ["--Timers:LeaseMs", leaseMs.ToString()]);
        await first.WaitListeningAsync();
        await second.WaitListeningAsync();
        using (var c = await RawClient.ConnectAsync(first.Port))
            Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", "lease:kill:warm", "rt_count", "600000", "1", "lease:kill:warm:n"));
        using (var c = await RawClient.ConnectAsync(second.Port))
            Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", "lease:kill:warm2", "rt_count", "600000", "1", "lease:kill:warm2:n"));
        await TimerFixture.WaitUntilAsync(async () => (await LeaseHolderAsync()).StartsWith("$"), because: "a proxy took the lease");
        string holder = await LeaseHolderAsync();
        var (leader, survivor) = holder.Contains($":{first.Pid}:") ? (first, second) : (second, first);
        Assert.Contains($":{leader.Pid}:", holder);

        leader.Signal(Signals.SIGKILL);
        Assert.True(leader.WaitForExit(TimeSpan.FromSeconds(10)));
        var sinceKill = Stopwatch.StartNew();
        using (var c = await RawClient.ConnectAsync(survivor.Port))
            Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", "lease:kill:after", "rt_count", "10", "1", "lease:kill:after:n"));
        using var direct = await DirectAsync();
        await TimerFixture.WaitUntilAsync(async () => await direct.CallAsync("GET", "lease:kill:after:n") == "$1\r\n1\r\n",
            TimeSpan.FromSeconds(20), "the survivor fired");
        output.WriteLine($"a timer due 10 ms after the leader's kill fired {sinceKill.ElapsedMilliseconds} ms after it (lease {leaseMs} ms)");
        Assert.Contains($":{survivor.Pid}:", await LeaseHolderAsync());
    }

    /// <summary>
    /// A leader cut off (stopped with SIGSTOP: it neither renews nor fires, as a proxy partitioned from Redis) loses
    /// the lease to the other proxy, which fires; resumed, the old leader still holds its queue and tries the same
    /// timers, and the version check makes each fire once.
    /// </summary>
    [Fact]
    public async Task A_leader_cut_off_and_back_fires_nothing_twice()
    {
        using (var c = await DirectAsync()) await TimerFixture.LoadTestLibraryAsync(c);
        const int leaseMs = 1000, count = 200;
        using var first = new ProxyProcess(_redis.Endpoint, extraArgs: ["--Timers:LeaseMs", leaseMs.ToString()]);
        using var second = new ProxyProcess(_redis.Endpoint, extraArgs: ["--Timers:LeaseMs", leaseMs.ToString()]);
        await first.WaitListeningAsync();
        await second.WaitListeningAsync();
        using (var c = await RawClient.ConnectAsync(first.Port))
            Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", "lease:cut:warm", "rt_count", "600000", "1", "lease:cut:warm:n"));
        await TimerFixture.WaitUntilAsync(async () => (await LeaseHolderAsync()).StartsWith("$"), because: "a proxy took the lease");
        var (leader, other) = (await LeaseHolderAsync()).Contains($":{first.Pid}:") ? (first, second) : (second, first);
        // Timers held by both, due over the 3 s the leader is away and the second after it.
        using (var c = await RawClient.ConnectAsync(other.Port))
            for (int i = 0; i < count; i++)
                Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", $"lease:cut:{i}", "rt_count", (1000 + i * 15).ToString(), "1", $"lease:cut:{i}:n"));
        await Task.Delay(500); // the leader's queue has them (events)
        leader.Signal(Signals.SIGSTOP);
        try
        {
            await Task.Delay(3000);
        }
        finally
        {
            leader.Signal(Signals.SIGCONT);
        }
        using var direct = await DirectAsync();
        object[] timers = ["EXISTS", .. Enumerable.Range(0, count).Select(i => (object)$"lease:cut:{i}")];
        await TimerFixture.WaitUntilAsync(async () => await direct.CallAsync(timers) == ":0\r\n", TimeSpan.FromSeconds(30), "every timer fired");
        await Task.Delay(1000); // a second fire by the resumed leader would show now
        object[] counters = ["MGET", .. Enumerable.Range(0, count).Select(i => (object)$"lease:cut:{i}:n")];
        Assert.All(TimerFixture.ParseBulkArray(await direct.CallAsync(counters)), n => Assert.Equal("1", n));
    }
}
