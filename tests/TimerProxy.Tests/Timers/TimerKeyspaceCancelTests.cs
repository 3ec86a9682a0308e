using RedisTimer.Proxy.Tests.Infrastructure;
using static RedisTimer.Proxy.Tests.Timers.TimerFiringSupport;

namespace RedisTimer.Proxy.Tests.Timers;

/// <summary>
/// TIMER_SEMANTICS.md §4: DEL, UNLINK, SET over the key, a TTL running out and FLUSHDB cancel a timer
/// silently (no FCALL ever), done through the proxy or straight on Redis; EXPIRE on a LOOP timer.
/// "Never fires" is checked against a control timer due at the same moment: once it has fired, the victims'
/// due time has passed, and a further wait covers several LOOP periods.
/// </summary>
public class TimerKeyspaceCancelTests(TimerFixture fx) : IClassFixture<TimerFixture>
{
    [Theory]
    [InlineData("DEL", false)]
    [InlineData("DEL", true)]
    [InlineData("UNLINK", false)]
    [InlineData("UNLINK", true)]
    [InlineData("SET", false)]
    [InlineData("SET", true)]
    [InlineData("PEXPIRE", false)]
    [InlineData("PEXPIRE", true)]
    public async Task Operation_on_the_key_cancels_one_shot_and_loop_timers(string operation, bool direct)
    {
        string shot = Unique("cancel-shot"), loop = Unique("cancel-loop"), control = Unique("cancel-control");
        string shotTag = Unique("tag"), loopTag = Unique("tag"), controlTag = Unique("tag");
        using var c = await fx.ConnectAsync();
        using var op = await fx.ConnectAsync(direct);
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", shot, "rt_log", "400", "1", shot, shotTag));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", loop, "rt_log", "200", "LOOP", "1", loop, loopTag));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", control, "rt_log", "400", "1", control, controlTag));

        foreach (var victim in new[] { shot, loop })
        {
            string reply = operation switch
            {
                "SET" => await op.CallAsync("SET", victim, "plain"),
                "PEXPIRE" => await op.CallAsync("PEXPIRE", victim, "50"), // runs out before the first fire
                _ => await op.CallAsync(operation, victim),
            };
            Assert.Equal(operation == "SET" ? "+OK\r\n" : ":1\r\n", reply);
        }
        int loopFiresBefore = (await fx.FiresOfAsync(loopTag)).Count; // a fire is atomic: none can follow the reply
        Assert.Empty(await fx.FiresOfAsync(shotTag));

        await fx.WaitForFiresAsync(controlTag);
        await Task.Delay(600); // three more LOOP periods
        Assert.Empty(await fx.FiresOfAsync(shotTag));
        Assert.Equal(loopFiresBefore, (await fx.FiresOfAsync(loopTag)).Count);

        foreach (var victim in new[] { shot, loop })
        {
            if (operation == "SET")
            {
                // The scheduler left the new value alone, and it is not a timer.
                Assert.Equal("$5\r\nplain\r\n", await c.CallAsync("GET", victim));
                Assert.Equal("-ERR wrong type\r\n", await c.CallAsync("TIMER.INFO", victim));
            }
            else
            {
                Assert.Equal(":0\r\n", await c.CallAsync("EXISTS", victim));
                Assert.Equal("$-1\r\n", await c.CallAsync("TIMER.INFO", victim));
                Assert.Equal(":0\r\n", await c.CallAsync("TIMER.KILL", victim));
            }
        }
    }

    // §4 FLUSHDB in one db cancels only that db's timers; the other db's timers still fire.
    [Theory]
    [InlineData(false, 5, 6)]
    [InlineData(true, 7, 8)]
    public async Task Flushdb_cancels_only_the_timers_of_that_db(bool direct, int flushed, int other)
    {
        string shot = Unique("flushdb-shot"), loop = Unique("flushdb-loop"), survivor = Unique("flushdb-survivor");
        string shotTag = Unique("tag"), loopTag = Unique("tag"), survivorTag = Unique("tag");
        using var a = await fx.ConnectAsync(db: flushed);
        using var b = await fx.ConnectAsync(db: other);
        Assert.Equal(":1\r\n", await a.CallAsync("TIMER.NEW", shot, "rt_log", "400", "1", shot, shotTag));
        Assert.Equal(":1\r\n", await a.CallAsync("TIMER.NEW", loop, "rt_log", "200", "LOOP", "1", loop, loopTag));
        Assert.Equal(":1\r\n", await b.CallAsync("TIMER.NEW", survivor, "rt_log", "400", "1", survivor, survivorTag));

        using (var op = await fx.ConnectAsync(direct, flushed))
            Assert.Equal("+OK\r\n", await op.CallAsync("FLUSHDB"));
        // rt:log of the flushed db went with it: anything there from now on is a fire after the flush.

        var fire = Assert.Single(await fx.WaitForFiresAsync(survivorTag, other));
        Assert.Equal(0, fire.Exists);
        await Task.Delay(600);
        Assert.Empty(await fx.FiresOfAsync(shotTag, flushed));
        Assert.Empty(await fx.FiresOfAsync(loopTag, flushed));
        Assert.Equal("*0\r\n", await a.CallAsync("KEYS", "*"));
    }

    // §4 EXPIRE on a LOOP timer: it keeps firing until the TTL runs out (module: exactly 3 fires for a 100 ms
    // LOOP with PEXPIRE 350; margins for a loaded machine).
    [Fact]
    public async Task Loop_timer_with_a_ttl_fires_until_the_ttl_runs_out()
    {
        string id = Unique("ttl-loop"), tag = Unique("tag");
        using var c = await fx.ConnectAsync();
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", id, "rt_log", "100", "LOOP", "1", id, tag));
        Assert.Equal(":1\r\n", await c.CallAsync("PEXPIRE", id, "350"));
        await TimerFixture.WaitUntilAsync(async () => await c.CallAsync("EXISTS", id) == ":0\r\n", Generous, "TTL ran out");
        await Task.Delay(500);
        var fires = await fx.FiresOfAsync(tag);
        Assert.InRange(fires.Count, 2, 4);
        Assert.All(fires, f => Assert.Equal(1, f.Exists));
        Assert.Equal("$-1\r\n", await c.CallAsync("TIMER.INFO", id));
    }

    // §4 EXPIRE: if the fire comes first, it is normal (a one-shot fires once, and its key is gone).
    [Fact]
    public async Task One_shot_timer_whose_ttl_ends_after_its_due_time_fires_normally()
    {
        string id = Unique("ttl-late"), tag = Unique("tag");
        using var c = await fx.ConnectAsync();
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", id, "rt_log", "150", "1", id, tag));
        Assert.Equal(":1\r\n", await c.CallAsync("PEXPIRE", id, "5000"));
        var fire = Assert.Single(await fx.WaitForFiresAsync(tag));
        Assert.Equal(0, fire.Exists);
        await Task.Delay(300);
        Assert.Single(await fx.FiresOfAsync(tag));
        Assert.Equal(":0\r\n", await c.CallAsync("EXISTS", id));
    }
}
