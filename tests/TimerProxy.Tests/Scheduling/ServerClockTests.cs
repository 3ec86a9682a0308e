using System.Diagnostics;
using RedisTimer.Proxy.Scheduling;
using RedisTimer.Proxy.Tests.Infrastructure;
using StackExchange.Redis;

namespace RedisTimer.Proxy.Tests.Scheduling;

/// <summary>
/// The clock's estimate of Redis's time against a real redis-server: never ahead of it (a timer must not fire
/// before its due time), also when a sync's TIME waited behind a busy connection, and not far behind it either.
/// </summary>
public class ServerClockTests
{
    // TIME answers in whole µs (truncated), NowMs has a fraction of them.
    private const double RoundingMs = 0.01;
    // Far more than any round trip here, even on a loaded machine; far less than a broken estimate would be off.
    private const double MostBehindMs = 2000;

    private static double ServerMs(RedisResult time)
    {
        var parts = (RedisValue[])time!;
        return (long)parts[0] * 1000.0 + (long)parts[1] / 1000.0;
    }

    /// <summary>How far the clock's estimate read just before sending TIME is behind the server time in TIME's
    /// reply: Redis read its clock after the estimate was read, so an estimate that never runs ahead is behind.</summary>
    private static async Task<double> BehindMsAsync(ServerClock clock, IDatabase db)
    {
        double estimate = clock.NowMs;
        var time = await db.ExecuteAsync("TIME");
        return ServerMs(time) - estimate;
    }

    [Fact]
    public async Task After_a_sync_the_estimate_is_never_ahead_of_Redis_and_not_far_behind()
    {
        using var redis = new RedisServer();
        await using var mux = await ConnectionMultiplexer.ConnectAsync(redis.Endpoint);
        var db = mux.GetDatabase();
        var clock = new ServerClock();
        await clock.SyncAsync(db);
        for (int i = 0; i < 20; i++)
        {
            double behind = await BehindMsAsync(clock, db);
            Assert.True(behind >= -RoundingMs, $"check {i}: the estimate ran {-behind:F3} ms ahead of Redis");
            Assert.True(behind < MostBehindMs, $"check {i}: the estimate is {behind:F3} ms behind Redis");
        }
    }

    [Fact]
    public async Task A_sync_whose_TIME_waited_behind_a_busy_connection_does_not_run_the_estimate_ahead()
    {
        using var redis = new RedisServer("--enable-debug-command", "yes");
        await using var mux = await ConnectionMultiplexer.ConnectAsync(redis.Endpoint);
        var db = mux.GetDatabase();
        using var busy = await RawClient.ConnectAsync(redis.Port);
        var clock = new ServerClock();

        // Redis is busy for 300 ms when the sync's first TIME arrives: it is answered at once when Redis is free,
        // so Redis read its clock ~300 ms after the request left. A midpoint of that round trip would be ~150 ms
        // ahead. The DEBUG SLEEP was written (on loopback: delivered) before the sync sent anything, so Redis
        // runs it first.
        await busy.SendAsync(RawClient.Command("DEBUG", "SLEEP", "0.3"));
        var took = Stopwatch.StartNew();
        await clock.SyncAsync(db);
        took.Stop();
        Assert.True(took.ElapsedMilliseconds >= 250, $"the sync took {took.ElapsedMilliseconds} ms: its TIME did not wait behind DEBUG SLEEP");
        Assert.Equal("+OK\r\n", await busy.ReadReplyAsync());

        for (int i = 0; i < 5; i++)
        {
            double behind = await BehindMsAsync(clock, db);
            Assert.True(behind >= -RoundingMs, $"check {i}: the estimate ran {-behind:F3} ms ahead of Redis");
            Assert.True(behind < MostBehindMs, $"check {i}: the estimate is {behind:F3} ms behind Redis");
        }
    }

    [Fact]
    public async Task A_delayed_sync_after_a_good_one_keeps_the_estimate_not_ahead_of_Redis()
    {
        // The clock keeps the best lower bound it has seen; a later, worse sample must not move it ahead either.
        using var redis = new RedisServer("--enable-debug-command", "yes");
        await using var mux = await ConnectionMultiplexer.ConnectAsync(redis.Endpoint);
        var db = mux.GetDatabase();
        using var busy = await RawClient.ConnectAsync(redis.Port);
        var clock = new ServerClock();
        await clock.SyncAsync(db);

        await busy.SendAsync(RawClient.Command("DEBUG", "SLEEP", "0.3"));
        var took = Stopwatch.StartNew();
        await clock.SyncAsync(db);
        took.Stop();
        Assert.True(took.ElapsedMilliseconds >= 250, $"the sync took {took.ElapsedMilliseconds} ms: its TIME did not wait behind DEBUG SLEEP");
        Assert.Equal("+OK\r\n", await busy.ReadReplyAsync());

        double behind = await BehindMsAsync(clock, db);
        Assert.True(behind >= -RoundingMs, $"the estimate ran {-behind:F3} ms ahead of Redis");
        Assert.True(behind < MostBehindMs, $"the estimate is {behind:F3} ms behind Redis");
    }
}
