using Microsoft.Extensions.Logging;
using RedisTimer.Proxy.Metrics;
using StackExchange.Redis;

namespace RedisTimer.Proxy.Scheduling;

/// <summary>What each fire came to: counted, a failing function logged (a few lines per window, then a count), a re-armed
/// LOOP timer held again, a stale one re-read.</summary>
internal sealed class FireAccounting(DueQueue queue, ChangeFeed feed, Func<long> reconcilePasses, Wakeup wakeFire, ProxyMetrics metrics,
    ILogger logger)
{
    private long _fired, _functionErrors, _staleSkipped;

    // Touched by the fire loop only.
    private readonly HashSet<TimerSlot> _rereadAfterStale = new();
    private long _rereadPass = -1;

    public long Fired => Interlocked.Read(ref _fired);
    public long FunctionErrors => Interlocked.Read(ref _functionErrors);
    public long StaleSkipped => Interlocked.Read(ref _staleSkipped);

    private readonly LogWindow _failureLog = new(5, TimeSpan.FromSeconds(10));
    private readonly LogWindow _outcomeLog = new(1, TimeSpan.FromSeconds(10));

    /// <summary>Logs how many failures went unlogged once their window has passed (the fire loop calls it when idle too).</summary>
    public void FlushFailureLog()
    {
        if (_failureLog.TakeSuppressed() is > 0 and var failures) logger.FunctionFailuresNotLogged(failures, _failureLog.Window.TotalSeconds);
        if (_outcomeLog.TakeSuppressed() is > 0 and var unkept) logger.OutcomesNotKeptAgain(unkept, _outcomeLog.Window.TotalSeconds);
    }

    /// <summary>The fire's outcomes could not be kept in Redis (<see cref="FireConnection.LastOutcomeWriteError"/>).</summary>
    public void OutcomesNotKept(int count, int db, string error)
    {
        FlushFailureLog();
        if (_outcomeLog.Admit()) logger.OutcomesNotKept(count, db, error);
    }

    /// <param name="sentAtMs">When the fire transaction was sent (Redis's clock), for each fire's lateness.</param>
    /// <param name="seconds">From sending it to its reply.</param>
    public void Account(List<ScheduledTimer> timers, ArraySegment<FireOutcome> outcomes, double sentAtMs, double seconds)
    {
        metrics.FcallDuration.Record(seconds);
        FlushFailureLog();
        bool earlier = false;
        for (int i = 0; i < timers.Count; i++)
        {
            var t = timers[i];
            var outcome = outcomes[i];
            if (outcome.Result == FireResult.Stale)
            {
                Interlocked.Increment(ref _staleSkipped);
                // What we held was outdated: reset or killed (its event is on the way, or was missed), or
                // overtaken by a load that had read the timer before our own last fire re-armed it. Read it
                // again now rather than leave it to the next reconciliation, up to a second late; but only once
                // per reconciliation pass, so that a timer refused again right after (a version that can never
                // match) cannot keep the scheduler reading and refusing it without pause.
                long pass = reconcilePasses();
                if (pass != _rereadPass)
                {
                    _rereadAfterStale.Clear();
                    _rereadPass = pass;
                }
                if (_rereadAfterStale.Add(t.Slot)) feed.Reread(t.Db, (RedisKey)t.Id.ToArray());
                continue;
            }
            Interlocked.Increment(ref _fired);
            metrics.FireLateness.Record(Math.Max(0, sentAtMs - t.DueMs) / 1000);
            if (outcome.Result == FireResult.FiredWithFunctionError)
            {
                // As in the module, a failing function does not stop anything; unlike it, we say so.
                Interlocked.Increment(ref _functionErrors);
                if (_failureLog.Admit() && logger.IsEnabled(LogLevel.Warning)) logger.FunctionFailed(t.IdText, t.Db, t.FunctionName, outcome.FunctionError);
            }
            if (!outcome.Rearmed.IsEmpty) earlier |= queue.Upsert(outcome.Rearmed);
        }
        if (earlier) wakeFire.Set();
    }
}
