using RedisTimer.Proxy.Scheduling;
using RedisTimer.Proxy.Tests.Infrastructure;

namespace RedisTimer.Proxy.Tests.Scheduling;

/// <summary>A scheduler with no timers left goes idle (sends nothing, holds no lease); timers that appear then still fire.</summary>
public sealed class SchedulerIdleTests : IDisposable
{
    private readonly RedisServer _redis = new();

    public void Dispose() => _redis.Dispose();

    [Fact]
    public async Task A_timer_created_elsewhere_while_the_scheduler_is_idle_fires_without_a_timer_command_here()
    {
        using var direct = await RawClient.ConnectAsync(_redis.Port);
        await TimerFixture.LoadTestLibraryAsync(direct);
        await using var proxy = await InProcessProxy.StartAsync(_redis.Endpoint);
        var scheduler = proxy.Service<TimerScheduler>();
        using (var c = await RawClient.ConnectAsync(proxy.Port))
        {
            Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", "idle:first", "rt_count", "100", "1", "idle:first:n"));
            await TimerFixture.WaitUntilAsync(async () => await direct.CallAsync("GET", "idle:first:n") == "$1\r\n1\r\n", because: "the first timer fires");
        }
        await TimerFixture.WaitUntilAsync(() => Task.FromResult(!scheduler.IsActive && !scheduler.FiresTimers), TimeSpan.FromSeconds(20),
            "the scheduler goes idle once no timers are left");

        // As another proxy's TIMER.NEW would: the library call, straight on Redis (the first timer of the database is announced).
        Assert.Equal(":1\r\n", await direct.CallAsync("FCALL", "timer_new", "2", "idle:other", "timer-tzw:due", "0", "rt_count", "200", "1", "idle:other:n"));
        await TimerFixture.WaitUntilAsync(async () => await direct.CallAsync("GET", "idle:other:n") == "$1\r\n1\r\n", TimeSpan.FromSeconds(10),
            "the timer created elsewhere fires");
        Assert.Equal(":0\r\n", await direct.CallAsync("EXISTS", "idle:other"));
    }
}
