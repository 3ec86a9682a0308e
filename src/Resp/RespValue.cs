using System.Buffers;
using System.Text;

namespace RedisTimer.Resp;

/// <summary>
/// A parsed reply, for the proxy's own connections (not the forwarding path, which never parses replies).
/// </summary>
public sealed class RespValue
{
    public byte Type { get; private init; }
    public byte[]? Bytes { get; private init; }
    public long Integer { get; private init; }
    public RespValue[]? Items { get; private init; }

    public bool IsNull => Type == (byte)'_' || (Type is (byte)'$' or (byte)'*' && Bytes is null && Items is null);
    public bool IsError => Type is (byte)'-' or (byte)'!';
    public string Text => Bytes is null ? "" : Encoding.UTF8.GetString(Bytes);

    public override string ToString() => Items is null ? $"{(char)Type}{Text}" : $"{(char)Type}[{string.Join(", ", Items.Select(i => i.ToString()))}]";

    /// <summary>Reads one complete value; false (reader unchanged) when the input is incomplete.</summary>
    public static bool TryRead(ref SequenceReader<byte> reader, out RespValue value)
    {
        var start = reader.Position;
        if (TryReadCore(ref reader, out value!)) return true;
        reader.Rewind(reader.Consumed - reader.Sequence.Slice(reader.Sequence.Start, start).Length);
        return false;
    }

    private static bool TryReadCore(ref SequenceReader<byte> reader, out RespValue? value)
    {
        value = null;
        if (!reader.TryRead(out byte type) || !reader.TryReadTo(out ReadOnlySequence<byte> line, "\r\n"u8)) return false;
        switch (type)
        {
            case (byte)'+' or (byte)'-' or (byte)',' or (byte)'(' or (byte)'#':
                value = new RespValue { Type = type, Bytes = line.ToArray() };
                return true;
            case (byte)':':
                RespInteger.TryParse(line, out long n);
                value = new RespValue { Type = type, Integer = n };
                return true;
            case (byte)'_':
                value = new RespValue { Type = type };
                return true;
            case (byte)'$' or (byte)'!' or (byte)'=':
            {
                if (!RespInteger.TryParse(line, out long length)) throw new InvalidDataException("bad bulk length");
                if (length < 0)
                {
                    value = new RespValue { Type = type };
                    return true;
                }
                if (reader.Remaining < length + 2) return false;
                var bytes = new byte[length];
                reader.TryCopyTo(bytes);
                reader.Advance(length + 2);
                value = new RespValue { Type = type, Bytes = bytes };
                return true;
            }
            case (byte)'*' or (byte)'~' or (byte)'>' or (byte)'%':
            {
                if (!RespInteger.TryParse(line, out long count)) throw new InvalidDataException("bad aggregate length");
                if (count < 0)
                {
                    value = new RespValue { Type = type };
                    return true;
                }
                if (type == (byte)'%') count *= 2;
                var items = new RespValue[count];
                for (long i = 0; i < count; i++)
                {
                    if (!TryReadCore(ref reader, out var item)) return false;
                    items[i] = item!;
                }
                value = new RespValue { Type = type, Items = items };
                return true;
            }
            default:
                throw new InvalidDataException($"unknown reply type '{(char)type}'");
        }
    }
}
