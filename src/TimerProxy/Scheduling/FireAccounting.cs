using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace RedisTimer.Proxy.Scheduling;

/// <summary>What each fire came to: counted, a failing function logged, a re-armed LOOP timer held again, a stale one re-read.</summary>
internal sealed class FireAccounting(DueQueue queue, ChangeFeed feed, Func<long> reconcilePasses, Wakeup wakeFire, ILogger logger)
{
    private static readonly Meter Meter = new("RedisTimer.Timers");
    private static readonly Counter<long> FiredCounter = Meter.CreateCounter<long>("timers.fired");
    private static readonly Counter<long> FunctionErrorCounter = Meter.CreateCounter<long>("timers.function_errors");
    private static readonly Counter<long> StaleCounter = Meter.CreateCounter<long>("timers.stale_skipped");

    private long _fired, _functionErrors, _staleSkipped;

    // Touched by the fire loop only.
    private readonly HashSet<TimerSlot> _rereadAfterStale = new();
    private long _rereadPass = -1;

    public long Fired => Interlocked.Read(ref _fired);
    public long FunctionErrors => Interlocked.Read(ref _functionErrors);
    public long StaleSkipped => Interlocked.Read(ref _staleSkipped);

    public void Account(List<ScheduledTimer> timers, ArraySegment<FireOutcome> outcomes)
    {
        bool earlier = false;
        for (int i = 0; i < timers.Count; i++)
        {
            var t = timers[i];
            var outcome = outcomes[i];
            if (outcome.Result == FireResult.Stale)
            {
                Interlocked.Increment(ref _staleSkipped);
                StaleCounter.Add(1);
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
            FiredCounter.Add(1);
            if (outcome.Result == FireResult.FiredWithFunctionError)
            {
                // As in the module, a failing function does not stop anything; unlike it, we say so.
                Interlocked.Increment(ref _functionErrors);
                FunctionErrorCounter.Add(1);
                if (logger.IsEnabled(LogLevel.Warning)) logger.FunctionFailed(t.IdText, t.Db, t.FunctionName, outcome.FunctionError);
            }
            if (!outcome.Rearmed.IsEmpty) earlier |= queue.Upsert(outcome.Rearmed);
        }
        if (earlier) wakeFire.Set();
    }
}
