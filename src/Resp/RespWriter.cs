using System.Buffers;
using System.Buffers.Text;

namespace RedisTimer.Resp;

/// <summary>
/// Writes RESP replies into an <see cref="IBufferWriter{T}"/> with no allocation per call.
/// Methods that take <c>resp3</c> mirror Redis's own RESP2 fallbacks (networking.c addReplyNull,
/// addReplyMapLen, addReplyBool), so one call site serves clients of either protocol.
/// </summary>
public static class RespWriter
{
    // Type byte + sign + 20 digits + CRLF.
    private const int MaxHeaderLength = 1 + 1 + 20 + 2;

    /// <summary><c>+value\r\n</c>; CR and LF become spaces, as Redis does, so the reply stays one line.</summary>
    public static void WriteSimpleString(IBufferWriter<byte> writer, ReadOnlySpan<byte> value)
        => WriteLine(writer, (byte)'+', value);

    /// <summary>
    /// <c>-message\r\n</c>. The message carries its own code (<c>ERR ...</c>, <c>WRONGTYPE ...</c>);
    /// CR and LF become spaces, as Redis's addReplyErrorFormat does.
    /// </summary>
    public static void WriteError(IBufferWriter<byte> writer, ReadOnlySpan<byte> message)
        => WriteLine(writer, (byte)'-', message);

    /// <summary><c>:value\r\n</c>.</summary>
    public static void WriteInteger(IBufferWriter<byte> writer, long value) => WriteHeader(writer, (byte)':', value);

    /// <summary><c>$length\r\nvalue\r\n</c>.</summary>
    public static void WriteBulkString(IBufferWriter<byte> writer, ReadOnlySpan<byte> value)
    {
        int total = MaxHeaderLength + value.Length + 2;
        if (total > 0 && total <= 4096)
        {
            // Common small case: one span, one Advance.
            var span = writer.GetSpan(total);
            int n = FormatHeader(span, (byte)'$', value.Length);
            value.CopyTo(span.Slice(n));
            n += value.Length;
            span[n++] = (byte)'\r';
            span[n++] = (byte)'\n';
            writer.Advance(n);
            return;
        }
        WriteHeader(writer, (byte)'$', value.Length);
        writer.Write(value); // copies in chunks; a writer need not offer one span as big as the value
        WriteCrlf(writer);
    }

    /// <inheritdoc cref="WriteBulkString(IBufferWriter{byte}, ReadOnlySpan{byte})"/>
    public static void WriteBulkString(IBufferWriter<byte> writer, in ReadOnlySequence<byte> value)
    {
        WriteHeader(writer, (byte)'$', value.Length);
        foreach (var segment in value) writer.Write(segment.Span);
        WriteCrlf(writer);
    }

    /// <summary>Bytes already in RESP (a frame passed on, or a part of one), copied as they are.</summary>
    public static void WriteRaw(IBufferWriter<byte> writer, in ReadOnlySequence<byte> bytes)
    {
        if (bytes.IsSingleSegment)
        {
            if (!bytes.FirstSpan.IsEmpty) writer.Write(bytes.FirstSpan);
            return;
        }
        foreach (var segment in bytes) writer.Write(segment.Span);
    }

    /// <summary>Null: <c>_\r\n</c> in RESP3, the null bulk string <c>$-1\r\n</c> in RESP2.</summary>
    public static void WriteNull(IBufferWriter<byte> writer, bool resp3)
        => WriteRaw(writer, resp3 ? "_\r\n"u8 : "$-1\r\n"u8);

    /// <summary>RESP2 null array <c>*-1\r\n</c>, which Redis still sends for a few commands (e.g. an aborted EXEC).</summary>
    public static void WriteNullArray(IBufferWriter<byte> writer) => WriteRaw(writer, "*-1\r\n"u8);

    /// <summary><c>*count\r\n</c>; the caller writes the elements.</summary>
    public static void WriteArrayHeader(IBufferWriter<byte> writer, int count)
        => WriteHeader(writer, (byte)'*', CheckCount(count));

    /// <summary>
    /// <c>%count\r\n</c> (count = entries) in RESP3; in RESP2 a flat <c>*2count\r\n</c>, as Redis's addReplyMapLen.
    /// The caller writes key, value, key, value...
    /// </summary>
    public static void WriteMapHeader(IBufferWriter<byte> writer, int count, bool resp3)
    {
        CheckCount(count);
        if (resp3) WriteHeader(writer, (byte)'%', count);
        else WriteHeader(writer, (byte)'*', 2L * count);
    }

    /// <summary><c>#t\r\n</c>/<c>#f\r\n</c> in RESP3; <c>:1\r\n</c>/<c>:0\r\n</c> in RESP2, as Redis's addReplyBool.</summary>
    public static void WriteBoolean(IBufferWriter<byte> writer, bool value, bool resp3)
    {
        if (resp3) WriteRaw(writer, value ? "#t\r\n"u8 : "#f\r\n"u8);
        else WriteRaw(writer, value ? ":1\r\n"u8 : ":0\r\n"u8);
    }

    private static int CheckCount(int count)
    {
        if (count < 0) ThrowNegativeCount(count);
        return count;
    }

    private static void ThrowNegativeCount(int count)
        => throw new ArgumentOutOfRangeException(nameof(count), count, "An aggregate count cannot be negative.");

    private static void WriteLine(IBufferWriter<byte> writer, byte type, ReadOnlySpan<byte> value)
    {
        var span = writer.GetSpan(value.Length + 3);
        span[0] = type;
        var body = span.Slice(1, value.Length);
        value.CopyTo(body);
        if (body.IndexOfAny((byte)'\r', (byte)'\n') >= 0)
        {
            body.Replace((byte)'\r', (byte)' ');
            body.Replace((byte)'\n', (byte)' ');
        }
        span[value.Length + 1] = (byte)'\r';
        span[value.Length + 2] = (byte)'\n';
        writer.Advance(value.Length + 3);
    }

    private static void WriteHeader(IBufferWriter<byte> writer, byte type, long value)
    {
        var span = writer.GetSpan(MaxHeaderLength);
        writer.Advance(FormatHeader(span, type, value));
    }

    private static int FormatHeader(Span<byte> span, byte type, long value)
    {
        span[0] = type;
        // Utf8Formatter is culture-free: no locale can change the minus sign or add separators.
        Utf8Formatter.TryFormat(value, span.Slice(1), out int digits);
        int n = 1 + digits;
        span[n++] = (byte)'\r';
        span[n++] = (byte)'\n';
        return n;
    }

    private static void WriteCrlf(IBufferWriter<byte> writer) => WriteRaw(writer, "\r\n"u8);

    private static void WriteRaw(IBufferWriter<byte> writer, ReadOnlySpan<byte> bytes)
    {
        var span = writer.GetSpan(bytes.Length);
        bytes.CopyTo(span);
        writer.Advance(bytes.Length);
    }
}
