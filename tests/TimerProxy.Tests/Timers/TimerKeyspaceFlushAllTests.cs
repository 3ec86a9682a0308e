using RedisTimer.Proxy.Tests.Infrastructure;
using static RedisTimer.Proxy.Tests.Timers.TimerFiringSupport;

namespace RedisTimer.Proxy.Tests.Timers;

/// <summary>
/// §4 FLUSHALL (SYNC) cancels every timer silently; §0 difference: FLUSHALL ASYNC with many pending timers crashes
/// the module's server, ours never crashes and never fires a flushed timer. Own class (own Redis): FLUSHALL
/// would wipe other tests' timers.
/// </summary>
public class TimerKeyspaceFlushAllTests(TimerFixture fx) : IClassFixture<TimerFixture>
{
    private const int Pending = 500;

    [Theory]
    [InlineData("", false)]
    [InlineData("", true)]
    [InlineData("SYNC", false)]
    [InlineData("SYNC", true)]
    [InlineData("ASYNC", false)]
    [InlineData("ASYNC", true)]
    public async Task Flushall_cancels_every_timer_in_every_db(string mode, bool direct)
    {
        string run = Unique("flushall"), counter = run + ":count";
        string shotTag = Unique("tag"), loopTag = Unique("tag"), otherDbTag = Unique("tag"), controlTag = Unique("tag");
        using var c = await fx.ConnectAsync();
        using var c2 = await fx.ConnectAsync(db: 2);
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", run + ":shot", "rt_log", "400", "1", run + ":shot", shotTag));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", run + ":loop", "rt_log", "200", "LOOP", "1", run + ":loop", loopTag));
        Assert.Equal(":1\r\n", await c2.CallAsync("TIMER.NEW", run + ":db2", "rt_log", "400", "1", run + ":db2", otherDbTag));
        // Many pending one-shot timers due soon after the flush (the module's ASYNC crash case), counted in one key.
        var batch = new MemoryStream();
        for (int i = 0; i < Pending; i++)
            batch.Write(RawClient.Command("TIMER.NEW", $"{run}:many:{i}", "rt_count", (300 + i % 200).ToString(), "1", counter));
        await c.SendAsync(batch.ToArray());
        for (int i = 0; i < Pending; i++) Assert.Equal(":1\r\n", await c.ReadReplyAsync());

        using (var op = await fx.ConnectAsync(direct))
            Assert.Equal("+OK\r\n", mode == "" ? await op.CallAsync("FLUSHALL") : await op.CallAsync("FLUSHALL", mode));
        // rt:log went too: from now on any entry of a flushed timer is a fire after the flush.

        // A control timer created after the flush, due after all the flushed ones.
        string control = Unique("flushall-control");
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", control, "rt_log", "500", "1", control, controlTag));
        await fx.WaitForFiresAsync(controlTag);
        await Task.Delay(500);

        await fx.AssertRedisAliveAsync();
        Assert.Empty(await fx.FiresOfAsync(shotTag));
        Assert.Empty(await fx.FiresOfAsync(loopTag));
        Assert.Empty(await fx.FiresOfAsync(otherDbTag, 2));
        Assert.Equal("$-1\r\n", await c.CallAsync("GET", counter));
        Assert.Equal("*0\r\n", await c.CallAsync("KEYS", run + ":*"));
        Assert.Equal("*0\r\n", await c2.CallAsync("KEYS", "*"));
    }
}
