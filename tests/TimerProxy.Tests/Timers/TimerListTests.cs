using System.Text.Json;
using RedisTimer.Proxy.Tests.Infrastructure;
using static RedisTimer.Proxy.Tests.Timers.TimerFiringSupport;

namespace RedisTimer.Proxy.Tests.Timers;

/// <summary>
/// TIMER.LIST (the timers of the client's db, a page at a time, as SCAN pages) and what each fire came to, kept
/// with its timer: a LOOP timer's runs and last outcome, and a db's recent failures in <c>timer-tzw:failed</c>.
/// </summary>
public class TimerListTests(TimerFixture fx) : IClassFixture<TimerFixture>
{
    private static readonly string[] Fields =
        ["id", "function", "interval", "loop", "remaining", "runs_ok", "runs_failed", "last_run", "last_lateness", "last_error"];

    /// <summary>One page: its cursor and its entries by field, each checked to have exactly <see cref="Fields"/> in order.</summary>
    private static async Task<(string Cursor, List<Dictionary<string, object?>> Entries)> PageAsync(RawClient c, int protocol, params object[] options)
    {
        var reply = RespText.Parse(await c.CallAsync(["TIMER.LIST", .. options]));
        return Page(reply, protocol);
    }

    private static (string Cursor, List<Dictionary<string, object?>> Entries) Page(object? reply, int protocol)
    {
        var page = Assert.IsType<List<object?>>(reply);
        Assert.Equal(2, page.Count);
        var entries = new List<Dictionary<string, object?>>();
        foreach (var entry in Assert.IsType<List<object?>>(page[1]))
        {
            List<KeyValuePair<object?, object?>> pairs;
            if (protocol == 3) pairs = Assert.IsType<List<KeyValuePair<object?, object?>>>(entry);
            else
            {
                var flat = Assert.IsType<List<object?>>(entry);
                pairs = Enumerable.Range(0, flat.Count / 2).Select(i => new KeyValuePair<object?, object?>(flat[2 * i], flat[2 * i + 1])).ToList();
                Assert.Equal(flat.Count, 2 * pairs.Count);
            }
            Assert.Equal(Fields, pairs.Select(p => (string)p.Key!));
            entries.Add(pairs.ToDictionary(p => (string)p.Key!, p => p.Value));
        }
        return ((string)page[0]!, entries);
    }

    private static object Bool(bool value, int protocol) => protocol == 3 ? value : value ? 1L : 0L;

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Lists_each_timer_of_the_selected_db_in_the_clients_protocol(int protocol)
    {
        string p = Unique("list");
        using var c = await fx.ConnectAsync();
        if (protocol == 3) Assert.StartsWith("%", await c.CallAsync("HELLO", "3"));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", $"{p}:once", "rt_count", "600000", "1", $"{p}:n", "extra"));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", $"{p}:loop", "rt_log", "300000", "LOOP", "0"));
        Assert.Equal("+OK\r\n", await c.CallAsync("SELECT", "1"));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", $"{p}:db1", "rt_count", "600000", "0"));
        Assert.Equal("+OK\r\n", await c.CallAsync("SELECT", "0"));

        var (cursor, entries) = await PageAsync(c, protocol, "MATCH", $"{p}:*", "COUNT", "1000");
        Assert.Equal("0", cursor);
        Assert.Equal([$"{p}:loop", $"{p}:once"], entries.Select(e => (string)e["id"]!).Order());
        var once = entries.Single(e => (string)e["id"]! == $"{p}:once");
        Assert.Equal("rt_count", once["function"]);
        Assert.Equal(600000L, once["interval"]);
        Assert.Equal(Bool(false, protocol), once["loop"]);
        Assert.InRange((long)once["remaining"]!, 500_000, 600_000);
        Assert.Equal(0L, once["runs_ok"]);
        Assert.Equal(0L, once["runs_failed"]);
        Assert.Null(once["last_run"]);
        Assert.Null(once["last_lateness"]);
        Assert.Null(once["last_error"]);
        var loop = entries.Single(e => (string)e["id"]! == $"{p}:loop");
        Assert.Equal("rt_log", loop["function"]);
        Assert.Equal(Bool(true, protocol), loop["loop"]);
        Assert.InRange((long)loop["remaining"]!, 200_000, 300_000);

        // The db the client selected, inside a transaction, in order with what is pipelined around it.
        Assert.Equal("+OK\r\n", await c.CallAsync("SELECT", "1"));
        Assert.Equal([$"{p}:db1"], (await PageAsync(c, protocol, "MATCH", $"{p}:*")).Entries.Select(e => e["id"]));
        Assert.Equal("+OK\r\n", await c.CallAsync("SELECT", "0"));
        Assert.Equal("+OK\r\n", await c.CallAsync("MULTI"));
        Assert.Equal("+QUEUED\r\n", await c.CallAsync("TIMER.LIST", "match", $"{p}:o*", "count", "50"));
        Assert.Equal("+QUEUED\r\n", await c.CallAsync("TIMER.LIST", "COUNT", "0"));
        var exec = Assert.IsType<List<object?>>(RespText.Parse(await c.CallAsync("EXEC")));
        Assert.Equal([$"{p}:once"], Page(exec[0], protocol).Entries.Select(e => e["id"]));
        Assert.Equal(new RespText.Error("ERR syntax error"), exec[1]);
        await c.SendAsync([.. RawClient.Command("PING"), .. RawClient.Command("TIMER.LIST", "MATCH", $"{p}:l*"), .. RawClient.Command("ECHO", "e")]);
        Assert.Equal("+PONG\r\n", await c.ReadReplyAsync());
        Assert.Equal([$"{p}:loop"], Page(RespText.Parse(await c.ReadReplyAsync()), protocol).Entries.Select(e => e["id"]));
        Assert.Equal("$1\r\ne\r\n", await c.ReadReplyAsync());

        // A killed timer is listed no more.
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.KILL", $"{p}:loop"));
        Assert.Equal([$"{p}:once"], (await PageAsync(c, protocol, "MATCH", $"{p}:*")).Entries.Select(e => e["id"]));
    }

    [Theory]
    [InlineData(new[] { "COUNT" }, "-ERR syntax error\r\n")]
    [InlineData(new[] { "COUNT", "0" }, "-ERR syntax error\r\n")]
    [InlineData(new[] { "COUNT", "-3" }, "-ERR syntax error\r\n")]
    [InlineData(new[] { "COUNT", "ten" }, "-ERR value is not an integer or out of range\r\n")]
    [InlineData(new[] { "CURSOR", "abc" }, "-ERR invalid cursor\r\n")]
    [InlineData(new[] { "CURSOR", "-1" }, "-ERR invalid cursor\r\n")]
    [InlineData(new[] { "CURSOR", "18446744073709551616" }, "-ERR invalid cursor\r\n")]
    [InlineData(new[] { "TYPE", "hash" }, "-ERR syntax error\r\n")]
    [InlineData(new[] { "MATCH" }, "-ERR syntax error\r\n")]
    public async Task Bad_options_get_SCANs_errors(string[] options, string error)
    {
        using var c = await fx.ConnectAsync();
        Assert.Equal(error, await c.CallAsync(["TIMER.LIST", .. options]));
        Assert.Equal("+PONG\r\n", await c.CallAsync("PING"));
    }

    [Fact]
    public async Task Pages_through_thousands_of_timers_at_most_a_bounded_page_at_a_time_while_they_change()
    {
        const int total = 2500;
        string p = Unique("pages");
        using var c = await fx.ConnectAsync();
        Assert.Equal("+OK\r\n", await c.CallAsync("SELECT", "5"));
        var create = new List<byte>();
        for (int i = 0; i < total; i++) create.AddRange(RawClient.Command("TIMER.NEW", $"{p}:{i}", "rt_count", "600000", "0"));
        await c.SendAsync([.. create]);
        for (int i = 0; i < total; i++) Assert.Equal(":1\r\n", await c.ReadReplyAsync());

        // A COUNT above the cap (100) is the cap: one call never walks all 2500.
        var first = await PageAsync(c, 2, "COUNT", "100000");
        Assert.NotEqual("0", first.Cursor);
        Assert.InRange(first.Entries.Count, 1, 200);

        // While paging, timers are killed and created: those present throughout are all listed (SCAN's guarantee).
        var seen = new HashSet<string>();
        string cursor = "0";
        int pages = 0;
        do
        {
            var page = await PageAsync(c, 2, "CURSOR", cursor, "COUNT", "1000", "MATCH", $"{p}:*");
            foreach (var e in page.Entries) seen.Add((string)e["id"]!);
            cursor = page.Cursor;
            Assert.Equal(":1\r\n", await c.CallAsync("TIMER.KILL", $"{p}:{pages}"));
            Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", $"{p}:new{pages}", "rt_count", "600000", "0"));
            pages++;
        }
        while (cursor != "0");
        Assert.InRange(pages, 8, 30);
        var missing = Enumerable.Range(pages, total - pages).Select(i => $"{p}:{i}").Where(id => !seen.Contains(id)).ToList();
        Assert.Empty(missing);
        Assert.Equal("+OK\r\n", await c.CallAsync("FLUSHDB"));
    }

    [Fact]
    public async Task A_loop_timer_counts_its_runs_and_keeps_its_last_outcome()
    {
        string p = Unique("outcome");
        using var c = await fx.ConnectAsync();
        long startMs = await ServerTimeUsAsync(c) / 1000;
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", $"{p}:ok", "rt_count", "50", "LOOP", "1", $"{p}:n"));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", $"{p}:bad", "rt_fail", "50", "LOOP", "0"));

        Dictionary<string, object?> ok = [], bad = [];
        await TimerFixture.WaitUntilAsync(async () =>
        {
            var entries = (await PageAsync(c, 2, "MATCH", $"{p}:*")).Entries;
            ok = entries.Single(e => (string)e["id"]! == $"{p}:ok");
            bad = entries.Single(e => (string)e["id"]! == $"{p}:bad");
            return (long)ok["runs_ok"]! >= 3 && (long)bad["runs_failed"]! >= 3;
        }, because: "both run three times");
        long nowMs = await ServerTimeUsAsync(c) / 1000;

        Assert.Equal(0L, ok["runs_failed"]);
        Assert.Null(ok["last_error"]);
        Assert.InRange((long)ok["last_run"]!, startMs, nowMs);
        Assert.True((long)ok["last_lateness"]! >= 0);
        // Each run counted once: the function's own count is at least the runs counted before it was read.
        Assert.True(long.Parse(TimerFixture.ParseBulkArray("*1\r\n" + await c.CallAsync("GET", $"{p}:n"))[0]) >= (long)ok["runs_ok"]!);

        Assert.Equal(0L, bad["runs_ok"]);
        Assert.Equal("ERR rt_fail says no", bad["last_error"]);
        Assert.InRange((long)bad["last_run"]!, startMs, nowMs);

        // TIMER.INFO stays the module's reply, whatever else the timer's hash holds now.
        Assert.StartsWith("*8\r\n$8\r\nfunction\r\n$7\r\nrt_fail\r\n$8\r\ninterval\r\n:50\r\n$9\r\nremaining\r\n",
            await c.CallAsync("TIMER.INFO", $"{p}:bad"));
        // A reset starts the count afresh: it is another timer.
        Assert.Equal(":0\r\n", await c.CallAsync("TIMER.NEW", $"{p}:ok", "rt_count", "600000", "LOOP", "1", $"{p}:n"));
        var reset = (await PageAsync(c, 2, "MATCH", $"{p}:ok")).Entries.Single();
        Assert.Equal(0L, reset["runs_ok"]);
        Assert.Null(reset["last_run"]);
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.KILL", $"{p}:bad"));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.KILL", $"{p}:ok"));
    }

    [Fact]
    public async Task A_failed_fire_is_kept_in_the_dbs_list_of_recent_failures_for_a_day()
    {
        string p = Unique("failed");
        using var c = await fx.ConnectAsync();
        Assert.Equal("+OK\r\n", await c.CallAsync("SELECT", "7"));
        long startMs = await ServerTimeUsAsync(c) / 1000;
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", $"{p}:once", "rt_fail", "10", "0"));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", $"{p}:fine", "rt_count", "10", "1", $"{p}:n"));
        await TimerFixture.WaitUntilAsync(async () => await c.CallAsync("EXISTS", $"{p}:once", $"{p}:fine") == ":0\r\n", because: "both fire");
        // The record follows the fire's EXEC.
        await TimerFixture.WaitUntilAsync(async () => (await c.CallAsync("LRANGE", "timer-tzw:failed", "0", "-1")).Contains(p),
            because: "the failure is recorded");

        var entries = TimerFixture.ParseBulkArray(await c.CallAsync("LRANGE", "timer-tzw:failed", "0", "-1"))
            .Select(j => JsonDocument.Parse(j).RootElement).Where(e => e.GetProperty("id").GetString()!.StartsWith(p)).ToList();
        var failure = Assert.Single(entries); // the one that succeeded is not there
        Assert.Equal($"{p}:once", failure.GetProperty("id").GetString());
        Assert.Equal("rt_fail", failure.GetProperty("function").GetString());
        Assert.Equal("ERR rt_fail says no", failure.GetProperty("error").GetString());
        Assert.InRange(failure.GetProperty("at").GetInt64(), startMs, startMs + 60_000);
        Assert.True(failure.GetProperty("lateness").GetInt64() >= 0);
        long ttl = long.Parse((await c.CallAsync("TTL", "timer-tzw:failed"))[1..^2]);
        Assert.InRange(ttl, 86_000, 86_400);
    }

    [Fact]
    public async Task The_failures_list_keeps_the_latest_hundred()
    {
        string p = Unique("hundred");
        using var c = await fx.ConnectAsync();
        Assert.Equal("+OK\r\n", await c.CallAsync("SELECT", "8"));
        long errorsBefore = await FireErrorsAsync(c);
        var create = new List<byte>();
        for (int i = 0; i < 150; i++) create.AddRange(RawClient.Command("TIMER.NEW", $"{p}:{i}", "rt_fail", "10", "0"));
        await c.SendAsync([.. create]);
        for (int i = 0; i < 150; i++) Assert.Equal(":1\r\n", await c.ReadReplyAsync());
        // A fire is counted once what it came to is written (the record follows the fire's EXEC): then all 150 are in.
        await TimerFixture.WaitUntilAsync(async () => await FireErrorsAsync(c) >= errorsBefore + 150, because: "all 150 fire and fail");
        Assert.Equal(":1\r\n", await c.CallAsync("DBSIZE"));
        Assert.Equal(":100\r\n", await c.CallAsync("LLEN", "timer-tzw:failed"));
    }

    private static async Task<long> FireErrorsAsync(RawClient c)
    {
        var stats = Assert.IsType<List<object?>>(RespText.Parse(await c.CallAsync("TIMER.STATS")));
        int at = stats.IndexOf("timer_fire_errors");
        Assert.True(at >= 0);
        return Convert.ToInt64(stats[at + 1]);
    }
}
