using System.Globalization;
using System.Text;
using Microsoft.Extensions.Options;
using RedisTimer.Proxy.Hosting;
using RedisTimer.Proxy.Scheduling;
using RedisTimer.Proxy.Tests.Infrastructure;
using RedisTimer.Proxy.Timers;
using RedisTimer.Proxy.Upstream;
using StackExchange.Redis;

namespace RedisTimer.Proxy.Tests.Scheduling;

/// <summary>
/// One fire transaction against a real redis-server, with timers stored as the library stores them: each
/// timer's replies become its outcome (fired, fired with the function's error, stale), and Redis shows the
/// claim (a one-shot timer gone, a LOOP timer re-armed) and that each user function ran exactly once.
/// </summary>
public sealed class FireConnectionTests : IAsyncLifetime
{
    // ft_push appends its argument to its key, so a run shows as one list element; ft_boom fails.
    private const string UserLibrary = """
        #!lua name=firetest
        redis.register_function('ft_push', function(keys, args) return redis.call('RPUSH', keys[1], args[1]) end)
        redis.register_function('ft_boom', function(keys, args) return redis.error_reply('ERR boom') end)
        """;

    // A timer hash as timer_new writes it (docs/STORAGE.md): tag, due, ver, def = cmsgpack {fn, iv, loop, numkeys,
    // keys.., args..}, and its entry in the index. ARGV: due, ver, then the definition's fields.
    private const string CreateTimer = """
        local d = {}
        for i = 3, #ARGV do d[#d + 1] = ARGV[i] end
        redis.call('HSET', KEYS[1], KEYS[3], '1', 'due', ARGV[1], 'ver', ARGV[2], 'def', cmsgpack.pack(d))
        redis.call('ZADD', KEYS[2], ARGV[1], KEYS[1])
        """;

    private RedisServer _redis = null!;
    private ConnectionMultiplexer _mux = null!;
    private FireConnection _fire = null!;

    public async Task InitializeAsync()
    {
        _redis = new RedisServer();
        _mux = await ConnectionMultiplexer.ConnectAsync(_redis.Endpoint);
        await _mux.GetDatabase().ExecuteAsync("FUNCTION", "LOAD", UserLibrary);
        var endpoint = new UpstreamEndpoint();
        endpoint.Set(UpstreamSettings.Parse(new ProxyOptions(), _redis.Endpoint));
        // No epoll transport: the connection runs on .NET sockets.
        _fire = new FireConnection(new UpstreamConnector(endpoint, epoll: null));
    }

    public async Task DisposeAsync()
    {
        await _fire.DisposeAsync();
        await _mux.DisposeAsync();
        _redis.Dispose();
    }

    private static async Task CreateAsync(IDatabase db, string id, double dueMs, string version, string fn, long intervalMs, bool loop,
        string[] keys, string[] args) =>
        await db.ScriptEvaluateAsync(CreateTimer, [id, TimerSchema.IndexKey, TimerSchema.Tag],
            [dueMs.ToString("F3", CultureInfo.InvariantCulture), version, fn, intervalMs.ToString(CultureInfo.InvariantCulture), loop ? "1" : "0",
             keys.Length.ToString(CultureInfo.InvariantCulture), .. keys.Select(k => (RedisValue)k), .. args.Select(a => (RedisValue)a)]);

    /// <summary>The timer as the scheduler holds it, read from its hash as the loader reads it.</summary>
    private static async Task<ScheduledTimer> LoadAsync(IDatabase db, int dbNumber, string id)
    {
        var (loaded, timer) = await TimerLoader.LoadAsync(db, dbNumber, id);
        Assert.Equal(TimerLoader.Loaded.Timer, loaded);
        return timer;
    }

    private static async Task<double> ServerNowMsAsync(IDatabase db)
    {
        var time = (RedisValue[])(await db.ExecuteAsync("TIME"))!;
        return (long)time[0] * 1000.0 + (long)time[1] / 1000.0;
    }

    private static async Task<string[]> ListAsync(IDatabase db, string key) =>
        (await db.ListRangeAsync(key)).Select(v => (string)v!).ToArray();

    [Fact]
    public async Task A_mixed_batch_gets_each_timers_outcome_in_order_and_Redis_shows_each_fire_once()
    {
        var db = _mux.GetDatabase();
        double now = await ServerNowMsAsync(db);
        double due = now - 5;
        await CreateAsync(db, "once", due, "1000001", "ft_push", 60_000, loop: false, ["out:once"], ["once ran"]);
        await CreateAsync(db, "fails", due, "1000002", "ft_boom", 60_000, loop: false, [], []);
        await CreateAsync(db, "changed", due, "1000003", "ft_push", 60_000, loop: false, ["out:changed"], ["changed ran"]);
        await CreateAsync(db, "gone", due, "1000004", "ft_push", 60_000, loop: false, ["out:gone"], ["gone ran"]);
        await CreateAsync(db, "loop", due, "1000005", "ft_push", 5_000, loop: true, ["out:loop"], ["loop ran"]);
        var timers = new List<ScheduledTimer>();
        foreach (var id in new[] { "once", "fails", "changed", "gone", "loop" }) timers.Add(await LoadAsync(db, 0, id));
        // After the scheduler loaded them: one is changed (a reset writes a new version), one is deleted.
        await db.HashSetAsync("changed", "ver", "2000003");
        await db.KeyDeleteAsync("gone");

        var outcomes = (await _fire.FireAsync(0, timers, now, CancellationToken.None)).ToArray();

        Assert.Equal(5, outcomes.Length);
        Assert.Equal(FireResult.Fired, outcomes[0].Result);
        Assert.Null(outcomes[0].FunctionError);
        Assert.True(outcomes[0].Rearmed.IsEmpty); // a one-shot timer is not re-armed
        Assert.Equal(FireResult.FiredWithFunctionError, outcomes[1].Result);
        Assert.Equal("ERR boom", outcomes[1].FunctionError);
        Assert.Equal(FireResult.Stale, outcomes[2].Result);
        Assert.Equal(FireResult.Stale, outcomes[3].Result);
        Assert.Equal(FireResult.Fired, outcomes[4].Result);
        Assert.Null(outcomes[4].FunctionError);

        // One-shot timers were claimed (hash and index entry gone), also the one whose function failed.
        foreach (var id in new[] { "once", "fails" })
        {
            Assert.False(await db.KeyExistsAsync(id), $"{id} still exists");
            Assert.Null(await db.SortedSetScoreAsync(TimerSchema.IndexKey, id));
        }
        Assert.Equal(["once ran"], await ListAsync(db, "out:once"));

        // The changed timer did not fire and is as it was changed: its new version, still indexed at its due time.
        Assert.Empty(await ListAsync(db, "out:changed"));
        Assert.Equal("2000003", (string?)await db.HashGetAsync("changed", "ver"));
        Assert.Equal(due, (await db.SortedSetScoreAsync(TimerSchema.IndexKey, "changed"))!.Value, 3);
        // The deleted one did not fire, and was not written back.
        Assert.Empty(await ListAsync(db, "out:gone"));
        Assert.False(await db.KeyExistsAsync("gone"));

        // The LOOP timer fired once and was re-armed: a new version, due an interval after now, in Redis as held.
        Assert.Equal(["loop ran"], await ListAsync(db, "out:loop"));
        var rearmed = outcomes[4].Rearmed;
        Assert.False(rearmed.IsEmpty);
        Assert.Equal("loop", rearmed.IdText);
        Assert.True(rearmed.Loop);
        Assert.Equal(now + 5_000, rearmed.DueMs, 3);
        string newVersion = Encoding.UTF8.GetString(rearmed.Version);
        Assert.NotEqual("1000005", newVersion);
        Assert.True(rearmed.Definition.SequenceEqual(timers[4].Definition), "the re-armed timer runs another definition");
        Assert.Equal(newVersion, (string?)await db.HashGetAsync("loop", "ver"));
        Assert.Equal(now + 5_000, double.Parse((string)(await db.HashGetAsync("loop", "due"))!, CultureInfo.InvariantCulture), 3);
        Assert.Equal(now + 5_000, (await db.SortedSetScoreAsync(TimerSchema.IndexKey, "loop"))!.Value, 3);
    }

    [Fact]
    public async Task A_timer_fired_and_fired_again_in_its_old_version_runs_once()
    {
        // Another proxy's fire (or this one's, retried) changed or deleted the timer: the second fire finds it stale.
        var db = _mux.GetDatabase();
        double now = await ServerNowMsAsync(db);
        await CreateAsync(db, "once", now - 5, "1000001", "ft_push", 60_000, loop: false, ["out:once"], ["once ran"]);
        await CreateAsync(db, "loop", now - 5, "1000002", "ft_push", 60_000, loop: true, ["out:loop"], ["loop ran"]);
        List<ScheduledTimer> timers = [await LoadAsync(db, 0, "once"), await LoadAsync(db, 0, "loop")];

        var first = (await _fire.FireAsync(0, timers, now, CancellationToken.None)).ToArray();
        var second = (await _fire.FireAsync(0, timers, now, CancellationToken.None)).ToArray();

        Assert.Equal([FireResult.Fired, FireResult.Fired], first.Select(o => o.Result));
        Assert.Equal([FireResult.Stale, FireResult.Stale], second.Select(o => o.Result));
        Assert.Equal(["once ran"], await ListAsync(db, "out:once"));
        Assert.Equal(["loop ran"], await ListAsync(db, "out:loop"));
        // The stale second fire left the re-armed LOOP timer as the first fire wrote it.
        Assert.Equal(Encoding.UTF8.GetString(first[1].Rearmed.Version), (string?)await db.HashGetAsync("loop", "ver"));
    }

    [Fact]
    public async Task Timers_of_another_database_are_checked_and_fired_in_that_database()
    {
        var db0 = _mux.GetDatabase(0);
        var db3 = _mux.GetDatabase(3);
        double now = await ServerNowMsAsync(db3);
        await CreateAsync(db3, "t", now - 5, "1000001", "ft_push", 60_000, loop: false, ["out:t"], ["in db 3"]);
        // The same id in db 0, in another version: firing db 3's must neither find nor touch it.
        await CreateAsync(db0, "t", now - 5, "9000001", "ft_push", 60_000, loop: false, ["out:t"], ["in db 0"]);
        List<ScheduledTimer> timers = [await LoadAsync(db3, 3, "t")];

        var outcomes = (await _fire.FireAsync(3, timers, now, CancellationToken.None)).ToArray();

        Assert.Equal(FireResult.Fired, Assert.Single(outcomes).Result);
        Assert.Equal(["in db 3"], await ListAsync(db3, "out:t"));
        Assert.False(await db3.KeyExistsAsync("t"));
        Assert.Empty(await ListAsync(db0, "out:t"));
        Assert.Equal("9000001", (string?)await db0.HashGetAsync("t", "ver"));
    }
}
