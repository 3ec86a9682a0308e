using System.Diagnostics;
using System.Text.RegularExpressions;
using RedisTimer.Proxy.Tests.Infrastructure;
using Xunit.Abstractions;

namespace RedisTimer.Proxy.Tests.Drills;

/// <summary>
/// Drill (c), short: a master, two replicas, three Sentinels (quorum 2) and the proxy following them; timers created
/// (and replicated) before, due over the run; a <c>SENTINEL FAILOVER</c> while they fire, then a <c>kill -9</c> of
/// the master that took over. Every timer is counted by a witness outside Redis (<see cref="FireWitness"/>): fired
/// once, duplicated, or missed. bench/drills.sh runs it at full size.
/// </summary>
public sealed class SentinelFailoverDrillTests(ITestOutputHelper output)
{
    // bench/drills.sh --drills failover runs it at full size (10000 timers over 20 s) through these.
    private static readonly int Timers = int.Parse(Environment.GetEnvironmentVariable("REDISTIMER_DRILL_TIMERS") ?? "1500");
    private static readonly int SpanMs = int.Parse(Environment.GetEnvironmentVariable("REDISTIMER_DRILL_SPAN_MS") ?? "10000");
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Timers_created_before_a_failover_and_a_master_kill_fire_once_each(bool waitReplicas)
    {
        using var a = new RedisServer();
        using var b = new RedisServer("--replicaof", "127.0.0.1", a.Port.ToString());
        using var c = new RedisServer("--replicaof", "127.0.0.1", a.Port.ToString());
        RedisServer[] nodes = [a, b, c];
        using (var direct = await RawClient.ConnectAsync(a.Port))
        {
            await TimerFixture.LoadTestLibraryAsync(direct);
            Assert.Contains("drill", await direct.CallAsync("FUNCTION", "LOAD", "REPLACE", FireWitness.Library));
            Assert.Equal(":2\r\n", await direct.CallAsync("WAIT", "2", "10000"));
        }
        using var s1 = new SentinelServer(a.Port, quorum: 2, failoverTimeoutMs: 10000);
        using var s2 = new SentinelServer(a.Port, quorum: 2, failoverTimeoutMs: 10000);
        using var s3 = new SentinelServer(a.Port, quorum: 2, failoverTimeoutMs: 10000);
        SentinelServer[] sentinels = [s1, s2, s3];
        try
        {
            foreach (var s in sentinels) await WaitUntilSentinelKnowsAllAsync(s);
            var settings = new Dictionary<string, string?>();
            if (waitReplicas) settings["Timers:WaitReplicas"] = "1";
            await using var proxy = await InProcessProxy.StartAsync(
                $"{s1.Endpoint},{s2.Endpoint},{s3.Endpoint},serviceName={SentinelServer.Service}", settings);
            using var witness = new FireWitness(nodes.Select(n => n.Port));
            await witness.WaitSubscribedAsync(nodes.Length);

            // Due from 2 s to 2 s + span from now, created and replicated before anything fails.
            using (var client = await RawClient.ConnectAsync(proxy.Port))
            {
                var create = new List<byte>();
                for (int i = 0; i < Timers; i++)
                    create.AddRange(RawClient.Command("TIMER.NEW", $"drill:t{i}", "drill_fire", (2000 + (long)i * SpanMs / Timers).ToString(), "1", "drill:fires", i.ToString()));
                await client.SendAsync(create.ToArray());
                for (int i = 0; i < Timers; i++) Assert.Equal(":1\r\n", await client.ReadReplyAsync());
                Assert.Equal(":2\r\n", await client.CallAsync("WAIT", "2", "10000"));
            }
            var run = Stopwatch.StartNew();

            int failoverAtMs = 2000 + SpanMs / 5;
            await Task.Delay(TimeSpan.FromMilliseconds(failoverAtMs));
            int first = await s1.MasterPortAsync();
            await s1.FailoverAsync(Generous);
            await TimerFixture.WaitUntilAsync(async () => await s1.MasterPortAsync() != first, Generous, "Sentinel switched the master");
            int second = await s1.MasterPortAsync();
            output.WriteLine($"SENTINEL FAILOVER at {run.ElapsedMilliseconds} ms: {first} -> {second} (nodes {a.Port} {b.Port} {c.Port})");

            // Once a replica follows the new master (one to promote), kill it.
            var promoted = nodes.Single(n => n.Port == second);
            await TimerFixture.WaitUntilAsync(async () => await ConnectedReplicasAsync(promoted) >= 1, Generous, "a replica follows the new master");
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Max(0, failoverAtMs + 4000 - run.ElapsedMilliseconds)));
            promoted.Stop();
            output.WriteLine($"kill -9 of {second} at {run.ElapsedMilliseconds} ms");
            await TimerFixture.WaitUntilAsync(async () => await MasterPortOrZeroAsync(s2) is var p && p != second && p != 0, Generous,
                "Sentinel promoted a replica after the kill");
            output.WriteLine($"promoted {await s2.MasterPortAsync()} at {run.ElapsedMilliseconds} ms");

            await TimerFixture.WaitUntilAsync(() => Task.FromResult(Enumerable.Range(0, Timers).All(i => witness.FiresOf(i.ToString()) > 0)),
                TimeSpan.FromMilliseconds(60_000 + SpanMs), "every timer fired");
            await Task.Delay(TimeSpan.FromSeconds(1)); // a late second fire would show up here
            int once = 0, duplicated = 0, missed = 0;
            for (int i = 0; i < Timers; i++)
            {
                switch (witness.FiresOf(i.ToString()))
                {
                    case 0: missed++; break;
                    case 1: once++; break;
                    default: duplicated++; break;
                }
            }
            output.WriteLine($"wait-replicas {(waitReplicas ? 1 : 0)}: {once} fired once, {duplicated} duplicated, {missed} missed of {Timers}");
            var times = Enumerable.Range(0, Timers).SelectMany(i => witness.TimesOf(i.ToString())).Order().ToArray();
            output.WriteLine($"longest time without a fire: {times.Zip(times.Skip(1), (x, y) => y - x).Max() * 1000:F0} ms");
            foreach (int i in Enumerable.Range(0, Timers).Where(i => witness.FiresOf(i.ToString()) > 1).Take(5)
                         .Concat(Enumerable.Range(0, Timers).Where(i => witness.FiresOf(i.ToString()) > 1).TakeLast(5)))
                output.WriteLine($"  duplicated: timer {i} fired at {string.Join(", ", witness.TimesOf(i.ToString()).Select(t => DateTimeOffset.FromUnixTimeMilliseconds((long)(t * 1000)).ToString("HH:mm:ss.fff")))} seen by {witness.SeenBy(i.ToString())}");
            Assert.Equal(0, missed);
            // Without waiting, the new master fires at once while the other replicas still re-sync from it; when it
            // is killed then, what it fired is lost with it and fired again: measured, not asserted (README).
            if (waitReplicas) Assert.Equal(0, duplicated);
        }
        catch
        {
            foreach (var s in sentinels) output.WriteLine(s.ReadLog());
            throw;
        }
    }

    private static async Task<int> MasterPortOrZeroAsync(SentinelServer s)
    {
        try { return await s.MasterPortAsync(); }
        catch (Exception e) when (e is IOException or FormatException or ArgumentOutOfRangeException) { return 0; }
    }

    private static async Task<int> ConnectedReplicasAsync(RedisServer master)
    {
        using var c = await RawClient.ConnectAsync(master.Port);
        var m = Regex.Match(await c.CallAsync("INFO", "replication"), @"connected_slaves:(\d+)");
        return m.Success ? int.Parse(m.Groups[1].Value) : 0;
    }

    // A Sentinel elects and promotes only with the others and the replicas known (hello messages every 2 s).
    private static async Task WaitUntilSentinelKnowsAllAsync(SentinelServer s)
    {
        using var c = await RawClient.ConnectAsync(s.Port);
        await TimerFixture.WaitUntilAsync(async () =>
            Regex.Matches(await c.CallAsync("SENTINEL", "SENTINELS", SentinelServer.Service), @"\$5\r\nrunid\r\n").Count == 2
            && Regex.Matches(await c.CallAsync("SENTINEL", "REPLICAS", SentinelServer.Service), @"\$4\r\nname\r\n").Count == 2,
            TimeSpan.FromSeconds(30), "the Sentinel knows the other two and both replicas");
    }
}
