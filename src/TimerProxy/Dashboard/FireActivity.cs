using System.Diagnostics;
using System.Diagnostics.Metrics;
using RedisTimer.Proxy.Metrics;

namespace RedisTimer.Proxy.Dashboard;

/// <summary>
/// The dashboard's last ten minutes, a row a second: timers fired, failed, created and killed in that second (the
/// differences of <see cref="ProxyMetrics"/>'s totals) and the lateness of its fires (mean and max, from the
/// lateness histogram's measurements). Kept only while the metrics port is open; a fire costs one more listener call.
/// </summary>
public sealed class FireActivity : IDisposable
{
    public const int Capacity = 600;

    private readonly ProxyMetrics _metrics;
    private readonly MeterListener _listener = new();
    private readonly Timer _tick;
    private readonly Stopwatch _sinceTick = Stopwatch.StartNew();
    private readonly Lock _gate = new();
    private readonly ActivityRow[] _rows = new ActivityRow[Capacity];
    private int _next, _filled;
    private Totals _last;

    // Lateness since the last row (seconds); written by the fire loop, taken by the tick.
    private long _lateCount;
    private double _lateSum, _lateMax;

    public FireActivity(ProxyMetrics metrics, TimeSpan? interval = null)
    {
        _metrics = metrics;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument, metrics.FireLateness)) listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<double>((_, seconds, _, _) => Late(seconds));
        _listener.Start();
        _last = Totals.Read(metrics);
        var period = interval ?? TimeSpan.FromSeconds(1);
        _tick = new Timer(_ => Tick(), null, period, period);
    }

    private void Late(double seconds)
    {
        lock (_gate)
        {
            _lateCount++;
            _lateSum += seconds;
            if (seconds > _lateMax) _lateMax = seconds;
        }
    }

    private void Tick()
    {
        var now = Totals.Read(_metrics);
        lock (_gate)
        {
            _rows[_next] = new ActivityRow(
                DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
                Math.Max(1, (long)_sinceTick.Elapsed.TotalMilliseconds),
                now.Fired - _last.Fired,
                now.Errors - _last.Errors,
                now.Created - _last.Created,
                now.Killed - _last.Killed,
                _lateCount == 0 ? null : _lateSum / _lateCount * 1000,
                _lateCount == 0 ? null : _lateMax * 1000);
            _sinceTick.Restart();
            _next = (_next + 1) % Capacity;
            _filled = Math.Min(Capacity, _filled + 1);
            _lateCount = 0;
            _lateSum = _lateMax = 0;
            _last = now;
        }
    }

    /// <summary>The rows kept, oldest first.</summary>
    public ActivityRow[] Rows()
    {
        lock (_gate)
        {
            var rows = new ActivityRow[_filled];
            int start = (_next - _filled + Capacity) % Capacity;
            for (int i = 0; i < _filled; i++) rows[i] = _rows[(start + i) % Capacity];
            return rows;
        }
    }

    public void Dispose()
    {
        _tick.Dispose();
        _listener.Dispose();
    }

    private readonly record struct Totals(long Fired, long Errors, long Created, long Killed)
    {
        public static Totals Read(ProxyMetrics m) => new(m.Fired, m.FireErrors, m.Created, m.Killed);
    }
}

/// <param name="AtMs">When the row was closed (Unix ms).</param>
/// <param name="SpanMs">The time it covers, about a second.</param>
/// <param name="LatenessMeanMs">Null when nothing fired in it.</param>
public readonly record struct ActivityRow(long AtMs, long SpanMs, long Fired, long Errors, long Created, long Killed, double? LatenessMeanMs, double? LatenessMaxMs);
