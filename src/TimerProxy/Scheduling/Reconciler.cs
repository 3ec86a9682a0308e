using Microsoft.Extensions.Logging;
using RedisTimer.Proxy.Timers;
using RedisTimer.Proxy.Upstream;
using StackExchange.Redis;

namespace RedisTimer.Proxy.Scheduling;

/// <summary>
/// Reads each database's index again every interval, to hold what entered the window and repair what events missed
/// (and to sync the clock and check the library). With no timers left anywhere it goes idle: no polling until a
/// change event or a timer command wakes it.
/// </summary>
internal sealed class Reconciler(TimerLibrary library, TimerLoader loader, DueQueue queue, TimerDatabases databases, ChangeFeed feed,
    ServerClock clock, TimerOptions options, Wakeup wake, Action wentIdle, Action activeAgain, ILogger logger)
{
    // Reading the whole window every second costs Redis (and so the fires waiting behind it) milliseconds
    // when it holds tens of thousands of timers: a pass reads what entered the window since the last pass,
    // plus what is overdue; every tenth pass reads the whole window.
    private const int FullPassEvery = 10;
    private long _passes;
    private readonly Dictionary<int, double> _reconciledTo = new();

    /// <summary>Completed passes; the fire loop re-reads a stale timer at most once per pass.</summary>
    public long Passes => Interlocked.Read(ref _passes);

    public async Task RunAsync(ConnectionMultiplexer mux, CancellationToken stop)
    {
        bool loading = false, unreachable = false, idle = false;
        int emptyPasses = 0;
        while (!stop.IsCancellationRequested)
        {
            long eventsBefore = feed.EventsSeen;
            bool anyTimers;
            try
            {
                anyTimers = await PassAsync(mux);
            }
            catch (RedisServerException e) when (RedisLoading.Is(e))
            {
                if (!loading) logger.LogInformation("Redis is loading its dataset; timers wait until it is done");
                loading = true;
                await Task.Delay(RedisLoading.RetryEvery, stop);
                continue;
            }
            catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException)
            {
                // Redis is down or restarting: said once, without a stack trace; the control plane reconnects.
                if (!unreachable) logger.LogWarning("Redis cannot be reached ({Error}); timers wait until it can", e.Message);
                unreachable = true;
                await Task.Delay(options.ReconcileIntervalMs, stop);
                continue;
            }
            if (loading) logger.LogInformation("Redis has loaded its dataset; timers resume");
            if (unreachable) logger.LogInformation("Redis can be reached again; timers resume");
            loading = unreachable = false;
            bool empty = !anyTimers && queue.Count == 0 && feed.EventsSeen == eventsBefore;
            // Woken while idle by an event (a timer created by another proxy, or by this one's TIMER.NEW sent just
            // before going idle): timers exist without a timer command having activated the scheduler, so it takes
            // the lease and fires again (else they would wait for the next timer command this proxy gets).
            if (idle && !empty)
            {
                activeAgain();
                idle = false;
            }
            // Idle only after two empty passes an interval apart: a timer command that woke us creates its timer
            // just after the library is loaded, maybe after the first pass looked.
            emptyPasses = empty ? emptyPasses + 1 : 0;
            if (emptyPasses >= 2)
            {
                // Nothing to watch: stay silent until an event or a timer command wakes us. The next
                // timer command loads the library again (it may be gone by then: FUNCTION FLUSH, a
                // restart without persistence), and keyspace commands pass unchanged meanwhile.
                wentIdle();
                // A timer whose TIMER.NEW went out just before (timers were active: it woke nothing) and whose event
                // was missed (the subscription still reconnecting after a Redis restart) would wait for the next timer
                // command: one more look, now that timer commands wake the scheduler again.
                if (await AnyIndexAsync(mux))
                {
                    activeAgain();
                    emptyPasses = 0;
                    continue;
                }
                logger.LogInformation("No timers left; the scheduler is idle");
                idle = true;
                feed.ReconcileIdle = true;
                if (feed.EventsSeen == eventsBefore) await wake.WaitAsync(stop);
                feed.ReconcileIdle = false;
                emptyPasses = 0;
                continue;
            }
            Interlocked.Increment(ref _passes);
            await wake.WaitAsync(options.ReconcileIntervalMs, stop);
        }
    }

    /// <summary>One pass over every database with timers; false when there is none.</summary>
    private async Task<bool> PassAsync(ConnectionMultiplexer mux)
    {
        var db0 = mux.GetDatabase();
        await clock.SyncAsync(db0);
        await library.RepairAsync(db0);
        bool anyTimers = false;
        foreach (int db in await DatabasesWithIndexAsync(mux))
        {
            anyTimers = true;
            try
            {
                await ReconcileDatabaseAsync(mux.GetDatabase(db), db, full: _passes % FullPassEvery == 0);
            }
            catch (Exception e) when (e is RedisException or TimeoutException && !RedisLoading.Is(e))
            {
                logger.LogWarning("Reconciling db {Db} failed: {Error}", db, e.Message);
            }
        }
        return anyTimers;
    }

    private async Task<bool> AnyIndexAsync(ConnectionMultiplexer mux)
    {
        try
        {
            return (await DatabasesWithIndexAsync(mux)).Count > 0;
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            return false; // unreachable again: the next timer command, or the reconnect, wakes the scheduler
        }
    }

    private async Task<List<int>> DatabasesWithIndexAsync(ConnectionMultiplexer mux)
    {
        var found = new List<int>();
        var keyspace = (string?)await mux.GetDatabase().ExecuteAsync("INFO", "keyspace") ?? "";
        var candidates = new SortedSet<int>();
        foreach (var line in keyspace.Split('\n'))
            if (line.StartsWith("db") && int.TryParse(line.AsSpan(2, line.IndexOf(':') - 2), out int db)) candidates.Add(db);
        databases.AddTo(candidates);
        foreach (int db in candidates)
        {
            bool exists;
            try
            {
                exists = await mux.GetDatabase(db).KeyExistsAsync(TimerSchema.IndexKey);
            }
            catch (RedisServerException e) when (e.Message.StartsWith("ERR DB index is out of range", StringComparison.Ordinal))
            {
                exists = false;
            }
            if (exists) found.Add(db);
            else databases.Forget(db);
        }
        databases.Remember(found);
        return found;
    }

    private async Task ReconcileDatabaseAsync(IDatabase db, int dbNumber, bool full)
    {
        double now = clock.NowMs;
        double horizon = now + options.WindowMs;
        IReadOnlyList<SortedSetEntry> entries;
        if (!full && _reconciledTo.TryGetValue(dbNumber, out double from) && from < horizon)
        {
            var overdue = await db.SortedSetRangeByScoreWithScoresAsync(TimerSchema.IndexKey, double.NegativeInfinity, now, take: IndexPages.PageSize);
            var entered = await IndexPages.ReadAsync(db, TimerSchema.IndexKey, from, Exclude.Start, horizon, options.MaxLoaded);
            entries = [.. overdue, .. entered];
            _reconciledTo[dbNumber] = entered.Count < options.MaxLoaded ? horizon : entered[^1].Score;
        }
        else
        {
            entries = await IndexPages.ReadAsync(db, TimerSchema.IndexKey, double.NegativeInfinity, Exclude.None, horizon, options.MaxLoaded);
            _reconciledTo[dbNumber] = entries.Count < options.MaxLoaded ? horizon : entries[^1].Score;
        }
        var missing = entries.Where(e => !queue.Contains(TimerSlot.Of(dbNumber, (byte[])e.Element!), e.Score)).ToList();
        if (missing.Count == 0) return;
        var ids = missing.Select(e => (Db: dbNumber, Id: (RedisKey)(byte[])e.Element!)).ToList();
        var gone = await loader.LoadAndApplyAsync(_ => db, ids);
        if (gone.Count > 0)
        {
            // Deleted, overwritten or expired behind the proxy's back: drop their index entries now.
            await db.ExecuteAsync("FCALL", ["timer_unindex", 1, TimerSchema.IndexKey, .. gone.Select(g => (object)(byte[])g!)]);
        }
    }
}
