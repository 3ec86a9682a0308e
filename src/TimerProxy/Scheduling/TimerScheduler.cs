using System.Diagnostics.Metrics;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RedisTimer.Proxy.Timers;
using RedisTimer.Proxy.Upstream;
using StackExchange.Redis;

namespace RedisTimer.Proxy.Scheduling;

/// <summary>
/// Fires due timers. Holds the near future in memory (<see cref="DueQueue"/>), filled from each database's
/// index, kept current by the library's change events and repaired by a periodic reconciliation.
/// Each fire is one transaction: WATCH the timer, check its version, then MULTI / the claim (delete a
/// one-shot timer, re-arm a LOOP one) / FCALL of the user's function / EXEC, so a timer reset, killed or
/// fired by another proxy meanwhile is not fired again. It starts only once timers exist, and with no
/// timers left it goes quiet: no polling.
/// </summary>
public sealed class TimerScheduler : IHostedService, IAsyncDisposable
{
    private static readonly Meter Meter = new("RedisTimer.Timers");
    private static readonly Counter<long> FiredCounter = Meter.CreateCounter<long>("timers.fired");
    private static readonly Counter<long> FunctionErrorCounter = Meter.CreateCounter<long>("timers.function_errors");
    private static readonly Counter<long> StaleCounter = Meter.CreateCounter<long>("timers.stale_skipped");

    private readonly ControlPlane _control;
    private readonly TimerLibrary _library;
    private readonly TimerOptions _options;
    private readonly ILogger<TimerScheduler> _logger;
    private readonly ServerClock _clock = new();
    private readonly FireConnection _fire;
    private readonly DueQueue _queue = new();
    private readonly HashSet<int> _databases = new();
    private readonly Channel<(int Db, RedisKey Id)> _events = Channel.CreateUnbounded<(int, RedisKey)>(new() { SingleReader = true });
    private readonly SemaphoreSlim _wakeFire = new(0, 1);
    private readonly SemaphoreSlim _wakeReconcile = new(0, 1);
    private readonly CancellationTokenSource _stopping = new();
    private readonly object _startSync = new();
    private Task? _running;
    private long _fired, _functionErrors, _staleSkipped;

    public TimerScheduler(ControlPlane control, TimerLibrary library, UpstreamConnector connector, IOptions<TimerOptions> options,
        ILogger<TimerScheduler> logger)
    {
        _fire = new FireConnection(connector);
        _control = control;
        _library = library;
        _options = options.Value;
        _logger = logger;
        _library.Activated = StartAsync;
        _library.Reloaded = () => Release(_wakeReconcile);
    }

    public long Fired => Interlocked.Read(ref _fired);
    public long FunctionErrors => Interlocked.Read(ref _functionErrors);
    public long StaleSkipped => Interlocked.Read(ref _staleSkipped);
    public int Held => _queue.Count;

    public Task StartAsync(CancellationToken cancel) => Task.CompletedTask;

    /// <summary>Begins scheduling (once); completes when the scheduler listens for changes.</summary>
    public Task StartAsync()
    {
        lock (_startSync)
        {
            if (_listening.Task.IsFaulted) // a start that failed (Redis refused TIME or SUBSCRIBE): try again
            {
                _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
                _running = null;
            }
            if (_running is null && !_stopping.IsCancellationRequested) _running = RunAsync(_listening, _stopping.Token);
            return _listening.Task;
        }
    }

    private TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private async Task RunAsync(TaskCompletionSource listening, CancellationToken stop)
    {
        try
        {
            await RunCoreAsync(listening, stop);
        }
        catch (Exception e)
        {
            listening.TrySetException(e);
            throw;
        }
    }

    private async Task RunCoreAsync(TaskCompletionSource listening, CancellationToken stop)
    {
        EnsureThreadPoolHeadroom();
        var mux = await _control.GetAsync();
        await _clock.SyncAsync(mux.GetDatabase());
        var subscriber = mux.GetSubscriber();
        await subscriber.SubscribeAsync(RedisChannel.Literal(TimerSchema.EventsChannel), (_, message) => OnEvent(message));
        // Renames, moves and restores done directly on Redis, not through the proxy, are seen here when
        // keyspace notifications are enabled (notify-keyspace-events with E and g); the timer is then
        // indexed under its new name. Without them, such changes must go through the proxy.
        foreach (var evt in new[] { "rename_to", "move_to", "restore" })
            await subscriber.SubscribeAsync(RedisChannel.Pattern($"__keyevent@*__:{evt}"), (channel, key) => OnKeyEvent(mux, channel, key));
        _logger.LogInformation("Timer scheduler started");
        listening.TrySetResult();
        await Task.WhenAll(
            Guard(() => ReconcileLoopAsync(mux, stop), "reconciliation"),
            Guard(() => EventLoopAsync(mux, stop), "events"),
            Guard(() => FireLoopAsync(stop), "firing"));
    }

    // With the default minimum of one pool thread per core, a two-core machine made the scheduler's start-up
    // (connecting StackExchange.Redis, the subscriptions, the first clock sync, the fire connection) wait for the
    // pool to grow: a 100 ms LOOP timer created right after start-up did not fire within 350 ms
    // (TimerKeyspaceCancelTests, checked again after the fire path stopped blocking; before that, with a
    // StackExchange.Redis transaction holding a thread per fire, fires came 0.5-1 s late).
    private const int MinPoolThreads = 32;

    private static void EnsureThreadPoolHeadroom()
    {
        ThreadPool.GetMinThreads(out int workers, out int io);
        if (workers < MinPoolThreads) ThreadPool.SetMinThreads(MinPoolThreads, Math.Max(io, MinPoolThreads));
    }

    private async Task Guard(Func<Task> loop, string name)
    {
        while (!_stopping.IsCancellationRequested)
        {
            try
            {
                await loop();
                return;
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                _logger.LogError(e, "Timer {Loop} loop failed; restarting in 1 s", name);
                await Task.Delay(1000).ConfigureAwait(false);
            }
        }
    }

    // "<db>:<due ms, 0 when gone>:<id>"; a change due beyond the window is left to reconciliation, so a
    // burst of far-future TIMER.NEW costs the scheduler no reads.
    private void OnEvent(RedisValue message)
    {
        byte[] bytes = message!;
        int first = Array.IndexOf(bytes, (byte)':');
        int second = first < 0 ? -1 : Array.IndexOf(bytes, (byte)':', first + 1);
        if (first <= 0 || second < 0 || !int.TryParse(Encoding.ASCII.GetString(bytes, 0, first), out int db)) return;
        double.TryParse(Encoding.ASCII.GetString(bytes, first + 1, second - first - 1), System.Globalization.NumberStyles.Float,
            System.Globalization.CultureInfo.InvariantCulture, out double due);
        byte[] idBytes = bytes.AsSpan(second + 1).ToArray();
        var id = (RedisKey)idBytes;
        if (due > _clock.NowMs + _options.WindowMs)
        {
            _queue.Remove(TimerSlot.Of(db, idBytes)); // its old form, if held, is no longer what will fire
            NoteDatabase(db);
            return;
        }
        _events.Writer.TryWrite((db, id));
    }

    private void NoteDatabase(int db)
    {
        // Databases are numbered from 0 and Redis has at most a few thousand; anything else is a
        // client's refused SELECT showing through, and would only make every reconciliation fail.
        if (db is < 0 or > MaxDatabase) return;
        bool added;
        lock (_databases) added = _databases.Add(db);
        Interlocked.Increment(ref _eventsSeen);
        if (added || _idle) Release(_wakeReconcile);
    }

    private const int MaxDatabase = 65535;
    private long _eventsSeen;
    private volatile bool _idle;

    // "__keyevent@<db>__:<event>" carrying the key name
    private void OnKeyEvent(ConnectionMultiplexer mux, RedisChannel channel, RedisValue key)
    {
        string name = channel.ToString();
        int at = name.IndexOf('@') + 1, end = name.IndexOf("__:", StringComparison.Ordinal);
        if (at <= 0 || end < at || !int.TryParse(name.AsSpan(at, end - at), out int db)) return;
        _ = mux.GetDatabase(db).ExecuteAsync("FCALL", "timer_adopt", 2, (RedisKey)(byte[])key!, TimerSchema.IndexKey, db)
            .ContinueWith(t => _logger.LogWarning(t.Exception!.GetBaseException(), "Adopting {Key} in db {Db} failed", (string?)key, db),
                TaskContinuationOptions.OnlyOnFaulted);
    }

    private async Task EventLoopAsync(ConnectionMultiplexer mux, CancellationToken stop)
    {
        var reader = _events.Reader;
        var batch = new List<(int Db, RedisKey Id)>();
        while (await reader.WaitToReadAsync(stop))
        {
            batch.Clear();
            while (batch.Count < 1000 && reader.TryRead(out var e)) batch.Add(e);
            foreach (var e in batch) NoteDatabase(e.Db);
            var loads = batch.Select(e => LoadAsync(mux.GetDatabase(e.Db), e.Db, e.Id)).ToArray();
            await Task.WhenAll(loads);
            Apply(loads.Select(l => l.Result), batch);
        }
    }

    private async Task ReconcileLoopAsync(ConnectionMultiplexer mux, CancellationToken stop)
    {
        bool loading = false;
        int emptyPasses = 0;
        while (!stop.IsCancellationRequested)
        {
            long eventsBefore = Interlocked.Read(ref _eventsSeen);
            bool anyTimers;
            try
            {
                anyTimers = await ReconcileAsync(mux);
            }
            catch (RedisServerException e) when (RedisLoading.Is(e))
            {
                if (!loading) _logger.LogInformation("Redis is loading its dataset; timers wait until it is done");
                loading = true;
                await Task.Delay(RedisLoading.RetryEvery, stop);
                continue;
            }
            if (loading) _logger.LogInformation("Redis has loaded its dataset; timers resume");
            loading = false;
            bool empty = !anyTimers && _queue.Count == 0 && Interlocked.Read(ref _eventsSeen) == eventsBefore;
            // Idle only after two empty passes an interval apart: a timer command that woke us creates its timer
            // just after the library is loaded, maybe after the first pass looked.
            emptyPasses = empty ? emptyPasses + 1 : 0;
            if (emptyPasses >= 2)
            {
                // Nothing to watch: stay silent until an event or a timer command wakes us. The next
                // timer command loads the library again (it may be gone by then: FUNCTION FLUSH, a
                // restart without persistence), and keyspace commands pass unchanged meanwhile.
                _logger.LogInformation("No timers left; the scheduler is idle");
                _library.MarkIdle();
                _idle = true;
                if (Interlocked.Read(ref _eventsSeen) == eventsBefore) await _wakeReconcile.WaitAsync(stop);
                _idle = false;
                emptyPasses = 0;
                continue;
            }
            Interlocked.Increment(ref _passes);
            // The timeout removes the waiter (a WhenAny with a delay would leave one behind per pass).
            await _wakeReconcile.WaitAsync(_options.ReconcileIntervalMs, stop);
        }
    }

    /// <summary>One pass over every database with timers; false when there is none.</summary>
    private async Task<bool> ReconcileAsync(ConnectionMultiplexer mux)
    {
        var db0 = mux.GetDatabase();
        await _clock.SyncAsync(db0);
        await _library.RepairAsync(db0);
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
                _logger.LogWarning("Reconciling db {Db} failed: {Error}", db, e.Message);
            }
        }
        return anyTimers;
    }

    private async Task<List<int>> DatabasesWithIndexAsync(ConnectionMultiplexer mux)
    {
        var found = new List<int>();
        var keyspace = (string?)await mux.GetDatabase().ExecuteAsync("INFO", "keyspace") ?? "";
        var candidates = new SortedSet<int>();
        foreach (var line in keyspace.Split('\n'))
            if (line.StartsWith("db") && int.TryParse(line.AsSpan(2, line.IndexOf(':') - 2), out int db)) candidates.Add(db);
        lock (_databases) candidates.UnionWith(_databases);
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
            else lock (_databases) _databases.Remove(db);
        }
        lock (_databases) _databases.UnionWith(found);
        return found;
    }

    // Reading the whole window every second costs Redis (and so the fires waiting behind it) milliseconds
    // when it holds tens of thousands of timers: a pass reads what entered the window since the last pass,
    // plus what is overdue; every tenth pass reads the whole window.
    private const int FullPassEvery = 10;
    private long _passes;
    private readonly Dictionary<int, double> _reconciledTo = new();

    private async Task ReconcileDatabaseAsync(IDatabase db, int dbNumber, bool full)
    {
        double now = _clock.NowMs;
        double horizon = now + _options.WindowMs;
        IReadOnlyList<SortedSetEntry> entries;
        if (!full && _reconciledTo.TryGetValue(dbNumber, out double from) && from < horizon)
        {
            var overdue = await db.SortedSetRangeByScoreWithScoresAsync(TimerSchema.IndexKey, double.NegativeInfinity, now, take: IndexPages.PageSize);
            var entered = await IndexPages.ReadAsync(db, TimerSchema.IndexKey, from, Exclude.Start, horizon, _options.MaxLoaded);
            entries = [.. overdue, .. entered];
            _reconciledTo[dbNumber] = entered.Count < _options.MaxLoaded ? horizon : entered[^1].Score;
        }
        else
        {
            entries = await IndexPages.ReadAsync(db, TimerSchema.IndexKey, double.NegativeInfinity, Exclude.None, horizon, _options.MaxLoaded);
            _reconciledTo[dbNumber] = entries.Count < _options.MaxLoaded ? horizon : entries[^1].Score;
        }
        var missing = entries.Where(e => !_queue.Contains(TimerSlot.Of(dbNumber, (byte[])e.Element!), e.Score)).ToList();
        if (missing.Count == 0) return;
        var ids = missing.Select(e => (Db: dbNumber, Id: (RedisKey)(byte[])e.Element!)).ToList();
        var loads = ids.Select(e => LoadAsync(db, dbNumber, e.Id)).ToArray();
        await Task.WhenAll(loads);
        var gone = Apply(loads.Select(l => l.Result), ids);
        if (gone.Count > 0)
        {
            // Deleted, overwritten or expired behind the proxy's back: drop their index entries now.
            await db.ExecuteAsync("FCALL", ["timer_unindex", 1, TimerSchema.IndexKey, .. gone.Select(g => (object)(byte[])g!)]);
        }
    }

    private static readonly RedisValue[] Fields = [TimerSchema.Tag, "ver", "due", "def"];

    private enum Loaded : byte { Timer, NotATimer, Unreadable }

    private static async Task<(Loaded, ScheduledTimer)> LoadAsync(IDatabase db, int dbNumber, RedisKey id)
    {
        try
        {
            var h = await db.HashGetAsync(id, Fields);
            if (h[0].IsNull || h[1].IsNull || h[2].IsNull || h[3].IsNull) return (Loaded.NotATimer, default);
            return (Loaded.Timer, ScheduledTimer.FromFields(dbNumber, (byte[])id!, (byte[])h[1]!, (string)h[2]!, (byte[])h[3]!));
        }
        catch (RedisServerException e) when (e.Message.StartsWith("WRONGTYPE"))
        {
            return (Loaded.NotATimer, default); // not a hash: not a timer
        }
        catch (Exception e) when (e is RedisException or TimeoutException or FormatException or InvalidDataException
                                      or IndexOutOfRangeException or ArgumentException)
        {
            // Unreadable now (a timeout) or malformed (written by hand): neither fired nor dropped from the
            // index; the fire-time version check and later passes decide.
            return (Loaded.Unreadable, default);
        }
    }

    // Puts loaded timers due within the window in the queue (later ones come with a later reconciliation);
    // returns the ids that are not timers.
    private List<RedisKey> Apply(IEnumerable<(Loaded, ScheduledTimer)> loaded, List<(int Db, RedisKey Id)> ids)
    {
        double horizon = _clock.NowMs + _options.WindowMs;
        var gone = new List<RedisKey>();
        bool earlier = false;
        int i = 0;
        foreach (var (status, timer) in loaded)
        {
            var (db, id) = ids[i++];
            if (status == Loaded.Unreadable) continue;
            if (status == Loaded.NotATimer)
            {
                _queue.Remove(TimerSlot.Of(db, (byte[])id!));
                gone.Add(id);
            }
            else if (timer.DueMs <= horizon)
            {
                earlier |= _queue.Upsert(timer);
            }
        }
        if (earlier) Release(_wakeFire);
        return gone;
    }

    // The last stretch before a due time is slept in short slices, so a timer that arrives meanwhile with an
    // even earlier due time waits at most one slice.
    private const double PreciseWaitMs = 2;
    private static readonly TimeSpan PreciseSlice = TimeSpan.FromMicroseconds(200);

    private async Task FireLoopAsync(CancellationToken stop)
    {
        int failures = 0;
        await _fire.OpenAsync(stop);
        var due = new List<ScheduledTimer>(_options.FireBatchSize);
        while (!stop.IsCancellationRequested)
        {
            _queue.TakeDue(_clock.NowMs, _options.FireBatchSize, due);
            if (due.Count == 0)
            {
                // Timed waits are only as fine as the OS timer (about a millisecond, more under load): wait
                // until shortly before the next due time, then sleep precisely.
                double? next = _queue.NextDueMs();
                double ahead = next is null ? 1000 : Math.Min(next.Value - _clock.NowMs, 1000);
                if (ahead >= PreciseWaitMs + 1) await _wakeFire.WaitAsync((int)(ahead - PreciseWaitMs), stop);
                else if (!Thread.CurrentThread.IsThreadPoolThread)
                {
                    // A fire completes on the thread of its connection, which with the epoll transport is a loop
                    // serving clients: sleeping there would stall them. Move to a pool thread first.
                    await Task.Yield();
                }
                else if (ahead > 0) PreciseSleep.For(TimeSpan.FromMilliseconds(Math.Min(ahead, PreciseSlice.TotalMilliseconds)));
                continue;
            }
            foreach (var (db, timers) in ByDatabase(due))
            {
                try
                {
                    Account(timers, await _fire.FireAsync(db, timers, _clock.NowMs, stop));
                }
                catch (RedisServerException e) when (RedisLoading.Is(e))
                {
                    // Redis restarted and is loading: these fire as soon as it is done (reconciliation logs it).
                    foreach (var t in timers) _queue.Upsert(t);
                    await Task.Delay(RedisLoading.RetryEvery, stop);
                    continue;
                }
                catch (Exception e) when (e is IOException or RedisException or UpstreamUnavailableException or InvalidDataException
                                              or TimeoutException)
                {
                    // Unknown whether they fired: put them back. Those that did have a new version (or are
                    // gone) now, so the next attempt's check leaves them out. Back off while it keeps failing
                    // (Redis down, or refusing the transaction: OOM, MISCONF).
                    failures++;
                    var delay = TimeSpan.FromMilliseconds(Math.Min(200 * (1 << Math.Min(failures - 1, 5)), 5000));
                    _logger.LogWarning("Firing {Count} timers in db {Db} failed ({Error}); retrying in {Delay} ms",
                        timers.Count, db, e.Message, delay.TotalMilliseconds);
                    foreach (var t in timers) _queue.Upsert(t);
                    await Task.Delay(delay, stop);
                    continue;
                }
                failures = 0;
            }
        }
    }

    // Nearly always one database: then no grouping (it allocated more than the rest of a small fire).
    private static IEnumerable<(int Db, List<ScheduledTimer> Timers)> ByDatabase(List<ScheduledTimer> due)
    {
        int db = due[0].Db;
        bool one = true;
        foreach (var t in due) one &= t.Db == db;
        return one ? [(db, due)] : due.GroupBy(t => t.Db).Select(g => (g.Key, g.ToList()));
    }

    // Touched by the fire loop only.
    private readonly HashSet<TimerSlot> _rereadAfterStale = new();
    private long _rereadPass = -1;

    private void Account(List<ScheduledTimer> timers, ArraySegment<FireOutcome> outcomes)
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
                long pass = Interlocked.Read(ref _passes);
                if (pass != _rereadPass)
                {
                    _rereadAfterStale.Clear();
                    _rereadPass = pass;
                }
                if (_rereadAfterStale.Add(t.Slot)) _events.Writer.TryWrite((t.Db, (RedisKey)t.Id.ToArray()));
                continue;
            }
            Interlocked.Increment(ref _fired);
            FiredCounter.Add(1);
            if (outcome.Result == FireResult.FiredWithFunctionError)
            {
                // As in the module, a failing function does not stop anything; unlike it, we say so.
                Interlocked.Increment(ref _functionErrors);
                FunctionErrorCounter.Add(1);
                _logger.LogWarning("Timer {Id} (db {Db}): function {Function} failed: {Error}", t.IdText, t.Db,
                    t.FunctionName, outcome.FunctionError);
            }
            if (!outcome.Rearmed.IsEmpty) earlier |= _queue.Upsert(outcome.Rearmed);
        }
        if (earlier) Release(_wakeFire);
    }

    private static void Release(SemaphoreSlim signal)
    {
        try { if (signal.CurrentCount == 0) signal.Release(); } catch (SemaphoreFullException) { }
    }

    public async Task StopAsync(CancellationToken cancel)
    {
        _stopping.Cancel();
        if (_running is not null)
        {
            try { await _running.WaitAsync(cancel); } catch (OperationCanceledException) { }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stopping.Cancel();
        await _fire.DisposeAsync();
        await _control.DisposeAsync();
    }
}
