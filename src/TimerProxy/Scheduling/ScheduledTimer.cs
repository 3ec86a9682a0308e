using System.Globalization;
using System.Text;
using RedisTimer.Resp;
using StackExchange.Redis;

namespace RedisTimer.Proxy.Scheduling;

/// <summary>
/// One timer as the scheduler holds it: the version that the fire transaction checks, so a timer changed
/// meanwhile is not fired in its old form, and its definition as stored (the def field, MessagePack
/// {fn, iv, loop, numkeys, keys.., args..}), from which the fire writes the user's FCALL directly. Held whole
/// rather than decoded into an object per key and argument: a burst's timers are promoted through the
/// garbage collector's generations while they wait, and fewer objects make those pauses shorter.
/// </summary>
public sealed record ScheduledTimer(int Db, RedisKey Id, string Version, double DueMs, bool Loop, double IntervalMs, byte[] Definition)
{
    public (int, RedisKey) Slot => (Db, Id);

    // As the library's MAX_DUE: the largest ms a sorted-set score holds exactly.
    private const long MaxDueMs = 1L << 53;

    /// <summary>The timer from its hash fields; <see cref="InvalidDataException"/> or <see cref="FormatException"/>
    /// when they are malformed (written by hand).</summary>
    public static ScheduledTimer FromFields(int db, RedisKey id, string version, string due, byte[] definition)
    {
        var def = new MsgPackStrings.Reader(definition);
        if (def.Count < 4) throw new InvalidDataException("def has fewer than 4 fields");
        def.TryRead(out _);
        def.TryRead(out var iv);
        def.TryRead(out var loopField);
        def.TryRead(out var numkeys);
        // The library's rules (Redis's string2ll): what it would not have written is refused here, at load,
        // not by Redis at every fire.
        if (!RespInteger.TryParse(numkeys, out long nk) || nk < 0 || nk > def.Count - 4)
            throw new InvalidDataException("def: numkeys");
        // Every key and argument is read once now, so that writing the FCALL at fire time cannot fail.
        while (def.TryRead(out _)) { }
        bool loop = loopField is [(byte)'1'];
        long intervalMs = 0;
        // Only a LOOP timer uses its interval here (to re-arm): an integer of ms, as TIMER.NEW accepts it.
        if (loop && (!RespInteger.TryParse(iv, out intervalMs) || intervalMs <= 0 || intervalMs > MaxDueMs))
            throw new InvalidDataException("def: interval");
        return new ScheduledTimer(db, id, version, double.Parse(due, CultureInfo.InvariantCulture), loop, intervalMs, definition);
    }

    /// <summary>The function's name, for logs.</summary>
    public string FunctionName
    {
        get
        {
            var def = new MsgPackStrings.Reader(Definition);
            def.TryRead(out var fn);
            return Encoding.UTF8.GetString(fn);
        }
    }
}
