using System.Buffers;

namespace RedisTimer.Resp;

/// <summary>
/// Writes a reply composed in RESP3 as Redis would send it to a RESP2 client (networking.c's fallbacks): a map
/// becomes a flat array of twice as many elements, a set an array, a boolean <c>:1</c>/<c>:0</c>, a null a nil
/// bulk, a double a bulk string. Everything else is copied as it is.
/// </summary>
public static class Resp2Fallback
{
    /// <summary>Writes the whole of <paramref name="resp3"/> (one or more complete values); false, with part of it
    /// written, when it is not RESP3 or ends inside a value.</summary>
    public static bool TryWrite(in ReadOnlySequence<byte> resp3, IBufferWriter<byte> output)
    {
        var reader = new SequenceReader<byte>(resp3);
        while (!reader.End)
        {
            if (!reader.TryRead(out byte type) || !reader.TryReadTo(out ReadOnlySequence<byte> line, "\r\n"u8)) return false;
            switch (type)
            {
                case (byte)'$':
                    if (!RespInteger.TryParse(line, out long length) || length < -1) return false;
                    if (length == -1)
                    {
                        output.Write("$-1\r\n"u8);
                        break;
                    }
                    if (reader.Remaining < length + 2) return false;
                    RespWriter.WriteBulkString(output, reader.UnreadSequence.Slice(0, length));
                    reader.Advance(length);
                    if (!reader.IsNext("\r\n"u8, advancePast: true)) return false;
                    break;
                case (byte)'*' or (byte)'~':
                    if (!RespInteger.TryParse(line, out long count) || count < -1) return false;
                    WriteLine(output, (byte)'*', line);
                    break;
                case (byte)'%':
                    if (!RespInteger.TryParse(line, out long pairs) || pairs < 0 || pairs > int.MaxValue / 2) return false;
                    RespWriter.WriteArrayHeader(output, (int)(2 * pairs));
                    break;
                case (byte)'#':
                    if (line.Length != 1) return false;
                    byte value = line.FirstSpan[0];
                    if (value is not ((byte)'t' or (byte)'f')) return false;
                    output.Write(value == (byte)'t' ? ":1\r\n"u8 : ":0\r\n"u8);
                    break;
                case (byte)'_':
                    if (!line.IsEmpty) return false;
                    output.Write("$-1\r\n"u8);
                    break;
                case (byte)',':
                    RespWriter.WriteBulkString(output, line);
                    break;
                case (byte)':' or (byte)'+' or (byte)'-':
                    WriteLine(output, type, line);
                    break;
                default:
                    return false;
            }
        }
        return true;
    }

    private static void WriteLine(IBufferWriter<byte> output, byte type, in ReadOnlySequence<byte> line)
    {
        output.Write([type]);
        foreach (var segment in line) output.Write(segment.Span);
        output.Write("\r\n"u8);
    }
}
