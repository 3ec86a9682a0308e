using RedisTimer.Proxy.Tests.Infrastructure;

namespace RedisTimer.Proxy.Tests.Timers;

public class TimerSmokeTests(TimerFixture fx) : IClassFixture<TimerFixture>
{
    [Fact]
    public async Task One_shot_timer_fires_once_with_its_keys_and_args_after_its_key_is_gone()
    {
        using var c = await fx.ConnectProxyAsync();
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", "smoke:1", "rt_log", "100", "1", "smoke:1", "a1", "a2"));
        await TimerFixture.WaitUntilAsync(async () => (await fx.FiresAsync()).Any(f => f.Keys.SequenceEqual(["smoke:1"])));
        var fire = Assert.Single(await fx.FiresAsync(), f => f.Keys.SequenceEqual(["smoke:1"]));
        Assert.Equal(["a1", "a2"], fire.Args);
        Assert.Equal(0, fire.Exists);
        Assert.Equal(":0\r\n", await c.CallAsync("EXISTS", "smoke:1"));
        Assert.Equal("$-1\r\n", await c.CallAsync("TIMER.INFO", "smoke:1"));
    }
}
