namespace RedisTimer.Proxy.Scheduling;

/// <summary>
/// Lets the first few lines of a kind through in each window of time and counts the others, so that a burst of 100k
/// failures is a few lines and a count, not 100k lines. Not thread-safe: one loop logs through it.
/// </summary>
internal sealed class LogWindow(int lines, TimeSpan window, Func<long>? milliseconds = null)
{
    private readonly Func<long> _now = milliseconds ?? (() => Environment.TickCount64);
    private readonly long _windowMs = (long)window.TotalMilliseconds;
    private long? _opened;
    private int _logged;
    private long _suppressed;

    public TimeSpan Window => window;

    /// <summary>True when this occurrence is to be logged; false when it is only counted.</summary>
    public bool Admit()
    {
        long now = _now();
        if (_opened is null || (now - _opened >= _windowMs && _suppressed == 0))
        {
            _opened = now;
            _logged = 0;
        }
        if (_logged < lines)
        {
            _logged++;
            return true;
        }
        _suppressed++;
        return false;
    }

    /// <summary>Once the window in which occurrences were only counted has passed: how many (and a new window
    /// opens); else 0. Called before <see cref="Admit"/>, and now and then when nothing happens.</summary>
    public long TakeSuppressed()
    {
        if (_suppressed == 0 || _now() - _opened < _windowMs) return 0;
        long suppressed = _suppressed;
        _suppressed = 0;
        _opened = _now();
        _logged = 0;
        return suppressed;
    }
}
