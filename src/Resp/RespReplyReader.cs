using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Text;

namespace RedisTimer.Resp;

/// <summary>
/// Reads the replies on a connection the proxy speaks on itself (the fire connection, the start-up check, the
/// handshake), one reply at a time without copying it: <see cref="NextAsync"/> gives the next whole reply,
/// <see cref="NextHeaderAsync"/> only the header of an aggregate, whose elements then follow one by one, so an
/// EXEC of hundreds of results (or one huge result) is never held whole. A reply stays valid until the next call.
/// </summary>
/// <remarks>
/// Incomplete input is resumed, not rescanned: the frame scanner keeps its state while the pipe gathers more bytes.
/// Call <see cref="Release"/> once the replies expected are read, before anyone else reads the pipe.
/// </remarks>
public sealed class RespReplyReader(PipeReader input)
{
    private RespFrameScanner _scanner;
    private ReadOnlySequence<byte> _buffer;
    private SequencePosition _start;
    private bool _holding;
    private bool _completed;

    /// <summary>The next whole reply.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<RespReply> NextAsync(CancellationToken cancel = default)
    {
        while (true)
        {
            if (_holding && TryTakeFrame(out var reply)) return reply;
            await FillAsync(cancel);
        }
    }

    /// <summary>
    /// The header of the next reply when it is an array, set, map or push with elements (the reply's
    /// <see cref="RespReply.Count"/>; read the elements, a map's as key and value each, with <see cref="NextAsync"/>);
    /// any other reply whole.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<RespReply> NextHeaderAsync(CancellationToken cancel = default)
    {
        while (true)
        {
            if (_holding && _scanner.PendingLength == 0)
            {
                var reader = new SequenceReader<byte>(_buffer.Slice(_start));
                if (reader.TryPeek(out byte type) && type is not ((byte)'*' or (byte)'~' or (byte)'%' or (byte)'>'))
                {
                    if (TryTakeFrame(out var whole)) return whole;
                }
                else if (reader.TryReadTo(out ReadOnlySequence<byte> _, "\r\n"u8))
                {
                    var header = new RespReply(_buffer.Slice(_start, reader.Position));
                    // "*-1" is a whole (null) reply; "*N" is followed by its N elements.
                    _start = reader.Position;
                    return header;
                }
            }
            else if (_holding && TryTakeFrame(out var whole))
            {
                return whole;
            }
            await FillAsync(cancel);
        }
    }

    /// <summary>
    /// Reads past the next reply, consuming it as it arrives (a reply of any size, never held whole), except an
    /// error: its text is returned.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<string?> SkipAsync(CancellationToken cancel = default)
    {
        while (true)
        {
            if (_holding)
            {
                var rest = _buffer.Slice(_start);
                if (_scanner.PendingLength == 0 && !rest.IsEmpty && RespReply.FirstByte(rest) is (byte)'-' or (byte)'!')
                    return (await NextAsync(cancel)).Text;
                if (!rest.IsEmpty)
                {
                    var reader = new SequenceReader<byte>(rest);
                    var status = _scanner.TryScan(ref reader, out _);
                    if (status == RespFrameStatus.Invalid) throw new InvalidDataException("the reply is not valid RESP");
                    // Unlike NextAsync, what the scanner took in is consumed, not kept in the buffer.
                    _start = reader.Position;
                    if (status == RespFrameStatus.Complete) return null;
                }
            }
            await FillAsync(cancel);
        }
    }

    /// <summary>Hands what was read back to the pipe; the next call reads on from there.</summary>
    public void Release()
    {
        if (!_holding) return;
        _holding = false;
        input.AdvanceTo(_start);
    }

    private bool TryTakeFrame(out RespReply reply)
    {
        var rest = _buffer.Slice(_start);
        var reader = new SequenceReader<byte>(rest);
        // Bytes of an unfinished frame that the scanner took in before are still in the buffer: skip them.
        reader.Advance(_scanner.PendingLength);
        switch (_scanner.TryScan(ref reader, out _))
        {
            case RespFrameStatus.Complete:
                reply = new RespReply(rest.Slice(0, reader.Position));
                _start = reader.Position;
                return true;
            case RespFrameStatus.NeedMoreData:
                reply = default;
                return false;
            default:
                throw new InvalidDataException("the reply is not valid RESP");
        }
    }

    private async ValueTask FillAsync(CancellationToken cancel)
    {
        if (_holding)
        {
            if (_completed) throw new IOException("the connection was closed before the reply was complete");
            _holding = false;
            input.AdvanceTo(_start, _buffer.End);
        }
        var result = await input.ReadAsync(cancel);
        _buffer = result.Buffer;
        _start = _buffer.Start;
        _completed = result.IsCompleted;
        _holding = true;
        if (_buffer.IsEmpty && _completed)
        {
            Release();
            throw new IOException("the connection was closed");
        }
    }
}

/// <summary>One reply as <see cref="RespReplyReader"/> gives it: its bytes, and what the proxy asks of a reply.</summary>
public readonly struct RespReply(ReadOnlySequence<byte> bytes)
{
    /// <summary>The reply's bytes (an aggregate's header only, from <see cref="RespReplyReader.NextHeaderAsync"/>).</summary>
    public ReadOnlySequence<byte> Bytes { get; } = bytes;

    public byte Type => FirstByte(Bytes);

    // A slice may begin at the end of a pipe segment, with its first byte in the next one.
    internal static byte FirstByte(in ReadOnlySequence<byte> bytes)
    {
        foreach (var segment in bytes)
            if (!segment.IsEmpty) return segment.Span[0];
        return 0;
    }

    public bool IsError => Type is (byte)'-' or (byte)'!';

    /// <summary>RESP3 null, or a RESP2 null bulk string or null array.</summary>
    public bool IsNull => Type == (byte)'_' || (Type is (byte)'$' or (byte)'*' && Line.Length == 2 && FirstByte(Line) == (byte)'-');

    /// <summary>The number after the type byte: a length, a count or an integer reply; -1 when it is not a number.</summary>
    public long Count => RespInteger.TryParse(Line, out long n) ? n : -1;

    /// <summary>
    /// A simple string's or error's line, or a bulk string's (or bulk error's) bytes; empty for a null.
    /// </summary>
    public ReadOnlySequence<byte> Content
    {
        get
        {
            if (Type is not ((byte)'$' or (byte)'!' or (byte)'=')) return Line;
            long length = Count;
            if (length <= 0) return ReadOnlySequence<byte>.Empty;
            return Bytes.Slice(Line.Length + 3, length);
        }
    }

    /// <summary><see cref="Content"/> as UTF-8 text (an error's text starts with its code, e.g. "ERR ...").</summary>
    public string Text => Encoding.UTF8.GetString(Content);

    public bool ContentEquals(ReadOnlySpan<byte> expected)
    {
        var content = Content;
        if (content.Length != expected.Length) return false;
        if (content.IsSingleSegment) return content.FirstSpan.SequenceEqual(expected);
        foreach (var segment in content)
        {
            if (!segment.Span.SequenceEqual(expected[..segment.Length])) return false;
            expected = expected[segment.Length..];
        }
        return true;
    }

    // The bytes between the type byte and the first CRLF.
    private ReadOnlySequence<byte> Line
    {
        get
        {
            var reader = new SequenceReader<byte>(Bytes);
            reader.Advance(1);
            return reader.TryReadTo(out ReadOnlySequence<byte> line, "\r\n"u8) ? line : ReadOnlySequence<byte>.Empty;
        }
    }

    public override string ToString() => Encoding.UTF8.GetString(Bytes).Replace("\r\n", "\\r\\n");
}
