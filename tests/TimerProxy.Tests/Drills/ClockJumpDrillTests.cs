using RedisTimer.Proxy.Tests.Infrastructure;
using Xunit.Abstractions;

namespace RedisTimer.Proxy.Tests.Drills;

/// <summary>
/// The guarantee table's clock-jump row: Redis's wall clock (its TIME, which all due times are on) jumps while one-shot
/// timers wait, and only Redis's clock moves (<see cref="ClockShift"/>). A jump forward by D fires at once what was due
/// within D and the rest D sooner (the scheduler takes Redis's new time at its next reconciliation). After a jump back
/// the scheduler keeps its estimate for up to 30 s (ServerClock keeps the best lower bound that long), so the timers
/// due meanwhile fire at their real due time, which Redis's clock shows as D early. Each fires exactly once either way.
/// </summary>
public sealed class ClockJumpDrillTests(ITestOutputHelper output)
{
    private const int Timers = 20, FirstDueMs = 3000, SpacingMs = 400; // due 3.0 s to 10.6 s after creation
    private static readonly TimeSpan JumpAfter = TimeSpan.FromSeconds(1); // before the first due time

    // The scheduler reads Redis's clock again at each reconciliation (every second): until then it fires by the old one
    // (measured: 1.0-2.0 s after a forward jump). Generous for a loaded two-core machine, and still short of the jumps
    // (6 and 8 s), so a scheduler that did not take the forward jump, or that followed the backward one at once, fails.
    private static readonly TimeSpan LateLimit = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan EarlyLimit = TimeSpan.FromMilliseconds(500);

    [Theory]
    [InlineData(8000)]
    [InlineData(-6000)]
    public async Task A_jump_of_the_Redis_clock_moves_each_timer_by_the_jump_and_fires_it_once(int jumpMs)
    {
        using var clock = new ClockShift();
        using var redis = new RedisServer(clock.Environment);
        using var direct = await RawClient.ConnectAsync(redis.Port);
        await TimerFixture.LoadTestLibraryAsync(direct);
        await using var proxy = await InProcessProxy.StartAsync(redis.Endpoint);
        using var c = await RawClient.ConnectAsync(proxy.Port);

        var due = new DateTime[Timers]; // real time
        for (int i = 0; i < Timers; i++)
        {
            due[i] = DateTime.UtcNow.AddMilliseconds(FirstDueMs + i * SpacingMs);
            Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", $"clock:{i}", "rt_log", FirstDueMs + i * SpacingMs, 1, $"clock:{i}"));
        }
        await Task.Delay(JumpAfter);
        var jump = TimeSpan.FromMilliseconds(jumpMs);
        clock.Set(jump);
        var jumpedAt = DateTime.UtcNow;
        Assert.True(jumpedAt < due[0], "the machine was too slow: the jump came after the first due time");

        var lastExpected = jumpMs < 0 ? due[^1] : due[^1] - jump;
        await TimerFixture.WaitUntilAsync(async () => (await TimerFixture.ReadFiresAsync(redis.Port)).Count >= Timers,
            lastExpected - DateTime.UtcNow + LateLimit + TimeSpan.FromSeconds(5), "every timer fired");
        await Task.Delay(TimeSpan.FromSeconds(1.5)); // a second fire of any of them would show by now
        var fires = await TimerFixture.ReadFiresAsync(redis.Port);
        Assert.Equal(Timers, fires.Count);
        Assert.Equal(Enumerable.Range(0, Timers).Select(i => $"clock:{i}").Order(), fires.Select(f => f.Keys[0]).Order());

        var outside = new List<string>();
        foreach (var fire in fires)
        {
            int i = int.Parse(fire.Keys[0]["clock:".Length..]);
            // Every fire came after the jump: Redis's clock read the real time plus the jump.
            var firedAt = DateTime.UnixEpoch.AddTicks(fire.Us * 10) - jump;
            var expected = jumpMs < 0 ? due[i] : due[i] - jump > jumpedAt ? due[i] - jump : jumpedAt;
            output.WriteLine($"clock:{i}: due {due[i]:HH:mm:ss.fff}, expected {expected:HH:mm:ss.fff}, fired {firedAt:HH:mm:ss.fff} ({(firedAt - expected).TotalMilliseconds:F0} ms after)");
            if (firedAt < expected - EarlyLimit || firedAt > expected + LateLimit) outside.Add($"clock:{i} {(firedAt - expected).TotalMilliseconds:F0} ms");
        }
        Assert.Empty(outside);
    }
}
