using System.Buffers;

namespace RedisTimer.Resp;

/// <summary>What <see cref="RequestScanner.Next"/> found.</summary>
public enum RequestEvent
{
    /// <summary>The buffer ends inside a frame (or before one starts); nothing past the reader's position is complete.</summary>
    NeedMoreData,
    /// <summary>The command name of the current frame is known (<see cref="RequestScanner.Name"/>); the frame may continue.</summary>
    Name,
    /// <summary>The current frame ended at the reader's position.</summary>
    End,
    /// <summary>
    /// Malformed request: <see cref="RequestScanner.Error"/> says which, in Redis's words. The reader stands at the start
    /// of the malformed line: the frame's start, or the bulk header's (<see cref="RequestScanner.IsBulkHeaderError"/>).
    /// </summary>
    Error,
}

/// <summary>
/// Frames client requests as Redis 7.0's processMultibulkBuffer/processInlineBuffer do, without copying them:
/// it reports a frame's command name as soon as it is known, then lets the caller stream the rest of the frame
/// (a 10 MB value passes through without ever being whole in memory). Resumable: state is kept between calls,
/// and it never consumes an incomplete header line, only payload bytes.
/// </summary>
public sealed class RequestScanner
{
    /// <summary>Names longer than this cannot be a command we route, so they are not copied.</summary>
    public const int MaxNameLength = 64;

    private enum State : byte { FrameStart, BulkHeader, Payload, FrameEnd }

    private readonly RespLimits _limits;
    private readonly byte[] _name = new byte[MaxNameLength];
    private State _state;
    private long _argsLeft;     // bulks of the current multibulk not started yet
    private long _payloadLeft;  // payload + CRLF bytes of the current bulk still to pass
    private bool _nameKnown;
    private int _nameLength;

    public RequestScanner(RespLimits? limits = null) => _limits = limits ?? RespLimits.Default;

    /// <summary>True between frames: the reader's position is where the next frame starts.</summary>
    public bool AtFrameStart => _state == State.FrameStart;

    /// <summary>True once the current frame's name has been reported.</summary>
    public bool NameKnown => _nameKnown;

    /// <summary>The current frame's command name as sent (any case); empty when longer than <see cref="MaxNameLength"/>.</summary>
    public ReadOnlySpan<byte> Name => _name.AsSpan(0, _nameLength);

    /// <summary>For an inline frame, its arguments (inline commands are typed by hand, so allocating is fine).</summary>
    public List<byte[]>? InlineArguments { get; private set; }

    /// <summary>Number of arguments of the current multibulk frame, including the name.</summary>
    public long ArgumentCount { get; private set; }

    public ProtocolError Error { get; private set; }

    /// <summary>The byte found instead of '$' for <see cref="ProtocolError.ExpectedDollar"/>.</summary>
    public byte ErrorByte { get; private set; }

    /// <summary>Forget the current frame; the caller rewinds its reader to the frame's start.</summary>
    public void Reset()
    {
        _state = State.FrameStart;
        _nameKnown = false;
        _nameLength = 0;
        _argsLeft = 0;
        _payloadLeft = 0;
        InlineArguments = null;
    }

    public RequestEvent Next(ref SequenceReader<byte> reader)
    {
        while (true)
        {
            switch (_state)
            {
                case State.FrameStart:
                    if (reader.End) return RequestEvent.NeedMoreData;
                    _nameKnown = false;
                    _nameLength = 0;
                    InlineArguments = null;
                    reader.TryPeek(out byte first);
                    if (first != (byte)'*') return ReadInline(ref reader);
                    {
                        long lineStart = reader.Consumed;
                        var status = ReadCountLine(ref reader, ProtocolError.TooBigMultibulkCountString, out long count);
                        if (status != RequestEvent.End) return status;
                        if (count > _limits.MaxMultibulkLength) return Fail(ProtocolError.InvalidMultibulkLength, ref reader, lineStart);
                        ArgumentCount = Math.Max(count, 0);
                        // Redis treats *0 and negative counts as an empty request: nothing runs, nothing replies.
                        if (count <= 0) return RequestEvent.End;
                        _argsLeft = count;
                        _state = State.BulkHeader;
                    }
                    break;

                case State.BulkHeader:
                    {
                        if (reader.End) return RequestEvent.NeedMoreData;
                        long lineStart = reader.Consumed;
                        var status = ReadCountLine(ref reader, ProtocolError.TooBigBulkCountString, out long length);
                        if (status != RequestEvent.End) return status;
                        if (length < 0 || length > _limits.MaxBulkLength) return Fail(ProtocolError.InvalidBulkLength, ref reader, lineStart);
                        _argsLeft--;
                        // Redis skips the two bytes after the payload without checking them. (Saturate: under a
                        // raised limit a length near long.MaxValue must wait for data, not overflow.)
                        _payloadLeft = length <= long.MaxValue - 2 ? length + 2 : long.MaxValue;
                        _state = State.Payload;
                    }
                    break;

                case State.Payload:
                    if (!_nameKnown)
                    {
                        long length = _payloadLeft - 2;
                        if (length <= MaxNameLength)
                        {
                            if (reader.Remaining < _payloadLeft) return RequestEvent.NeedMoreData;
                            reader.TryCopyTo(_name.AsSpan(0, (int)length));
                            _nameLength = (int)length;
                            reader.Advance(_payloadLeft);
                            _payloadLeft = 0;
                            _state = _argsLeft > 0 ? State.BulkHeader : State.FrameEnd;
                        }
                        _nameKnown = true;
                        return RequestEvent.Name;
                    }
                    {
                        long step = Math.Min(reader.Remaining, _payloadLeft);
                        reader.Advance(step);
                        _payloadLeft -= step;
                        if (_payloadLeft > 0) return RequestEvent.NeedMoreData;
                        if (_argsLeft > 0)
                        {
                            _state = State.BulkHeader;
                            break;
                        }
                        _state = State.FrameStart;
                        return RequestEvent.End;
                    }

                case State.FrameEnd:
                    _state = State.FrameStart;
                    return RequestEvent.End;
            }
        }
    }

    // Reads "<type><integer>\r?" up to Redis's 64 KiB limit. Like Redis (strchr on a C string) a NUL byte
    // hides the '\r' behind it; like Redis the byte after '\r' must be present but is not checked.
    private RequestEvent ReadCountLine(ref SequenceReader<byte> reader, ProtocolError tooBig, out long value)
    {
        // The usual line, "*3\r\n" or "$16\r\n", whole in the current segment: 1 to 18 digits without a leading
        // zero, '\r' and the byte after it. Everything else (zero, signs, long numbers, NUL, a line split across
        // segments, a wrong type byte) takes the general path below, which decides it as Redis does.
        var span = reader.UnreadSpan;
        if (span.Length >= 4 && (span[0] == (byte)'$' || _state == State.FrameStart) && (uint)(span[1] - '1') <= 8)
        {
            long v = span[1] - '0';
            int i = 2, end = Math.Min(span.Length - 1, 19);
            for (; i < end; i++)
            {
                uint d = (uint)(span[i] - '0');
                if (d > 9) break;
                v = v * 10 + d;
            }
            if (i < span.Length - 1 && span[i] == (byte)'\r')
            {
                value = v;
                reader.Advance(i + 2);
                return RequestEvent.End;
            }
        }
        value = 0;
        var unread = reader.UnreadSequence;
        var stop = IndexOfCrOrNul(unread, out bool foundCr);
        if (!foundCr || stop + 2 > unread.Length)
        {
            // Redis checks the limit only when strchr finds no CR; a CR without the byte after it just waits
            // (string2ll then refuses an overlong number).
            if (!foundCr && unread.Length > _limits.MaxInlineLength) return Fail(tooBig);
            return RequestEvent.NeedMoreData;
        }
        var line = unread.Slice(0, stop);
        byte type = unread.FirstSpan[0];
        if (_state == State.BulkHeader && type != (byte)'$')
        {
            ErrorByte = type;
            return Fail(ProtocolError.ExpectedDollar);
        }
        if (line.IsEmpty || !RespInteger.TryParse(line.Slice(1), out value))
            return Fail(_state == State.FrameStart ? ProtocolError.InvalidMultibulkLength : ProtocolError.InvalidBulkLength);
        reader.Advance(stop + 2);
        return RequestEvent.End;
    }

    private RequestEvent ReadInline(ref SequenceReader<byte> reader)
    {
        var unread = reader.UnreadSequence;
        long newline = IndexOfByteBeforeNul(unread, (byte)'\n');
        if (newline < 0)
        {
            if (unread.Length > _limits.MaxInlineLength) return Fail(ProtocolError.TooBigInlineRequest);
            return RequestEvent.NeedMoreData;
        }
        var lineSeq = unread.Slice(0, newline);
        byte[] line = lineSeq.ToArray();
        int length = line.Length;
        if (length > 0 && line[length - 1] == (byte)'\r') length--;
        var args = InlineCommand.Split(line.AsSpan(0, length));
        if (args is null) return Fail(ProtocolError.UnbalancedQuotes);
        reader.Advance(newline + 1);
        InlineArguments = args;
        ArgumentCount = args.Count;
        if (args.Count == 0) return RequestEvent.End; // Redis ignores empty lines
        var name = args[0];
        if (name.Length <= MaxNameLength)
        {
            name.CopyTo(_name, 0);
            _nameLength = name.Length;
        }
        _nameKnown = true;
        _state = State.FrameEnd;
        return RequestEvent.Name;
    }

    private RequestEvent Fail(ProtocolError error)
    {
        Error = error;
        return RequestEvent.Error;
    }

    // A line read whole but refused: the reader goes back to its start, like every other error leaves it.
    private RequestEvent Fail(ProtocolError error, ref SequenceReader<byte> reader, long lineStart)
    {
        reader.Rewind(reader.Consumed - lineStart);
        return Fail(error);
    }

    /// <summary>
    /// True for the errors found at a bulk header, inside a multibulk frame whose earlier arguments a caller may have
    /// streamed on already; the others are found at a frame's start.
    /// </summary>
    public static bool IsBulkHeaderError(ProtocolError error) =>
        error is ProtocolError.InvalidBulkLength or ProtocolError.ExpectedDollar or ProtocolError.TooBigBulkCountString;

    private static long IndexOfCrOrNul(in ReadOnlySequence<byte> seq, out bool foundCr)
    {
        long offset = 0;
        foreach (var segment in seq)
        {
            int i = segment.Span.IndexOfAny((byte)'\r', (byte)0);
            if (i >= 0)
            {
                foundCr = segment.Span[i] == (byte)'\r';
                return offset + i;
            }
            offset += segment.Length;
        }
        foundCr = false;
        return offset;
    }

    private static long IndexOfByteBeforeNul(in ReadOnlySequence<byte> seq, byte target)
    {
        long offset = 0;
        foreach (var segment in seq)
        {
            int i = segment.Span.IndexOfAny(target, (byte)0);
            if (i >= 0) return segment.Span[i] == target ? offset + i : -1;
            offset += segment.Length;
        }
        return -1;
    }
}
