using System.Text.RegularExpressions;
using RedisTimer.Proxy.Tests.Infrastructure;
using static RedisTimer.Proxy.Tests.Timers.TimerReplyKit;

namespace RedisTimer.Proxy.Tests.Timers;

/// <summary>
/// The change events on <c>timer-tzw:events</c> (docs/STORAGE.md) name the database the timer is in, also
/// after a SELECT that Redis refused or that a transaction dropped: the session cannot see that a SELECT
/// did not happen, and a wrong database would leave a timer due soon to the next reconciliation.
/// </summary>
public class TimerEventDatabaseTests(TimerFixture fx) : IClassFixture<TimerFixture>
{
    [Fact]
    public async Task A_select_dropped_by_discard_does_not_change_the_db_of_the_events()
    {
        using var c = await ConnectAsync(fx, 2);
        using var events = await SubscribeAsync();
        string t = Key("discard");
        Assert.Equal("+OK\r\n", await c.CallAsync("SELECT", "2"));
        Assert.Equal("+OK\r\n", await c.CallAsync("MULTI"));
        Assert.Equal("+QUEUED\r\n", await c.CallAsync("SELECT", "5"));
        Assert.Equal("+OK\r\n", await c.CallAsync("DISCARD"));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", t, "rt_log", "5000", "0"));
        Assert.Equal("2", await EventDbAsync(events, t));
    }

    [Fact]
    public async Task A_select_in_an_aborted_transaction_does_not_change_the_db_of_the_events()
    {
        using var c = await ConnectAsync(fx, 2);
        using var events = await SubscribeAsync();
        using var direct = await DirectAsync(fx);
        string watched = Key("watched"), queuedError = Key("execabort"), aborted = Key("aborted");
        Assert.Equal("+OK\r\n", await c.CallAsync("WATCH", watched));
        Assert.Equal("+OK\r\n", await direct.CallAsync("SET", watched, "changed"));
        Assert.Equal("+OK\r\n", await c.CallAsync("MULTI"));
        Assert.Equal("+QUEUED\r\n", await c.CallAsync("SELECT", "6"));
        Assert.Equal("*-1\r\n", await c.CallAsync("EXEC"));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", aborted, "rt_log", "5000", "0"));
        Assert.Equal("0", await EventDbAsync(events, aborted));

        Assert.Equal("+OK\r\n", await c.CallAsync("MULTI"));
        Assert.Equal("+QUEUED\r\n", await c.CallAsync("SELECT", "7"));
        Assert.StartsWith("-ERR wrong number of arguments", await c.CallAsync("SET", "x"));
        Assert.StartsWith("-EXECABORT", await c.CallAsync("EXEC"));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", queuedError, "rt_log", "5000", "0"));
        Assert.Equal("0", await EventDbAsync(events, queuedError));
    }

    [Fact]
    public async Task A_refused_select_does_not_change_the_db_of_the_events_of_merged_timers()
    {
        using var c = await ConnectAsync(fx, 2);
        using var events = await SubscribeAsync();
        string p = Key("refused");
        Assert.Equal("+OK\r\n", await c.CallAsync("SELECT", "3"));
        Assert.Equal("-ERR DB index is out of range\r\n", await c.CallAsync("SELECT", "99"));
        // Pipelined: merged into one call of the library once the first merged reply came.
        for (int round = 0; round < 2; round++)
        {
            var batch = Enumerable.Range(0, 10).SelectMany(i => RawClient.Command("TIMER.NEW", $"{p}:{round}:{i}", "rt_log", "5000", "0")).ToArray();
            await c.SendAsync(batch);
            for (int i = 0; i < 10; i++) Assert.Equal(":1\r\n", await c.ReadReplyAsync());
        }
        for (int i = 0; i < 10; i++) Assert.Equal("3", await EventDbAsync(events, $"{p}:1:{i}"));
    }

    [Fact]
    public async Task A_timer_renamed_after_a_discarded_select_is_announced_in_its_db()
    {
        using var c = await ConnectAsync(fx, 2);
        using var events = await SubscribeAsync();
        string src = Key("rename-src"), dst = Key("rename-dst");
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", src, "rt_log", "600000", "0"));
        Assert.Equal("+OK\r\n", await c.CallAsync("MULTI"));
        Assert.Equal("+QUEUED\r\n", await c.CallAsync("SELECT", "8"));
        Assert.Equal("+OK\r\n", await c.CallAsync("DISCARD"));
        Assert.Equal("+OK\r\n", await c.CallAsync("RENAME", src, dst));
        Assert.Equal("0", await EventDbAsync(events, dst));
    }

    private async Task<RawClient> SubscribeAsync()
    {
        var events = await DirectAsync(fx);
        Assert.StartsWith("*3\r\n$9\r\nsubscribe\r\n", await events.CallAsync("SUBSCRIBE", "timer-tzw:events"));
        return events;
    }

    // Events are "<db>:<due>:<id>"; other tests' and the scheduler's events may come between.
    private static async Task<string> EventDbAsync(RawClient events, string id)
    {
        while (true)
        {
            string message = await events.ReadReplyAsync();
            var m = Regex.Match(message, @"\r\n(\d+):[0-9.]+:" + Regex.Escape(id) + "\r\n$");
            if (m.Success) return m.Groups[1].Value;
        }
    }
}
