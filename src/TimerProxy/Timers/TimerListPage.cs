using System.Buffers.Text;
using RedisTimer.Proxy.Scheduling;

namespace RedisTimer.Proxy.Timers;

/// <summary>
/// Reads a page of the library's <c>timer_list</c> (after its <c>l</c>): a msgpack array of strings, the ZSCAN cursor,
/// the server's time in ms, then per timer its id, due, def, runs_ok, runs_failed, last_at, last_late and last_err,
/// '' for a field absent. TIMER.LIST's reply and the dashboard's list are both written from it.
/// </summary>
public ref struct TimerListPage
{
    private const int ValuesPerTimer = 8;

    private MsgPackStrings.Reader _values;

    public ReadOnlySpan<byte> Cursor { get; }
    public long Count { get; }
    private readonly double _nowMs;

    private TimerListPage(MsgPackStrings.Reader values, ReadOnlySpan<byte> cursor, double nowMs)
    {
        _values = values;
        Cursor = cursor;
        _nowMs = nowMs;
        Count = (values.Count - 2) / ValuesPerTimer;
    }

    /// <summary>False when the payload is not what the library sends (its entries are checked as they are read).</summary>
    public static bool TryOpen(ReadOnlySpan<byte> rows, out TimerListPage page)
    {
        page = default;
        try
        {
            var values = new MsgPackStrings.Reader(rows);
            if (values.Count < 2 || (values.Count - 2) % ValuesPerTimer != 0) return false;
            values.TryRead(out var cursor);
            values.TryRead(out var nowText);
            if (!TryReadNumber(nowText, out double nowMs)) return false;
            page = new TimerListPage(values, cursor, nowMs);
            return true;
        }
        catch (InvalidDataException)
        {
            return false;
        }
    }

    /// <summary>The next timer; false at the end. Throws <see cref="InvalidDataException"/> for an entry that is not the library's.</summary>
    public bool TryReadEntry(out TimerListEntry entry)
    {
        entry = default;
        if (!_values.TryRead(out var id)) return false;
        _values.TryRead(out var due);
        _values.TryRead(out var packedDef);
        _values.TryRead(out var runsOk);
        _values.TryRead(out var runsFailed);
        _values.TryRead(out var lastAt);
        _values.TryRead(out var lastLate);
        _values.TryRead(out var lastError);
        var def = new MsgPackStrings.Reader(packedDef);
        if (def.Count < 3 || !def.TryRead(out var function) || !def.TryRead(out var interval) || !def.TryRead(out var loop)
            || !Utf8Parser.TryParse(interval, out long intervalMs, out int used) || used != interval.Length
            || !TryReadNumber(due, out double dueMs))
            throw new InvalidDataException("not a timer_list entry");
        entry = new TimerListEntry
        {
            Id = id,
            Function = function,
            IntervalMs = intervalMs,
            Loop = loop.SequenceEqual("1"u8),
            RemainingMs = (long)Math.Max(0, Math.Floor(dueMs - _nowMs)),
            RunsOk = TryReadInteger(runsOk, out long ok) ? ok : 0,
            RunsFailed = TryReadInteger(runsFailed, out long failed) ? failed : 0,
            LastRun = TryReadInteger(lastAt, out long at) ? at : null,
            LastLateness = TryReadInteger(lastLate, out long late) ? late : null,
            LastError = lastError,
        };
        return true;
    }

    /// <summary>The library writes integers; a field someone edited by hand to another number is shown rounded,
    /// anything else as absent.</summary>
    private static bool TryReadInteger(ReadOnlySpan<byte> text, out long value)
    {
        if (Utf8Parser.TryParse(text, out value, out int used) && used == text.Length) return true;
        if (TryReadNumber(text, out double number) && Math.Abs(number) < 9.2e18)
        {
            value = (long)Math.Round(number, MidpointRounding.ToEven);
            return true;
        }
        value = 0;
        return false;
    }

    private static bool TryReadNumber(ReadOnlySpan<byte> text, out double value) =>
        Utf8Parser.TryParse(text, out value, out int used) && used == text.Length && !text.IsEmpty && double.IsFinite(value);
}

/// <summary>One timer of a <see cref="TimerListPage"/>.</summary>
public ref struct TimerListEntry
{
    public ReadOnlySpan<byte> Id;
    public ReadOnlySpan<byte> Function;
    public long IntervalMs;
    public bool Loop;
    /// <summary>Until it is due, by the server's clock when the page was read; 0 when due already.</summary>
    public long RemainingMs;
    public long RunsOk;
    public long RunsFailed;
    /// <summary>The last run's time (ms, Redis's clock), for a LOOP timer that has run.</summary>
    public long? LastRun;
    public long? LastLateness;
    /// <summary>Empty when the last run succeeded, or there was none.</summary>
    public ReadOnlySpan<byte> LastError;
}
