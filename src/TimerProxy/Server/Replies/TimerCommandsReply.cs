using System.Buffers;
using System.Text;
using RedisTimer.Proxy.Commands;
using RedisTimer.Resp;

namespace RedisTimer.Proxy.Server.Replies;

/// <summary>
/// Redis's reply to a COMMAND INFO or COMMAND DOCS that names TIMER.* commands, with their entries added
/// (<see cref="TimerCommandDocs"/>): INFO answers each name in order, null for a name Redis does not know, and
/// the TIMER.* ones take the place of those nulls; DOCS leaves unknown names out, and the TIMER.* ones go where
/// they were asked, between Redis's own entries.
/// </summary>
public static class TimerCommandsReply
{
    private static readonly RespFrameLimits Limits = new()
    {
        MaxBulkLength = long.MaxValue, MaxAggregateCount = long.MaxValue / 2, MaxDepth = RespFrameLimits.MaxSupportedDepth,
    };

    /// <summary>Writes the whole reply <paramref name="reply"/> with the entries added; false, with nothing written,
    /// when it is not the reply Redis gives to these <paramref name="names"/>.</summary>
    public static bool TryWrite(in ReadOnlySequence<byte> reply, byte[][] names, bool docs, IBufferWriter<byte> output)
    {
        var composed = new ArrayBufferWriter<byte>((int)Math.Min(reply.Length + 1024, int.MaxValue));
        if (!(docs ? TryWriteDocs(reply, names, composed) : TryWriteInfo(reply, names, composed))) return false;
        output.Write(composed.WrittenSpan);
        return true;
    }

    private static bool TryWriteInfo(in ReadOnlySequence<byte> reply, byte[][] names, IBufferWriter<byte> output)
    {
        var reader = new SequenceReader<byte>(reply);
        if (!TryReadHeader(ref reader, out byte type, out long count) || type != (byte)'*' || count != names.Length) return false;
        RespWriter.WriteArrayHeader(output, names.Length);
        foreach (var name in names)
        {
            if (!TryReadValue(ref reader, out var element)) return false;
            int entry = TimerCommandDocs.Find(name);
            bool isNull = element.Length == 3 && element.FirstSpan[0] == (byte)'_' || element.Length == 5 && element.FirstSpan[0] == (byte)'$';
            if (entry >= 0 && isNull) TimerCommandDocs.WriteInfo(entry, resp3: element.FirstSpan[0] == (byte)'_', output);
            else RespWriter.WriteRaw(output, element);
        }
        return reader.End;
    }

    private static bool TryWriteDocs(in ReadOnlySequence<byte> reply, byte[][] names, IBufferWriter<byte> output)
    {
        var reader = new SequenceReader<byte>(reply);
        if (!TryReadHeader(ref reader, out byte type, out long count)) return false;
        bool resp3 = type == (byte)'%';
        if (!resp3 && (type != (byte)'*' || count % 2 != 0)) return false;
        long pairs = resp3 ? count : count / 2;
        int ours = names.Count(n => TimerCommandDocs.Find(n) >= 0);
        RespWriter.WriteMapHeader(output, (int)(pairs + ours), resp3);
        long copied = 0;
        ReadOnlySequence<byte> key = default, doc = default;
        bool havePair = false;
        foreach (var name in names)
        {
            int entry = TimerCommandDocs.Find(name);
            if (entry >= 0)
            {
                TimerCommandDocs.WriteDocs(entry, resp3, output);
                continue;
            }
            if (!havePair && copied < pairs)
            {
                if (!TryReadValue(ref reader, out key) || !TryReadValue(ref reader, out doc)) return false;
                havePair = true;
            }
            // Redis answers the names it knows in the order asked, under its own spelling of the name.
            if (havePair && BulkEquals(key, name))
            {
                RespWriter.WriteRaw(output, key);
                RespWriter.WriteRaw(output, doc);
                havePair = false;
                copied++;
            }
        }
        if (havePair)
        {
            RespWriter.WriteRaw(output, key);
            RespWriter.WriteRaw(output, doc);
            copied++;
        }
        for (; copied < pairs; copied++)
        {
            if (!TryReadValue(ref reader, out key) || !TryReadValue(ref reader, out doc)) return false;
            RespWriter.WriteRaw(output, key);
            RespWriter.WriteRaw(output, doc);
        }
        return reader.End;
    }

    private static bool TryReadHeader(ref SequenceReader<byte> reader, out byte type, out long count)
    {
        count = 0;
        if (!reader.TryRead(out type) || !reader.TryReadTo(out ReadOnlySequence<byte> digits, "\r\n"u8)) return false;
        return RespInteger.TryParse(digits, out count) && count >= 0 && count <= int.MaxValue / 2;
    }

    private static bool TryReadValue(ref SequenceReader<byte> reader, out ReadOnlySequence<byte> value)
    {
        var scanner = new RespFrameScanner(Limits);
        var start = reader.Position;
        if (scanner.TryScan(ref reader, out _) != RespFrameStatus.Complete)
        {
            value = default;
            return false;
        }
        value = reader.Sequence.Slice(start, reader.Position);
        return true;
    }

    private static bool BulkEquals(in ReadOnlySequence<byte> bulk, byte[] name)
    {
        var reader = new SequenceReader<byte>(bulk);
        if (!reader.IsNext((byte)'$', advancePast: true) || !reader.TryReadTo(out ReadOnlySequence<byte> _, "\r\n"u8)) return false;
        var text = reader.UnreadSequence;
        if (text.Length != name.Length + 2) return false;
        Span<byte> bytes = name.Length <= 256 ? stackalloc byte[name.Length] : new byte[name.Length];
        text.Slice(0, name.Length).CopyTo(bytes);
        return Ascii.EqualsIgnoreCase(bytes, name);
    }
}
