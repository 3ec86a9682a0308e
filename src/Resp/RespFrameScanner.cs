using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace RedisTimer.Resp;

/// <summary>Outcome of <see cref="RespFrameScanner.TryScan"/>.</summary>
public enum RespFrameStatus : byte
{
    /// <summary>All input was consumed and the frame is not finished yet; call again with the bytes that follow.</summary>
    NeedMoreData,

    /// <summary>A whole top-level frame ended; the reader stands just after it.</summary>
    Complete,

    /// <summary>The input is not a RESP reply, or breaks a limit; the reader stands at the offending byte.</summary>
    Invalid,
}

/// <summary>A complete top-level reply frame found by <see cref="RespFrameScanner"/>.</summary>
public readonly struct RespFrame
{
    public RespFrame(long length, byte type, bool hasAttributes)
    {
        Length = length;
        Type = type;
        HasAttributes = hasAttributes;
    }

    /// <summary>Bytes of the whole frame, including any leading attributes.</summary>
    public long Length { get; }

    /// <summary>Type byte of the top-level value; leading attributes (<c>|</c>) are skipped.</summary>
    public byte Type { get; }

    /// <summary>True when the frame starts with one or more RESP3 attributes (<c>|</c>).</summary>
    public bool HasAttributes { get; }

    /// <summary>True for a RESP3 out-of-band push (<c>&gt;</c>), which is not the reply to any command.</summary>
    public bool IsPush => Type == (byte)'>';

    public override string ToString() => $"'{(char)Type}' {Length} bytes";
}

/// <summary>Limits a <see cref="RespFrameScanner"/> enforces as soon as a length or count is read.</summary>
public readonly struct RespFrameLimits
{
    /// <summary>Redis's default proto-max-bulk-len (512 MB).</summary>
    public const long DefaultMaxBulkLength = 512L * 1024 * 1024;

    /// <summary>2^32 - 1: the most elements a Redis list, set or hash can hold, so a real reply never exceeds it.</summary>
    public const long DefaultMaxAggregateCount = uint.MaxValue;

    public const int DefaultMaxDepth = 128;

    /// <summary>
    /// The deepest nesting a scanner can follow. The first <see cref="RespFrameScanner.InlineDepth"/> levels
    /// cost no allocation; deeper ones (a Lua script can return tables nested a few thousand deep) take an array.
    /// </summary>
    public const int MaxSupportedDepth = 1 << 16;

    private readonly long _maxBulkLength;
    private readonly long _maxAggregateCount;
    private readonly int _maxDepth;

    public RespFrameLimits()
    {
        _maxBulkLength = DefaultMaxBulkLength;
        _maxAggregateCount = DefaultMaxAggregateCount;
        _maxDepth = DefaultMaxDepth;
    }

    public static RespFrameLimits Default => new();

    /// <summary>Largest accepted <c>$ = !</c> payload, and longest accepted <c>+ - , (</c> line.</summary>
    public long MaxBulkLength
    {
        get => _maxBulkLength;
        init => _maxBulkLength = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(MaxBulkLength));
    }

    /// <summary>Largest accepted element count of <c>* ~ &gt;</c>, or entry count of <c>% |</c>.</summary>
    public long MaxAggregateCount
    {
        // Capped so that doubling a map's entry count cannot overflow.
        get => _maxAggregateCount;
        init => _maxAggregateCount = value is >= 0 and <= long.MaxValue / 2
            ? value
            : throw new ArgumentOutOfRangeException(nameof(MaxAggregateCount));
    }

    /// <summary>Most aggregates (attributes included) that may be open at once.</summary>
    public int MaxDepth
    {
        get => _maxDepth;
        init => _maxDepth = value is >= 1 and <= MaxSupportedDepth
            ? value
            : throw new ArgumentOutOfRangeException(nameof(MaxDepth), $"must be 1..{MaxSupportedDepth}");
    }
}

/// <summary>
/// Finds the end of each RESP2/RESP3 reply frame without materialising it, so a proxy can forward reply bytes
/// unchanged while it counts replies. Resumable: after <see cref="RespFrameStatus.NeedMoreData"/> every byte
/// given was consumed into the scanner's state, and the next call continues with the bytes that follow, so
/// a large reply is never rescanned and need not be buffered whole.
/// </summary>
/// <remarks>
/// A mutable struct (about 1 KB, counters inline to InlineDepth levels) so it costs no allocation: keep it in a field or local and
/// pass it by reference, never copy it mid-frame. <c>default</c> is a ready scanner with default limits.
/// RESP3 streamed strings and aggregates (<c>$?</c>, <c>*?</c>) are Invalid: Redis never sends them.
/// </remarks>
public struct RespFrameScanner
{
    private enum State : byte
    {
        TypeByte = 0,   // default: the next byte starts a value
        Number,         // digits of an integer, a length or a count
        NumberLf,
        Line,           // content of + - , ( up to CR
        LineLf,
        Boolean,
        Cr,
        Lf,
        Payload,        // bytes of a $ = ! blob
        Invalid,
    }

    /// <summary>Levels of nesting counted inline, without allocating.</summary>
    public const int InlineDepth = 128;

    [InlineArray(InlineDepth)]
    private struct CounterStack
    {
        private long _element0;
    }

    private long _maxBulkLength;
    private long _maxAggregateCount;
    private int _maxDepth; // 0 until limits are applied, so default(RespFrameScanner) gets the defaults lazily

    private State _state;
    private byte _valueType;       // type byte of the value being read
    private byte _frameType;
    private bool _hasAttributes;
    private bool _negative;
    private int _digits;
    private ulong _number;
    private long _remaining;       // Payload: bytes still to skip; Line: bytes seen so far
    private long _frameLength;     // bytes consumed by earlier calls for the current frame
    private int _depth;
    // Elements still expected per open aggregate; negative for an attribute, which counts up to zero.
    private CounterStack _pending;
    private long[]? _deeper;       // levels from InlineDepth on

    [UnscopedRef]
    private ref long Pending(int level)
    {
        if (level < InlineDepth) return ref _pending[level];
        int at = level - InlineDepth;
        if (_deeper is null || at >= _deeper.Length) Array.Resize(ref _deeper, Math.Max(InlineDepth, (_deeper?.Length ?? 0) * 2));
        return ref _deeper[at];
    }

    public RespFrameScanner() : this(RespFrameLimits.Default)
    {
    }

    public RespFrameScanner(RespFrameLimits limits)
    {
        // default(RespFrameLimits) has MaxDepth 0: refuse it rather than reject every aggregate later.
        if (limits.MaxDepth < 1) throw new ArgumentException("Limits are not initialised; use new RespFrameLimits().", nameof(limits));
        _maxBulkLength = limits.MaxBulkLength;
        _maxAggregateCount = limits.MaxAggregateCount;
        _maxDepth = limits.MaxDepth;
    }

    /// <summary>Bytes of the current, unfinished frame consumed so far.</summary>
    public readonly long PendingLength => _frameLength;

    /// <summary>Forgets any partial frame and a previous Invalid result; keeps the limits.</summary>
    public void Reset()
    {
        var bulk = _maxBulkLength;
        var count = _maxAggregateCount;
        var depth = _maxDepth;
        this = default;
        _maxBulkLength = bulk;
        _maxAggregateCount = count;
        _maxDepth = depth;
    }

    /// <summary>
    /// Consumes reply bytes until one top-level frame ends (<see cref="RespFrameStatus.Complete"/>, reader just
    /// after it) or the input runs out (<see cref="RespFrameStatus.NeedMoreData"/>, reader at its end).
    /// Invalid is sticky until <see cref="Reset"/>. Never throws on reply bytes.
    /// </summary>
    public RespFrameStatus TryScan(ref SequenceReader<byte> reader, out RespFrame frame)
    {
        if (_maxDepth == 0) ApplyDefaultLimits();
        while (!reader.End)
        {
            if (_state == State.Invalid) break;
            var span = reader.UnreadSpan;
            bool complete = ScanSpan(span, out int used);
            reader.Advance(used);
            _frameLength += used;
            if (complete)
            {
                frame = new RespFrame(_frameLength, _frameType, _hasAttributes);
                StartNextFrame();
                return RespFrameStatus.Complete;
            }
        }
        frame = default;
        return _state == State.Invalid ? RespFrameStatus.Invalid : RespFrameStatus.NeedMoreData;
    }

    /// <summary>Scans <paramref name="data"/> from its start; <paramref name="consumed"/> is where the reader stopped.</summary>
    public RespFrameStatus TryScan(in ReadOnlySequence<byte> data, out RespFrame frame, out SequencePosition consumed)
    {
        var reader = new SequenceReader<byte>(data);
        var status = TryScan(ref reader, out frame);
        consumed = reader.Position;
        return status;
    }

    /// <summary>One-shot check of a buffer that starts at a frame boundary, without keeping state.</summary>
    public static RespFrameStatus TryScanFrame(in ReadOnlySequence<byte> data, out RespFrame frame, RespFrameLimits limits)
    {
        var scanner = new RespFrameScanner(limits);
        var reader = new SequenceReader<byte>(data);
        return scanner.TryScan(ref reader, out frame);
    }

    /// <inheritdoc cref="TryScanFrame(in ReadOnlySequence{byte}, out RespFrame, RespFrameLimits)"/>
    public static RespFrameStatus TryScanFrame(in ReadOnlySequence<byte> data, out RespFrame frame)
        => TryScanFrame(data, out frame, RespFrameLimits.Default);

    /// <summary>
    /// True when a complete top-level frame is a RESP3 push (<c>&gt;</c>), also behind leading attributes.
    /// Prefer <see cref="RespFrame.IsPush"/> when the frame came from a scan.
    /// </summary>
    public static bool IsPush(in ReadOnlySequence<byte> frame)
    {
        if (frame.IsEmpty) return false;
        byte first = frame.FirstSpan[0];
        if (first != (byte)'|') return first == (byte)'>';
        // Rare: only attributes make us scan, to find the value they precede.
        return TryScanFrame(frame, out var found, new RespFrameLimits { MaxBulkLength = long.MaxValue, MaxAggregateCount = long.MaxValue / 2 })
            == RespFrameStatus.Complete && found.IsPush;
    }

    private void ApplyDefaultLimits()
    {
        _maxBulkLength = RespFrameLimits.DefaultMaxBulkLength;
        _maxAggregateCount = RespFrameLimits.DefaultMaxAggregateCount;
        _maxDepth = RespFrameLimits.DefaultMaxDepth;
    }

    private void StartNextFrame()
    {
        _state = State.TypeByte;
        _frameType = 0;
        _hasAttributes = false;
        _frameLength = 0;
        _depth = 0;
    }

    // Returns true when a top-level frame ended; used = bytes consumed from span (the offending byte is not consumed).
    private bool ScanSpan(ReadOnlySpan<byte> span, out int used)
    {
        int i = 0;
        while (i < span.Length)
        {
            switch (_state)
            {
                case State.TypeByte:
                    if (!StartValue(span[i])) goto Invalid;
                    i++;
                    break;

                case State.Number:
                    {
                        // Tight loop: lengths and integers are the bytes a reply stream has most of.
                        ulong limit = NumberLimit();
                        ulong number = _number;
                        int digits = _digits;
                        while (i < span.Length)
                        {
                            uint d = (uint)(span[i] - '0');
                            if (d <= 9)
                            {
                                // Every limit is at most 2^63, so a number this big is over it already;
                                // stopping here keeps number * 10 + 9 from wrapping.
                                if (number > (ulong.MaxValue - 9) / 10) goto Invalid;
                                number = number * 10 + d;
                                digits++;
                                if (number > limit) goto Invalid;
                                i++;
                            }
                            else if (span[i] == (byte)'\r' && digits > 0)
                            {
                                i++;
                                _state = State.NumberLf;
                                break;
                            }
                            else if (span[i] == (byte)'-' && digits == 0 && !_negative && AllowsNegative(_valueType))
                            {
                                _negative = true;
                                limit = NumberLimit();
                                i++;
                            }
                            else
                            {
                                goto Invalid;
                            }
                        }
                        _number = number;
                        _digits = digits;
                        break;
                    }

                case State.NumberLf:
                    if (span[i] != (byte)'\n') goto Invalid;
                    i++;
                    switch (EndNumber())
                    {
                        case Step.Invalid: i--; goto Invalid;
                        case Step.FrameComplete: used = i; return true;
                    }
                    break;

                case State.Line:
                    {
                        int cr = span.Slice(i).IndexOf((byte)'\r');
                        int take = cr < 0 ? span.Length - i : cr;
                        _remaining += take;
                        if (_remaining > _maxBulkLength)
                        {
                            i += (int)Math.Min(take, _maxBulkLength - (_remaining - take));
                            goto Invalid;
                        }
                        i += take;
                        if (cr >= 0)
                        {
                            i++;
                            _state = State.LineLf;
                        }
                        break;
                    }

                case State.Payload:
                    {
                        int take = (int)Math.Min(_remaining, span.Length - i);
                        i += take;
                        _remaining -= take;
                        if (_remaining == 0) _state = State.Cr;
                        break;
                    }

                case State.Boolean:
                    if (span[i] != (byte)'t' && span[i] != (byte)'f') goto Invalid;
                    i++;
                    _state = State.Cr;
                    break;

                case State.Cr:
                    if (span[i] != (byte)'\r') goto Invalid;
                    i++;
                    _state = State.Lf;
                    break;

                case State.LineLf:
                case State.Lf:
                    if (span[i] != (byte)'\n') goto Invalid;
                    i++;
                    if (EndValue()) { used = i; return true; }
                    break;

                default:
                    goto Invalid;
            }
        }
        used = i;
        return false;

    Invalid:
        _state = State.Invalid;
        used = i;
        return false;
    }

    private enum Step : byte { Continue, FrameComplete, Invalid }

    private bool StartValue(byte type)
    {
        _valueType = type;
        switch (type)
        {
            case (byte)'+': case (byte)'-': case (byte)',': case (byte)'(':
                _remaining = 0;
                _state = State.Line;
                break;
            case (byte)':': case (byte)'$': case (byte)'=': case (byte)'!':
                BeginNumber();
                break;
            case (byte)'*': case (byte)'%': case (byte)'~': case (byte)'>': case (byte)'|':
                // Checked at the header, so even an empty aggregate may not sit deeper than the limit.
                if (_depth >= _maxDepth) return false;
                BeginNumber();
                break;
            case (byte)'_':
                _state = State.Cr;
                break;
            case (byte)'#':
                _state = State.Boolean;
                break;
            default:
                return false;
        }
        if (_depth == 0)
        {
            if (type == (byte)'|') _hasAttributes = true;
            else _frameType = type;
        }
        return true;
    }

    private void BeginNumber()
    {
        _number = 0;
        _digits = 0;
        _negative = false;
        _state = State.Number;
    }

    // Only $-1 (RESP2 null bulk), *-1 (RESP2 null array) and integers may be negative.
    private static bool AllowsNegative(byte type) => type is (byte)':' or (byte)'$' or (byte)'*';

    private readonly ulong NumberLimit() => _valueType switch
    {
        (byte)':' => _negative ? 1UL << 63 : long.MaxValue,
        (byte)'$' or (byte)'=' or (byte)'!' => _negative ? 1 : (ulong)_maxBulkLength,
        _ => _negative ? 1 : (ulong)_maxAggregateCount,
    };

    private Step EndNumber()
    {
        byte type = _valueType;
        if (type == (byte)':') return EndValue() ? Step.FrameComplete : Step.Continue;
        if (_negative)
        {
            // $-0 or *-0 is not a null.
            if (_number != 1) return Step.Invalid;
            return EndValue() ? Step.FrameComplete : Step.Continue;
        }
        if (type is (byte)'$' or (byte)'=' or (byte)'!')
        {
            _remaining = (long)_number;
            _state = _remaining == 0 ? State.Cr : State.Payload;
            return Step.Continue;
        }

        long count = (long)_number;
        bool attribute = type == (byte)'|';
        if (attribute || type == (byte)'%') count *= 2;
        _state = State.TypeByte;
        if (count == 0)
        {
            // An empty attribute only prefixes the next value; an empty aggregate is a whole value.
            if (attribute) return Step.Continue;
            return EndValue() ? Step.FrameComplete : Step.Continue;
        }
        Pending(_depth++) = attribute ? -count : count;
        return Step.Continue;
    }

    // A value ended: close every aggregate it completes. True when that finishes the top-level frame.
    private bool EndValue()
    {
        _state = State.TypeByte;
        while (_depth > 0)
        {
            ref long pending = ref Pending(_depth - 1);
            if (pending > 0)
            {
                if (--pending != 0) return false;
                _depth--; // the aggregate is now a finished value of its parent
            }
            else
            {
                if (++pending != 0) return false;
                _depth--;
                return false; // a finished attribute is not a value: the value it annotates follows
            }
        }
        return true;
    }
}
