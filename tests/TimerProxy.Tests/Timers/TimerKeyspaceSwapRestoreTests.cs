using System.Text;
using RedisTimer.Proxy.Tests.Infrastructure;
using static RedisTimer.Proxy.Tests.Timers.TimerFiringSupport;

namespace RedisTimer.Proxy.Tests.Timers;

/// <summary>
/// §4 SWAPDB and DUMP/RESTORE, where the module can crash the server or delete an unrelated key (§0 difference:
/// ours never crashes, never touches a key other than the timer's and the function's, and a timer fires in the
/// db where its key is).
/// </summary>
public class TimerKeyspaceSwapRestoreTests(TimerFixture fx) : IClassFixture<TimerFixture>
{
    // Module: a LOOP timer keeps firing in its old db number and a one-shot timer crashes Redis at fire time.
    // Ours (§0): each timer fires where its key now is, once; unrelated keys swap as Redis swaps them.
    [Fact]
    public async Task Swapdb_never_crashes_and_each_timer_fires_once_in_the_db_its_key_moved_to()
    {
        const int x = 10, y = 11;
        string id = Unique("swap"), loop = Unique("swap-loop"), unrelated = Unique("swap-unrelated");
        string tagX = Unique("tagX"), tagY = Unique("tagY"), loopTag = Unique("loop");
        using var cx = await fx.ConnectAsync(db: x);
        using var cy = await fx.ConnectAsync(db: y);
        // The same timer name in both dbs, different definitions.
        Assert.Equal(":1\r\n", await cx.CallAsync("TIMER.NEW", id, "rt_log", "500", "1", id, tagX));
        Assert.Equal(":1\r\n", await cy.CallAsync("TIMER.NEW", id, "rt_log", "500", "1", id, tagY));
        Assert.Equal(":1\r\n", await cx.CallAsync("TIMER.NEW", loop, "rt_log", "100", "LOOP", "1", loop, loopTag));
        Assert.Equal("+OK\r\n", await cx.CallAsync("SET", unrelated, "was-x"));
        Assert.Equal("+OK\r\n", await cy.CallAsync("SET", unrelated, "was-y"));

        Assert.Equal("+OK\r\n", await cx.CallAsync("SWAPDB", x, y));
        // rt:log swapped too: db x's log (now in y) holds the LOOP's fires so far; db x starts from y's (empty) log.
        Assert.Empty(await fx.FiresOfAsync(loopTag, x));

        var fireX = Assert.Single(await fx.WaitForFiresAsync(tagX, y));
        var fireY = Assert.Single(await fx.WaitForFiresAsync(tagY, x));
        Assert.Equal(0, fireX.Exists);
        Assert.Equal(0, fireY.Exists);
        int loopFires = (await fx.FiresOfAsync(loopTag, y)).Count;
        await fx.WaitForFiresAsync(loopTag, y, loopFires + 2); // the LOOP goes on, in the db its key is in now
        await Task.Delay(300);

        await fx.AssertRedisAliveAsync();
        Assert.Empty(await fx.FiresOfAsync(tagX, x));
        Assert.Empty(await fx.FiresOfAsync(tagY, y));
        Assert.Empty(await fx.FiresOfAsync(loopTag, x));
        Assert.Single(await fx.FiresOfAsync(tagX, y));
        Assert.Single(await fx.FiresOfAsync(tagY, x));
        Assert.Equal("$5\r\nwas-y\r\n", await cx.CallAsync("GET", unrelated));
        Assert.Equal("$5\r\nwas-x\r\n", await cy.CallAsync("GET", unrelated));
        Assert.Equal(":1\r\n", await cy.CallAsync("TIMER.KILL", loop));
        Assert.Equal(":0\r\n", await cx.CallAsync("TIMER.KILL", loop));
    }

    // §4 DUMP + RESTORE under the same name in another db: it works, and the restored timer fires in the db it
    // was restored into (the original fires in its own db).
    [Fact]
    public async Task Restore_under_the_same_name_in_another_db_fires_there()
    {
        const int other = 12;
        string id = Unique("restore-same"), tag = Unique("tag");
        using var c = await fx.ConnectAsync();
        using var o = await fx.ConnectAsync(db: other);
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", id, "rt_log", "500", "1", id, tag));
        byte[] dump = Payload(await c.CallAsync("DUMP", id));
        Assert.Equal("+OK\r\n", await o.CallAsync("RESTORE", id, "0", dump));
        Assert.StartsWith("-BUSYKEY", await o.CallAsync("RESTORE", id, "0", dump));
        Assert.Equal("+timer-tzw\r\n", await o.CallAsync("TYPE", id));

        var restored = Assert.Single(await fx.WaitForFiresAsync(tag, other));
        Assert.Equal(0, restored.Exists);
        Assert.Single(await fx.WaitForFiresAsync(tag, 0));
        await Task.Delay(300);
        await fx.AssertRedisAliveAsync();
        Assert.Single(await fx.FiresOfAsync(tag, other));
        Assert.Single(await fx.FiresOfAsync(tag, 0));
        Assert.Equal(":0\r\n", await o.CallAsync("EXISTS", id));
    }

    // RESTORE ... REPLACE over a timer: the restored definition's due time counts, not the replaced timer's.
    [Fact]
    public async Task Restore_replace_over_a_timer_fires_at_the_restored_due_time()
    {
        string source = Unique("restore-src"), target = Unique("restore-dst"), tag = Unique("tag"), oldTag = Unique("old");
        using var c = await fx.ConnectAsync();
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", target, "rt_log", "8000", "1", target, oldTag));
        await Task.Delay(500); // the scheduler holds the timer about to be replaced (and its due time)
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", source, "rt_log", "600", "1", target, tag));
        byte[] dump = Payload(await c.CallAsync("DUMP", source));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.KILL", source));
        var time = TimerFixture.ParseBulkArray(await c.CallAsync("TIME"));
        long restoredUs = long.Parse(time[0]) * 1_000_000 + long.Parse(time[1]);
        Assert.Equal("+OK\r\n", await c.CallAsync("RESTORE", target, "0", dump, "REPLACE"));

        var fire = Assert.Single(await fx.WaitForFiresAsync(tag));
        // Due about 0.6 s after the source was created; the replaced timer was due 8 s after its own creation.
        Assert.True(fire.Us - restoredUs < 5_000_000, $"fired {(fire.Us - restoredUs) / 1000} ms after the restore");
        await Task.Delay(300);
        Assert.Empty(await fx.FiresOfAsync(oldTag));
        Assert.Equal(":0\r\n", await c.CallAsync("EXISTS", target));
    }

    // Module: a one-shot dump restored under another name first deletes whatever key has the original name, then
    // crashes the server. Ours (§0): the copy is a timer of its own; the key with the original name is left alone.
    [Fact]
    public async Task Restore_under_another_name_never_touches_the_key_with_the_original_name()
    {
        string id = Unique("restore-orig"), copy = Unique("restore-copy"), loop = Unique("restore-loop"), loopCopy = Unique("restore-loop-copy");
        string tag = Unique("tag"), loopTag = Unique("loop");
        using var c = await fx.ConnectAsync();
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", id, "rt_log", "400", "1", id, tag));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", loop, "rt_log", "100", "LOOP", "1", loop, loopTag));
        Assert.Equal("+OK\r\n", await c.CallAsync("RESTORE", copy, "0", Payload(await c.CallAsync("DUMP", id))));
        Assert.Equal("+OK\r\n", await c.CallAsync("RESTORE", loopCopy, "0", Payload(await c.CallAsync("DUMP", loop))));
        // The original name now holds an unrelated value.
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.KILL", id));
        Assert.Equal("+OK\r\n", await c.CallAsync("SET", id, "unrelated"));

        var fire = Assert.Single(await fx.WaitForFiresAsync(tag)); // the restored copy's fire
        Assert.Equal(1, fire.Exists); // rt_log's key1 is the original name: the unrelated string is still there
        await Task.Delay(300);
        await fx.AssertRedisAliveAsync();
        Assert.Single(await fx.FiresOfAsync(tag));
        Assert.Equal("$9\r\nunrelated\r\n", await c.CallAsync("GET", id));
        Assert.Equal(":0\r\n", await c.CallAsync("EXISTS", copy));

        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.KILL", loop));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.KILL", loopCopy));
        await fx.AssertRedisAliveAsync();
    }

    // The bytes of a bulk string reply (RawClient returns latin1 text, one char per byte).
    private static byte[] Payload(string bulk)
    {
        Assert.StartsWith("$", bulk);
        int headerEnd = bulk.IndexOf("\r\n", StringComparison.Ordinal);
        int length = int.Parse(bulk.AsSpan(1, headerEnd - 1));
        return Encoding.Latin1.GetBytes(bulk.Substring(headerEnd + 2, length));
    }
}
