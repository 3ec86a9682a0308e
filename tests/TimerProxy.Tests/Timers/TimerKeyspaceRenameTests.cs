using System.Diagnostics;
using RedisTimer.Proxy.Tests.Infrastructure;
using static RedisTimer.Proxy.Tests.Timers.TimerFiringSupport;

namespace RedisTimer.Proxy.Tests.Timers;

/// <summary>§4 RENAME, RENAMENX, MOVE (the schedule follows the key) and COPY (refused), through the proxy.</summary>
public class TimerKeyspaceRenameTests(TimerFixture fx) : IClassFixture<TimerFixture>
{
    // §4 RENAME T → U: TIMER.INFO U shows the same data, remaining not reset; INFO T nil; it fires as U.
    [Theory]
    [InlineData("RENAME", "+OK\r\n")]
    [InlineData("RENAMENX", ":1\r\n")]
    public async Task Rename_keeps_the_schedule_under_the_new_name(string command, string ok)
    {
        string from = Unique("rename-from"), to = Unique("rename-to"), tag = Unique("tag");
        using var c = await fx.ConnectAsync();
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", from, "rt_log", "900", "1", to, tag));
        var sinceCreated = Stopwatch.StartNew();
        await Task.Delay(300);
        Assert.Equal(ok, await c.CallAsync(command, from, to));

        long elapsed = sinceCreated.ElapsedMilliseconds; // a lower bound of the time Redis saw pass since the NEW
        string info = await c.CallAsync("TIMER.INFO", to);
        long remaining = Remaining(info);
        Assert.True(remaining <= 900 - elapsed + 1, $"remaining {remaining} at least {elapsed} ms after creation: reset");
        Assert.Contains("$8\r\nfunction\r\n$6\r\nrt_log\r\n$8\r\ninterval\r\n:900\r\n", info);
        Assert.Equal("$-1\r\n", await c.CallAsync("TIMER.INFO", from));
        Assert.Equal("+timer-tzw\r\n", await c.CallAsync("TYPE", to));

        var fire = Assert.Single(await fx.WaitForFiresAsync(tag));
        Assert.Equal([to], fire.Keys);
        Assert.Equal(0, fire.Exists); // the new name was deleted before the function ran
        await Task.Delay(300);
        Assert.Single(await fx.FiresOfAsync(tag));
        Assert.Equal(":0\r\n", await c.CallAsync("EXISTS", to));
        Assert.Equal(":0\r\n", await c.CallAsync("EXISTS", from));
    }

    [Fact]
    public async Task Renamed_loop_timer_goes_on_firing_under_the_new_name()
    {
        string from = Unique("rename-loop-from"), to = Unique("rename-loop-to"), tag = Unique("tag");
        using var c = await fx.ConnectAsync();
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", from, "rt_log", "100", "LOOP", "1", to, tag));
        await fx.WaitForFiresAsync(tag);
        Assert.Equal("+OK\r\n", await c.CallAsync("RENAME", from, to));
        int before = (await fx.FiresOfAsync(tag)).Count;
        var fires = await fx.WaitForFiresAsync(tag, count: before + 3);
        Assert.All(fires.Skip(before), f => Assert.Equal(1, f.Exists)); // the new name, re-armed
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.KILL", to));
        Assert.Equal(":0\r\n", await c.CallAsync("TIMER.KILL", from));
    }

    [Fact]
    public async Task Renamenx_onto_an_existing_key_changes_nothing()
    {
        string from = Unique("renamenx-from"), to = Unique("renamenx-to"), tag = Unique("tag");
        using var c = await fx.ConnectAsync();
        Assert.Equal("+OK\r\n", await c.CallAsync("SET", to, "taken"));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", from, "rt_log", "200", "1", from, tag));
        Assert.Equal(":0\r\n", await c.CallAsync("RENAMENX", from, to));
        var fire = Assert.Single(await fx.WaitForFiresAsync(tag));
        Assert.Equal([from], fire.Keys);
        Assert.Equal(0, fire.Exists);
        Assert.Equal("$5\r\ntaken\r\n", await c.CallAsync("GET", to));
    }

    // §4 RENAME A → B where B is a timer: B's old timer never fires; A's continues as B.
    [Fact]
    public async Task Rename_onto_a_timer_replaces_it_and_the_old_one_never_fires()
    {
        string a = Unique("rename-a"), b = Unique("rename-b"), tagA = Unique("tagA"), tagB = Unique("tagB");
        using var c = await fx.ConnectAsync();
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", a, "rt_log", "500", "1", b, tagA));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", b, "rt_log", "200", "1", b, tagB));
        Assert.Equal("+OK\r\n", await c.CallAsync("RENAME", a, b));
        Assert.True(Remaining(await c.CallAsync("TIMER.INFO", b)) > 250, "B shows its old schedule");

        var fire = Assert.Single(await fx.WaitForFiresAsync(tagA));
        Assert.Equal(0, fire.Exists);
        await Task.Delay(300); // B's old due time is long past
        Assert.Empty(await fx.FiresOfAsync(tagB));
        Assert.Single(await fx.FiresOfAsync(tagA));
        Assert.Equal(":0\r\n", await c.CallAsync("EXISTS", b));
    }

    // §4 MOVE T db: remaining preserved; FCALL then runs in the destination db.
    [Fact]
    public async Task Move_keeps_the_remaining_time_and_fires_in_the_destination_db()
    {
        const int target = 9;
        string id = Unique("move"), tag = Unique("tag");
        using var c = await fx.ConnectAsync();
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", id, "rt_log", "900", "1", id, tag));
        var sinceCreated = Stopwatch.StartNew();
        await Task.Delay(300);
        Assert.Equal(":1\r\n", await c.CallAsync("MOVE", id, target));
        Assert.Equal(":0\r\n", await c.CallAsync("EXISTS", id));
        Assert.Equal("$-1\r\n", await c.CallAsync("TIMER.INFO", id));

        using var t = await fx.ConnectAsync(db: target);
        long elapsed = sinceCreated.ElapsedMilliseconds; // a lower bound of the time Redis saw pass since the NEW
        long remaining = Remaining(await t.CallAsync("TIMER.INFO", id));
        Assert.True(remaining <= 900 - elapsed + 1, $"remaining {remaining} at least {elapsed} ms after creation: reset");

        var fire = Assert.Single(await fx.WaitForFiresAsync(tag, target));
        Assert.Equal(0, fire.Exists); // EXISTS ran in the destination db
        await Task.Delay(300);
        Assert.Empty(await fx.FiresOfAsync(tag, 0));
        Assert.Single(await fx.FiresOfAsync(tag, target));
        Assert.Equal(":0\r\n", await t.CallAsync("EXISTS", id));
    }

    [Fact]
    public async Task Move_onto_an_existing_key_changes_nothing()
    {
        const int target = 9;
        string id = Unique("move-taken"), tag = Unique("tag");
        using var c = await fx.ConnectAsync();
        using var t = await fx.ConnectAsync(db: target);
        Assert.Equal("+OK\r\n", await t.CallAsync("SET", id, "taken"));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", id, "rt_log", "200", "1", id, tag));
        Assert.Equal(":0\r\n", await c.CallAsync("MOVE", id, target));
        Assert.Single(await fx.WaitForFiresAsync(tag, 0));
        Assert.Equal("$5\r\ntaken\r\n", await t.CallAsync("GET", id));
    }

    // §2/§0 COPY T other: refused with the module's error; no copy is made and the timer fires as before.
    [Fact]
    public async Task Copy_of_a_timer_is_refused()
    {
        string id = Unique("copy"), other = Unique("copy-other"), tag = Unique("tag");
        using var c = await fx.ConnectAsync();
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", id, "rt_log", "300", "1", id, tag));
        Assert.Equal("-ERR not supported for this module key\r\n", await c.CallAsync("COPY", id, other));
        Assert.Equal("-ERR not supported for this module key\r\n", await c.CallAsync("COPY", id, other, "DB", "3", "REPLACE"));
        Assert.Equal(":0\r\n", await c.CallAsync("EXISTS", other));
        using (var d3 = await fx.ConnectAsync(direct: true, db: 3))
            Assert.Equal(":0\r\n", await d3.CallAsync("EXISTS", other));
        Assert.Single(await fx.WaitForFiresAsync(tag));
    }
}
