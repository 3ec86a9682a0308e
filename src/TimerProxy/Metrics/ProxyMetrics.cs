using System.Diagnostics.Metrics;

namespace RedisTimer.Proxy.Metrics;

/// <summary>
/// The proxy's one <see cref="System.Diagnostics.Metrics.Meter"/> ("RedisTimer": <c>dotnet-counters monitor -n RedisTimer.Proxy
/// --counters RedisTimer</c>) and its instruments. The Prometheus names (<see cref="PrometheusBridge"/>) follow from
/// the instrument names: dots become underscores, a unit "s" adds <c>_seconds</c>, a counter <c>_total</c>. No
/// instrument carries a timer id or any other unbounded tag.
/// </summary>
public sealed class ProxyMetrics
{
    public const string MeterName = "RedisTimer";

    public Meter Meter { get; }

    public Histogram<double> FireLateness { get; }
    public Histogram<double> FcallDuration { get; }

    // The counters and gauges are observed: read when collected (and by TIMER.STATS) from the one place that counts
    // them, so nothing is counted twice and counting costs the hot paths an interlocked add at most. Set by whoever
    // knows the figure (the scheduler, the upstream connector); the rest is counted here.
    private volatile Func<long> _fired = () => 0, _fireErrors = () => 0, _staleSkipped = () => 0;
    private volatile Func<long> _scheduled = () => 0;
    private volatile Func<bool> _leader = () => false;
    private volatile Func<bool> _upstreamUp = () => false;

    public ProxyMetrics(IMeterFactory factory)
    {
        Meter = factory.Create(MeterName, typeof(ProxyMetrics).Assembly.GetName().Version?.ToString());
        Meter.CreateObservableCounter("redistimer.timers.fired", () => _fired(), description: "Timers fired (their function called), failing or not.");
        Meter.CreateObservableCounter("redistimer.timer.fire_errors", () => _fireErrors(), description: "Fires whose function answered with an error.");
        Meter.CreateObservableCounter("redistimer.timers.stale_skipped", () => _staleSkipped(),
            description: "Fires not made because the timer had been reset or killed since it was read (the version check).");
        Meter.CreateObservableCounter("redistimer.timers.created", () => Interlocked.Read(ref _created),
            description: "TIMER.NEWs answered 1 (created) or 0 (reset) through this proxy, outside MULTI (their EXEC answers there).");
        Meter.CreateObservableCounter("redistimer.timers.killed", () => Interlocked.Read(ref _killed),
            description: "TIMER.KILLs answered 1 (a timer removed) through this proxy, outside MULTI.");
        FireLateness = Meter.CreateHistogram<double>("redistimer.fire.lateness", unit: "s",
            description: "When a fire was sent minus the timer's due time, per fire (Redis's clock).");
        FcallDuration = Meter.CreateHistogram<double>("redistimer.fcall.duration", unit: "s",
            description: "From sending a fire transaction (up to Timers:FireBatchSize FCALLs and their version checks) to its reply.");
        Meter.CreateObservableUpDownCounter("redistimer.clients.connected", () => Interlocked.Read(ref _clientsConnected),
            description: "Client connections open now.");
        Meter.CreateObservableCounter("redistimer.client.connections", () => Interlocked.Read(ref _clientConnections),
            description: "Client connections accepted.");
        Meter.CreateObservableGauge("redistimer.timers.scheduled", () => _scheduled(),
            description: "Timers held in the near-future queue of this proxy.");
        Meter.CreateObservableGauge("redistimer.scheduler.leader", () => _leader() ? 1 : 0,
            description: "1 while this proxy holds the fire lease (it fires the timers), else 0.");
        Meter.CreateObservableGauge("redistimer.upstream.up", () => _upstreamUp() ? 1 : 0,
            description: "1 when the proxy's last connection to Redis (a client's, the scheduler's, the start-up probe's) was made, else 0.");
    }

    private long _created, _killed, _clientsConnected, _clientConnections;

    public void ObserveScheduler(Func<long> fired, Func<long> fireErrors, Func<long> staleSkipped, Func<long> scheduled, Func<bool> leader)
    {
        _fired = fired;
        _fireErrors = fireErrors;
        _staleSkipped = staleSkipped;
        _scheduled = scheduled;
        _leader = leader;
    }

    /// <summary>Timer writes that replies reported (<see cref="TimerCount"/> says which).</summary>
    public void Counted(Server.Replies.TimerCount counts, long n)
    {
        if (counts == Server.Replies.TimerCount.New) Interlocked.Add(ref _created, n);
        else if (counts == Server.Replies.TimerCount.Kill) Interlocked.Add(ref _killed, n);
    }

    public void ClientOpened()
    {
        Interlocked.Increment(ref _clientConnections);
        Interlocked.Increment(ref _clientsConnected);
    }

    public void ClientClosed() => Interlocked.Decrement(ref _clientsConnected);

    public long Fired => _fired();
    public long FireErrors => _fireErrors();
    public long Created => Interlocked.Read(ref _created);
    public long Killed => Interlocked.Read(ref _killed);

    /// <summary>TIMER.STATS: the figures above under their Prometheus names without the prefix and suffix, in this order.</summary>
    public (string Name, long Value)[] Snapshot() =>
    [
        ("timers_fired", Fired),
        ("timer_fire_errors", FireErrors),
        ("timers_stale_skipped", _staleSkipped()),
        ("timers_created", Created),
        ("timers_killed", Killed),
        ("timers_scheduled", _scheduled()),
        ("scheduler_leader", _leader() ? 1 : 0),
        ("clients_connected", Interlocked.Read(ref _clientsConnected)),
        ("client_connections", Interlocked.Read(ref _clientConnections)),
        ("upstream_up", _upstreamUp() ? 1 : 0),
    ];

    public void ObserveUpstream(Func<bool> up) => _upstreamUp = up;
}
