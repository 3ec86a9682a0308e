namespace RedisTimer.Proxy.Scheduling;

/// <summary>
/// The near future: timers ordered by due time. A timer is current only in its latest form; older
/// entries left in the heap are skipped when they surface (cheaper than removing them).
/// </summary>
public sealed class DueQueue
{
    private readonly PriorityQueue<ScheduledTimer, double> _heap = new();
    private readonly Dictionary<TimerSlot, ScheduledTimer> _current = new();
    private readonly object _sync = new();

    public int Count { get { lock (_sync) return _current.Count; } }

    /// <summary>Adds or replaces; returns true when it is now the earliest timer (the fire loop should look again).</summary>
    public bool Upsert(ScheduledTimer timer)
    {
        lock (_sync)
        {
            if (_current.TryGetValue(timer.Slot, out var existing) && existing.Version.SequenceEqual(timer.Version)
                && existing.DueMs == timer.DueMs)
                return false;
            _current[timer.Slot] = timer;
            _heap.Enqueue(timer, timer.DueMs);
            CompactIfMostlyStale();
            return _heap.TryPeek(out var first, out _) && first.IsSameAs(timer);
        }
    }

    public void Remove(TimerSlot slot)
    {
        lock (_sync) _current.Remove(slot);
    }

    public bool Holds(TimerSlot slot)
    {
        lock (_sync) return _current.ContainsKey(slot);
    }

    public bool Contains(TimerSlot slot, double dueMs)
    {
        lock (_sync) return _current.TryGetValue(slot, out var t) && t.DueMs == dueMs;
    }

    /// <summary>The earliest due time, or null when empty.</summary>
    public double? NextDueMs()
    {
        lock (_sync)
        {
            SkipStale();
            return _heap.TryPeek(out _, out double due) ? due : null;
        }
    }

    /// <summary>Moves up to <paramref name="max"/> timers due at <paramref name="nowMs"/> into <paramref name="due"/> (cleared first).</summary>
    public void TakeDue(double nowMs, int max, List<ScheduledTimer> due)
    {
        due.Clear();
        lock (_sync)
        {
            while (due.Count < max)
            {
                SkipStale();
                if (!_heap.TryPeek(out var first, out double at) || at > nowMs) break;
                _heap.Dequeue();
                _current.Remove(first.Slot);
                due.Add(first);
            }
        }
    }

    private void SkipStale()
    {
        while (_heap.TryPeek(out var first, out _) && !(_current.TryGetValue(first.Slot, out var cur) && cur.IsSameAs(first)))
            _heap.Dequeue();
    }

    // Resets of the same timers leave stale heap entries behind; rebuild when they dominate.
    private void CompactIfMostlyStale()
    {
        if (_heap.Count < 1024 || _heap.Count < 4 * _current.Count) return;
        _heap.Clear();
        foreach (var t in _current.Values) _heap.Enqueue(t, t.DueMs);
    }
}
