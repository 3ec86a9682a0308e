using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RedisTimer.Proxy.Timers;
using RedisTimer.Proxy.Upstream;
using StackExchange.Redis;

using RedisTimer.Proxy.Metrics;

namespace RedisTimer.Proxy.Scheduling;

/// <summary>Timers are made to work on first use: what a timer command (or the start-up check) waits for.</summary>
public interface ITimerActivation
{
    /// <summary>True once the library is loaded and the scheduler listens; from then on keyspace commands are rewritten.</summary>
    bool IsActive { get; }

    /// <summary>Loads the library and starts the scheduler (or wakes it when it had gone idle); once at a time.</summary>
    Task EnsureActiveAsync();
}

/// <summary>
/// Fires due timers. Holds the near future in memory (<see cref="DueQueue"/>), kept current by the library's change
/// events (<see cref="ChangeFeed"/>) and repaired by a periodic reconciliation (<see cref="Reconciler"/>); the
/// <see cref="FireLoop"/> fires each batch of due timers as one version-checked transaction
/// (<see cref="FireConnection"/>) and <see cref="FireAccounting"/> deals with the outcomes. It starts only once
/// timers are activated, and with no timers left it goes quiet: no polling.
/// </summary>
public sealed class TimerScheduler : IHostedService, IAsyncDisposable, ITimerActivation
{
    private readonly ControlPlane _control;
    private readonly TimerLibrary _library;
    private readonly ILogger<TimerScheduler> _logger;
    private readonly ServerClock _clock = new();
    private readonly FireConnection _fire;
    private readonly DueQueue _queue = new();
    private readonly Wakeup _wakeFire = new();
    private readonly Wakeup _wakeReconcile = new();
    private readonly ChangeFeed _feed;
    private readonly Reconciler _reconciler;
    private readonly FireAccounting _accounting;
    private readonly FireLoop _fireLoop;
    private readonly FireLease _lease;
    private readonly CancellationTokenSource _stopping = new();
    private readonly object _sync = new();
    private Task? _running;
    private TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _activating;
    private volatile bool _active;

    public TimerScheduler(ControlPlane control, TimerLibrary library, UpstreamConnector connector, IOptions<TimerOptions> options,
        ReplicaWait replicaWait, ProxyMetrics metrics, ILogger<TimerScheduler> logger)
    {
        _control = control;
        _library = library;
        _logger = logger;
        var settings = options.Value;
        var databases = new TimerDatabases();
        var loader = new TimerLoader(_queue, _clock, settings, _wakeFire);
        _fire = new FireConnection(connector, replicaWait);
        _feed = new ChangeFeed(loader, _queue, databases, _clock, settings, _wakeReconcile, logger);
        _reconciler = new Reconciler(library, loader, _queue, databases, _feed, _clock, settings, _wakeReconcile, WentIdle, ActiveAgain, logger);
        _accounting = new FireAccounting(_queue, _feed, () => _reconciler.Passes, _wakeFire, metrics, logger);
        _lease = new FireLease(settings, () => !_active, _wakeFire, logger);
        metrics.ObserveScheduler(() => _accounting.Fired, () => _accounting.FunctionErrors, () => _accounting.StaleSkipped,
            () => _queue.Count, () => _lease.IsHeld);
        _fireLoop = new FireLoop(_fire, _queue, _accounting, _clock, settings, _lease, () => connector.FailingOver, _wakeFire, logger);
    }

    public long Fired => _accounting.Fired;
    public long FunctionErrors => _accounting.FunctionErrors;
    public long StaleSkipped => _accounting.StaleSkipped;
    public int Held => _queue.Count;

    /// <summary>True while this proxy holds the fire lease (it fires; others stand by).</summary>
    public bool FiresTimers => _lease.IsHeld;

    public bool IsActive => _active;

    public Task EnsureActiveAsync()
    {
        if (_active) return Task.CompletedTask;
        lock (_sync)
        {
            if (_activating is null || _activating.IsFaulted) _activating = ActivateAsync();
            return _activating;
        }
    }

    private bool _started;

    private async Task ActivateAsync()
    {
        await _library.LoadAsync();
        // Timer commands are rewritten only once the scheduler listens; if it cannot start, the next
        // timer command tries again (and its client gets the error) rather than timers silently not firing.
        if (!_started)
        {
            await StartListeningAsync();
            _started = true;
        }
        else
        {
            // Loaded again after the scheduler went idle: the timer the command creates may be announced while the
            // subscription is still reconnecting (Redis restarted), so reconciliation looks at the index at once.
            _wakeReconcile.Set();
        }
        _active = true;
    }

    /// <summary>
    /// No timers are left: the next timer command loads the library again (so a Redis restarted without
    /// persistence, or a FUNCTION FLUSH meanwhile, costs nothing), and keyspace commands pass unchanged.
    /// </summary>
    private void WentIdle()
    {
        lock (_sync)
        {
            _active = false;
            _activating = null;
        }
    }

    /// <summary>The reconciler found timers right after it went idle: timer commands are rewritten again at once.</summary>
    private void ActiveAgain()
    {
        lock (_sync) _active = true;
    }

    public Task StartAsync(CancellationToken cancel) => Task.CompletedTask;

    /// <summary>Begins scheduling (once); completes when the scheduler listens for changes.</summary>
    private Task StartListeningAsync()
    {
        lock (_sync)
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

    private async Task RunAsync(TaskCompletionSource listening, CancellationToken stop)
    {
        EnsureThreadPoolHeadroom();
        while (true)
        {
            // One run per master: when it is demoted (a failover the proxy followed), every loop ends and the
            // next run starts on the new master's connection. The held timers stay; fires are version-checked.
            var demoted = _control.MasterDemoted;
            using var run = CancellationTokenSource.CreateLinkedTokenSource(stop, demoted);
            ConnectionMultiplexer mux;
            try
            {
                mux = await _control.GetAsync();
                await _clock.SyncAsync(mux.GetDatabase());
                await _feed.SubscribeAsync(mux);
            }
            catch (Exception e) when (listening.Task.IsCompleted && !stop.IsCancellationRequested)
            {
                _logger.LogWarning("Timer scheduler cannot start on the new master yet ({Error}); trying again in 1 s", e.Message);
                await Task.Delay(1000, stop).ConfigureAwait(false);
                continue;
            }
            catch (Exception e)
            {
                listening.TrySetException(e);
                throw;
            }
            if (listening.TrySetResult()) _logger.LogInformation("Timer scheduler started");
            else _logger.LogInformation("Timer scheduler follows the new master {Upstream}", _control);
            _wakeReconcile.Set();
            // Reconnected (Redis restarted, maybe without persistence and so without the library): reconciliation
            // checks the library at once, not at its next turn, since the commands the proxy rewrites are refused
            // ("Function not found") until it is back.
            EventHandler<ConnectionFailedEventArgs> restored = (_, _) =>
            {
                if (_active) _wakeReconcile.Set(); // idle: a reconnect is no reason to send anything
            };
            mux.ConnectionRestored += restored;
            try
            {
                await Task.WhenAll(
                    Guard(() => _reconciler.RunAsync(mux, run.Token), "reconciliation", run.Token),
                    Guard(() => _feed.RunAsync(mux, run.Token), "events", run.Token),
                    Guard(() => _fireLoop.RunAsync(run.Token), "firing", run.Token),
                    Guard(() => _lease.RunAsync(mux, run.Token), "lease", run.Token));
            }
            finally
            {
                mux.ConnectionRestored -= restored;
            }
            if (stop.IsCancellationRequested) return;
        }
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

    private async Task Guard(Func<Task> loop, string name, CancellationToken run)
    {
        while (!run.IsCancellationRequested)
        {
            try
            {
                await loop();
                return;
            }
            catch (OperationCanceledException) when (run.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                _logger.LogError(e, "Timer {Loop} loop failed; restarting in 1 s", name);
                try { await Task.Delay(1000, run).ConfigureAwait(false); }
                catch (OperationCanceledException) { return; }
            }
        }
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
