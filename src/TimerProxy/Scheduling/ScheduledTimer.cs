using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using RedisTimer.Resp;

namespace RedisTimer.Proxy.Scheduling;

/// <summary>
/// One timer as the scheduler holds it: the version that the fire transaction checks, so a timer changed
/// meanwhile is not fired in its old form, and its definition as stored (the def field, MessagePack
/// {fn, iv, loop, numkeys, keys.., args..}), from which the fire writes the user's FCALL directly.
/// </summary>
/// <remarks>
/// All of it is one byte array on the pinned object heap, which collections of the young generations neither
/// trace nor copy. A burst's 100k timers wait in memory for seconds; held as objects (a record, its id, version
/// and definition) they were young when the burst began, and the first collections during it copied them: pauses
/// of 12-26 ms, during which no client was served (bench/timer-bench.sh, PING through the proxy during the burst,
/// against 2-5 ms straight to Redis).
/// </remarks>
public readonly struct ScheduledTimer
{
    // db | id length | version length | loop | (3 unused) | due ms | interval ms, then id, version, definition.
    private const int HeaderLength = 32;
    private const int IdLengthAt = 4, VersionLengthAt = 8, LoopAt = 12, DueAt = 16, IntervalAt = 24;

    private readonly byte[] _blob;

    private ScheduledTimer(byte[] blob) => _blob = blob;

    public static ScheduledTimer Create(int db, ReadOnlySpan<byte> id, ReadOnlySpan<byte> version, double dueMs, bool loop,
        double intervalMs, ReadOnlySpan<byte> definition)
    {
        var blob = GC.AllocateUninitializedArray<byte>(HeaderLength + id.Length + version.Length + definition.Length, pinned: true);
        var span = blob.AsSpan();
        BinaryPrimitives.WriteInt32LittleEndian(span, db);
        BinaryPrimitives.WriteInt32LittleEndian(span[IdLengthAt..], id.Length);
        BinaryPrimitives.WriteInt32LittleEndian(span[VersionLengthAt..], version.Length);
        span[LoopAt..DueAt].Clear();
        span[LoopAt] = loop ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteDoubleLittleEndian(span[DueAt..], dueMs);
        BinaryPrimitives.WriteDoubleLittleEndian(span[IntervalAt..], intervalMs);
        id.CopyTo(span[HeaderLength..]);
        version.CopyTo(span[(HeaderLength + id.Length)..]);
        definition.CopyTo(span[(HeaderLength + id.Length + version.Length)..]);
        return new ScheduledTimer(blob);
    }

    public bool IsEmpty => _blob is null;

    public int Db => BinaryPrimitives.ReadInt32LittleEndian(_blob);
    public ReadOnlySpan<byte> Id => _blob.AsSpan(HeaderLength, IdLength);
    public ReadOnlySpan<byte> Version => _blob.AsSpan(HeaderLength + IdLength, VersionLength);
    public ReadOnlySpan<byte> Definition => _blob.AsSpan(HeaderLength + IdLength + VersionLength);
    public double DueMs => BinaryPrimitives.ReadDoubleLittleEndian(_blob.AsSpan(DueAt));
    public bool Loop => _blob[LoopAt] != 0;
    public double IntervalMs => BinaryPrimitives.ReadDoubleLittleEndian(_blob.AsSpan(IntervalAt));

    /// <summary>The timer's place in the scheduler: its database and id.</summary>
    public TimerSlot Slot => new(Db, _blob, HeaderLength, IdLength);

    private int IdLength => BinaryPrimitives.ReadInt32LittleEndian(_blob.AsSpan(IdLengthAt));
    private int VersionLength => BinaryPrimitives.ReadInt32LittleEndian(_blob.AsSpan(VersionLengthAt));

    /// <summary>The same held form (not merely equal fields): a newer one replaced it when not.</summary>
    public bool IsSameAs(ScheduledTimer other) => ReferenceEquals(_blob, other._blob);

    /// <summary>A LOOP timer after its fire re-armed it.</summary>
    public ScheduledTimer Rearmed(ReadOnlySpan<byte> version, double dueMs) =>
        Create(Db, Id, version, dueMs, Loop, IntervalMs, Definition);

    // As the library's MAX_DUE: the largest ms a sorted-set score holds exactly.
    private const long MaxDueMs = 1L << 53;

    /// <summary>The timer from its hash fields; <see cref="InvalidDataException"/> or <see cref="FormatException"/>
    /// when they are malformed (written by hand).</summary>
    public static ScheduledTimer FromFields(int db, ReadOnlySpan<byte> id, ReadOnlySpan<byte> version, string due, byte[] definition)
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
        return Create(db, id, version, double.Parse(due, CultureInfo.InvariantCulture), loop, intervalMs, definition);
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

    /// <summary>The id as text, for logs.</summary>
    public string IdText => Encoding.UTF8.GetString(Id);
}

/// <summary>A timer's database and id, as a key of the scheduler's tables; the id bytes are not copied.</summary>
public readonly struct TimerSlot(int db, byte[] bytes, int offset, int length) : IEquatable<TimerSlot>
{
    public static TimerSlot Of(int db, byte[] id) => new(db, id, 0, id.Length);

    public int Db { get; } = db;
    public ReadOnlySpan<byte> Id => bytes.AsSpan(offset, length);

    public bool Equals(TimerSlot other) => Db == other.Db && Id.SequenceEqual(other.Id);
    public override bool Equals(object? obj) => obj is TimerSlot other && Equals(other);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Db);
        hash.AddBytes(Id);
        return hash.ToHashCode();
    }
}
