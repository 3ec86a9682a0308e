using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using RedisTimer.Proxy.Upstream;
using StackExchange.Redis;

namespace RedisTimer.Proxy.Scheduling;

/// <summary>
/// Takes the due timers from the <see cref="DueQueue"/> in batches and fires them on the <see cref="FireConnection"/>;
/// a batch whose fate is unknown (Redis down, refusing, loading) goes back to the queue, to be checked and fired again.
/// </summary>
internal sealed class FireLoop(FireConnection fire, DueQueue queue, FireAccounting accounting, ServerClock clock, TimerOptions options,
    FireLease lease, Func<bool> failingOver, Wakeup wake, ILogger logger)
{
    // The last stretch before a due time is slept in short slices, so a timer that arrives meanwhile with an
    // even earlier due time waits at most one slice.
    private const double PreciseWaitMs = 2;
    private static readonly TimeSpan PreciseSlice = TimeSpan.FromMicroseconds(200);

    public async Task RunAsync(CancellationToken stop)
    {
        int failures = 0;
        await fire.OpenAsync(stop);
        var due = new List<ScheduledTimer>(options.FireBatchSize);
        while (!stop.IsCancellationRequested)
        {
            // Another proxy fires; this one keeps its queue current, to take over at once when the lease comes to it.
            if (!lease.IsHeld)
            {
                accounting.FlushFailureLog();
                await wake.WaitAsync(1000, stop);
                continue;
            }
            // A failover under way: the master may already be a replica-to-be whose fires would be lost, and repeated.
            if (failingOver())
            {
                await wake.WaitAsync(10, stop);
                continue;
            }
            queue.TakeDue(clock.NowMs, options.FireBatchSize, due);
            if (due.Count == 0)
            {
                accounting.FlushFailureLog();
                // Timed waits are only as fine as the OS timer (about a millisecond, more under load): wait
                // until shortly before the next due time, then sleep precisely. The fire connection continues on
                // a thread of the scheduler's own, so the short sleeps there hold up no client.
                double? next = queue.NextDueMs();
                double ahead = next is null ? 1000 : Math.Min(next.Value - clock.NowMs, 1000);
                if (ahead >= PreciseWaitMs + 1) await wake.WaitAsync((int)(ahead - PreciseWaitMs), stop);
                else if (ahead > 0) PreciseSleep.For(TimeSpan.FromMilliseconds(Math.Min(ahead, PreciseSlice.TotalMilliseconds)));
                continue;
            }
            foreach (var (db, timers) in ByDatabase(due))
            {
                try
                {
                    double sentAt = clock.NowMs;
                    long started = System.Diagnostics.Stopwatch.GetTimestamp();
                    var outcomes = await fire.FireAsync(db, timers, sentAt, stop);
                    accounting.Account(timers, outcomes, sentAt, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds);
                    failures = 0;
                    if (fire.LastWaitShortfall is { } shortfall) ReportShortfall(timers.Count, db, shortfall);
                    if (fire.LastOutcomeWriteError is { } unkept) accounting.OutcomesNotKept(timers.Count, db, unkept);
                }
                catch (ReplicasBehindException e)
                {
                    // Nothing fired: firing waits for the replicas (the WAIT itself waited), as Redis's
                    // min-replicas-to-write refuses writes.
                    PutBack(timers);
                    ReportShortfall(0, db, e.Message);
                    await Task.Delay(100, stop);
                }
                catch (RedisServerException e) when (RedisLoading.Is(e))
                {
                    // Redis restarted and is loading: these fire as soon as it is done (reconciliation logs it).
                    PutBack(timers);
                    await Task.Delay(RedisLoading.RetryEvery, stop);
                }
                catch (UpstreamUnavailableException e) when (e.InnerException is SocketException)
                {
                    // Redis takes no connections (down, restarting): a wait, as LOADING is, not a failure to back off
                    // from. A refused connect costs nothing, and the timers that fell due meanwhile then fire as soon as
                    // Redis is back, not when a back-off ends (up to 5 s later: 4.6-4.7 s after the 6.5 s outage of
                    // RedisRestartDrillTests, 15-100 ms now).
                    PutBack(timers);
                    ReportUnreachable(timers.Count, db, e.Message);
                    await Task.Delay(UnreachableRetry, stop);
                }
                catch (Exception e) when (e is IOException or RedisException or UpstreamUnavailableException or InvalidDataException
                                              or TimeoutException)
                {
                    // Unknown whether they fired: put them back. Those that did have a new version (or are
                    // gone) now, so the next attempt's check leaves them out. Back off while it keeps failing
                    // (Redis down, or refusing the transaction: OOM, MISCONF).
                    failures++;
                    var delay = TimeSpan.FromMilliseconds(Math.Min(200 * (1 << Math.Min(failures - 1, 5)), 5000));
                    logger.FiringFailed(timers.Count, db, e.Message, delay.TotalMilliseconds);
                    PutBack(timers);
                    await Task.Delay(delay, stop);
                }
            }
        }
    }

    private long? _shortfallLoggedAt;
    private int _shortfalls;

    // Replicas down means every fire falls short: a line every 10 s, with the count, not one per batch.
    private void ReportShortfall(int count, int db, string shortfall)
    {
        _shortfalls++;
        long now = Environment.TickCount64;
        if (now - _shortfallLoggedAt < 10_000) return; // null: never logged
        logger.FireNotReplicated(count, db, shortfall, _shortfalls);
        _shortfallLoggedAt = now;
        _shortfalls = 0;
    }

    private void PutBack(List<ScheduledTimer> timers)
    {
        foreach (var t in timers) queue.Upsert(t);
    }

    private static readonly TimeSpan UnreachableRetry = TimeSpan.FromMilliseconds(100);
    private long? _unreachableLoggedAt;

    // Tried ten times a second while Redis is down: a line every 5 s, not one per try.
    private void ReportUnreachable(int count, int db, string error)
    {
        long now = Environment.TickCount64;
        if (now - _unreachableLoggedAt < 5_000) return; // null: never logged
        logger.FiringFailed(count, db, error, UnreachableRetry.TotalMilliseconds);
        _unreachableLoggedAt = now;
    }

    // Nearly always one database: then no grouping (it allocated more than the rest of a small fire).
    private static IEnumerable<(int Db, List<ScheduledTimer> Timers)> ByDatabase(List<ScheduledTimer> due)
    {
        int db = due[0].Db;
        bool one = true;
        foreach (var t in due) one &= t.Db == db;
        return one ? [(db, due)] : due.GroupBy(t => t.Db).Select(g => (g.Key, g.ToList()));
    }
}
