using RedisTimer.Proxy.Tests.Infrastructure;
using Xunit.Abstractions;

namespace RedisTimer.Proxy.Tests.Drills;

/// <summary>
/// Drill (a) with (d), short version (bench/drills.sh runs it full size): three proxies on one Redis, one-shot timers
/// falling due while the fire lease's holder is killed with SIGKILL twice. Every timer fires exactly once, another
/// proxy takes over within the lease, and a client of the killed proxy reconnects to another and writes again.
/// </summary>
public sealed class LeaderKillDrillTests(ITestOutputHelper output) : IDisposable
{
    private const int LeaseMs = 1000, Timers = 2000, SpanMs = 8000, LeadMs = 2000;
    private const string Prefix = "drill:a:";

    // Takeover is at most the lease plus one renewal period (a third of it) after the kill, plus the time to fire.
    // The margin on top is for a loaded machine; bench/drills.sh reports the figure against the target lease + 1 s.
    private static readonly TimeSpan TakeoverLimit = TimeSpan.FromMilliseconds(LeaseMs * 4 / 3 + 3000);

    private readonly RedisServer _redis = new();

    public void Dispose() => _redis.Dispose();

    private sealed record Kill(ProxyProcess Victim, long SentUs, long ExitedUs, DrillWriter.Report Writer);

    [Fact]
    public async Task Leader_killed_twice_while_timers_fire_every_timer_fires_once_and_clients_reconnect()
    {
        await DrillTimers.LoadLibraryAsync(_redis.Port);
        var proxies = Enumerable.Range(0, 3)
            .Select(_ => new ProxyProcess(_redis.Endpoint, extraArgs: ["--Timers:LeaseMs", LeaseMs.ToString()])).ToList();
        try
        {
            foreach (var p in proxies) await p.WaitListeningAsync();
            using var direct = await RawClient.ConnectAsync(_redis.Port);
            // Each proxy's scheduler starts with its first timer command: a timer far ahead through each.
            foreach (var p in proxies)
            {
                using var c = await RawClient.ConnectAsync(p.Port);
                Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", $"drill:warm:{p.Port}", "drill_count", "600000", "2",
                    DrillTimers.FiresKey, DrillTimers.FiredAtKey, "warm"));
            }
            var firstLeader = await LeaderAsync(direct, proxies);

            // A client of a proxy that is not killed first, there from start to end.
            var bystanderPort = proxies.First(p => p != firstLeader).Port;
            await using var bystander = new DrillWriter("drill:w:bystander", Rotated(proxies, bystanderPort), redisMayLoseWrites: false);
            bystander.Start();

            long firstDueUs = await DrillTimers.ServerTimeUsAsync(direct) + LeadMs * 1000L;
            var timers = await DrillTimers.CreateAsync(_redis.Port, proxies.Select(p => p.Port).ToList(), Prefix, Timers, firstDueUs, SpanMs);
            long lastDueUs = timers.Max(t => t.DueUs);

            await DrillTimers.DelayUntilAsync(firstDueUs + 1500_000);
            var first = await KillLeaderAsync(direct, proxies, "first");
            await DrillTimers.DelayUntilAsync(Math.Max(first.ExitedUs + 1500_000, firstDueUs + 4500_000));
            var second = await KillLeaderAsync(direct, proxies, "second");
            Assert.True(second.ExitedUs < lastDueUs - 500_000, "the second kill came after the timers had fired; the drill proved nothing");

            await TimerFixture.WaitUntilAsync(async () => await DrillTimers.FiredCountAsync(direct) >= Timers,
                TimeSpan.FromMilliseconds((lastDueUs - DrillTimers.NowUs()) / 1000 + 30_000), $"all {Timers} timers fired");
            await Task.Delay(500); // room for a duplicate fire to show up
            await bystander.WaitForSuccessesAsync(10, DrillTimers.NowUs(), TimeSpan.FromSeconds(15));
            var bystanderReport = await bystander.StopAsync();

            var tally = DrillTimers.Count(timers.Select(t => t.Id), await DrillTimers.FireCountsAsync(direct));
            var firedAt = await DrillTimers.FiredAtAsync(direct);
            output.WriteLine(tally.ToString());
            Assert.True(tally.FiredOnce == Timers, tally.ToString());

            foreach (var kill in new[] { first, second })
            {
                // The first fire after the victim was gone came from another proxy.
                long resumedUs = firedAt.Where(f => f.Key.StartsWith(Prefix, StringComparison.Ordinal) && f.Value > kill.ExitedUs).Min(f => f.Value);
                var takeover = TimeSpan.FromMicroseconds(resumedUs - kill.SentUs);
                output.WriteLine($"kill of leader pid {kill.Victim.Pid}: fires resumed {takeover.TotalMilliseconds:0} ms after it (lease {LeaseMs} ms); " +
                                 $"its client: {kill.Writer}");
                Assert.True(takeover <= TakeoverLimit, $"takeover took {takeover.TotalMilliseconds:0} ms");
                AssertClearAndWorking(kill.Writer);
                Assert.Contains(kill.Writer.Errors, e => e.Port == kill.Victim.Port); // it was on the victim, and noticed
            }
            output.WriteLine($"bystander client (first on port {bystanderPort}): {bystanderReport}");
            AssertClearAndWorking(bystanderReport);
            if (proxies.Single(p => p.Port == bystanderPort) is { HasExited: false })
                Assert.Empty(bystanderReport.Errors); // a client of a proxy that lived saw nothing of the kills

            var survivor = proxies.Single(p => !p.HasExited);
            Assert.Contains($":{survivor.Pid}:", await direct.CallAsync("GET", "timer-tzw:leader"));
        }
        finally
        {
            foreach (var p in proxies) p.Dispose();
        }
    }

    private void AssertClearAndWorking(DrillWriter.Report report)
    {
        Assert.Empty(report.WrongReplies);
        Assert.Equal(0, report.Rollbacks);
        Assert.All(report.Errors, e => Assert.True(DrillWriter.IsClear(e.Text, _redis.Endpoint), $"unclear error: {e.Text}"));
        Assert.True(report.Successes > 20, report.ToString());
    }

    /// <summary>
    /// Kills the lease holder while a client writes through it, and waits until another proxy has fired a timer
    /// and the client has written through another proxy.
    /// </summary>
    private async Task<Kill> KillLeaderAsync(RawClient direct, List<ProxyProcess> proxies, string which)
    {
        var victim = await LeaderAsync(direct, proxies);
        await using var writer = new DrillWriter($"drill:w:{which}", Rotated(proxies.Where(p => !p.HasExited).ToList(), victim.Port),
            redisMayLoseWrites: false);
        writer.Start();
        await writer.WaitForSuccessesAsync(10, 0, TimeSpan.FromSeconds(15));

        long sentUs = DrillTimers.NowUs();
        victim.Signal(Signals.SIGKILL);
        Assert.True(victim.WaitForExit(TimeSpan.FromSeconds(10)), "the leader did not die");
        long exitedUs = DrillTimers.NowUs();
        // A dead proxy fires nothing: a fire counted from now on is another proxy's.
        long firedAtExit = await DrillTimers.FiredCountAsync(direct);
        await TimerFixture.WaitUntilAsync(async () => await DrillTimers.FiredCountAsync(direct) > firedAtExit, TakeoverLimit + TimeSpan.FromSeconds(5),
            "another proxy fired after the leader's kill");
        await writer.WaitForSuccessesAsync(10, exitedUs, TimeSpan.FromSeconds(15));
        return new Kill(victim, sentUs, exitedUs, await writer.StopAsync());
    }

    /// <summary>The proxy holding the lease (its value is host:pid:id), once one of the living ones holds it.</summary>
    private static async Task<ProxyProcess> LeaderAsync(RawClient direct, List<ProxyProcess> proxies)
    {
        ProxyProcess? leader = null;
        await TimerFixture.WaitUntilAsync(async () =>
        {
            string holder = await direct.CallAsync("GET", "timer-tzw:leader");
            leader = proxies.FirstOrDefault(p => !p.HasExited && holder.Contains($":{p.Pid}:"));
            return leader is not null;
        }, TimeSpan.FromSeconds(20), "a living proxy holds the lease");
        return leader!;
    }

    /// <summary>The ports of the proxies, starting with <paramref name="firstPort"/>.</summary>
    private static List<int> Rotated(List<ProxyProcess> proxies, int firstPort) =>
        [firstPort, .. proxies.Select(p => p.Port).Where(p => p != firstPort)];
}
