using System.Buffers;
using System.Text;
using RedisTimer.Proxy.Timers;
using RedisTimer.Resp;

namespace RedisTimer.Proxy.Server.Replies;

/// <summary>
/// The library's replies that the proxy re-encodes (timer-library.lua): a one-entry map {magic: payload}, since
/// Redis 7.0's Lua emits a map in hash order, and a one-entry map has no order to lose. Its header tells the
/// client's protocol: <c>%1</c> (RESP3) or <c>*2</c> (RESP2, a map flattened). Payloads: <c>n</c> (no such
/// timer), <c>e&lt;error&gt;</c>, <c>v&lt;count&gt;:&lt;offset of loop&gt;\r\n&lt;RESP2 elements&gt;</c> (TIMER.INFO),
/// <c>b&lt;token&gt;:&lt;replies&gt;</c> (a timer_batch call), <c>s&lt;count&gt;\r\n&lt;RESP2 elements&gt;</c> (TIMER.STATS) and
/// <c>l&lt;msgpack&gt;</c> (TIMER.LIST's rows, <see cref="TimerListReply"/>).
/// </summary>
/// <remarks>
/// Read only at a frame start where such a reply is expected. Every proper prefix of the marked header is an
/// unfinished RESP frame, so "need more" always means that Redis is still sending this frame.
/// </remarks>
public static class MarkedReply
{
    private static readonly byte[] Resp2Head = Encoding.Latin1.GetBytes($"*2\r\n${TimerSchema.InfoMagic.Length}\r\n{TimerSchema.InfoMagic}\r\n");
    private static readonly byte[] Resp3Head = Encoding.Latin1.GetBytes($"%1\r\n${TimerSchema.InfoMagic.Length}\r\n{TimerSchema.InfoMagic}\r\n");

    public enum Match : byte { NeedMore, No, Yes }

    /// <summary>The start of a marked reply: its protocol, payload kind and where the payload lies.</summary>
    public readonly record struct Header(bool Resp3, byte Kind, long PayloadStart, long PayloadLength)
    {
        /// <summary>The whole frame: header, bulk header, payload and its CRLF.</summary>
        public long FrameLength => PayloadStart + PayloadLength + 2;
    }

    /// <summary>Reads the marked header and the payload's bulk header (and its first byte) at the start of <paramref name="data"/>.</summary>
    public static Match TryReadHeader(in ReadOnlySequence<byte> data, out Header header)
    {
        header = default;
        var reader = new SequenceReader<byte>(data);
        if (!reader.TryPeek(out byte first)) return Match.NeedMore;
        var head = first == (byte)'%' ? Resp3Head : first == (byte)'*' ? Resp2Head : null;
        if (head is null) return Match.No;
        var prefix = StartsWith(data, head);
        if (prefix != Match.Yes) return prefix;
        reader.Advance(head.Length);
        if (!reader.TryRead(out byte dollar)) return Match.NeedMore;
        if (dollar != (byte)'$') return Match.No;
        if (!reader.TryReadTo(out ReadOnlySequence<byte> digits, "\r\n"u8)) return reader.Remaining > 20 ? Match.No : Match.NeedMore;
        if (!RespInteger.TryParse(digits, out long length) || length < 1) return Match.No;
        if (!reader.TryPeek(out byte kind)) return Match.NeedMore;
        if (kind is not ((byte)'n' or (byte)'e' or (byte)'v' or (byte)'b' or (byte)'s' or (byte)'l')) return Match.No;
        header = new Header(first == (byte)'%', kind, reader.Consumed, length);
        return Match.Yes;
    }

    private static Match StartsWith(in ReadOnlySequence<byte> data, byte[] head)
    {
        int n = (int)Math.Min(data.Length, head.Length);
        Span<byte> start = stackalloc byte[n];
        data.Slice(0, n).CopyTo(start);
        if (!start.SequenceEqual(head.AsSpan(0, n))) return Match.No;
        return n == head.Length ? Match.Yes : Match.NeedMore;
    }

    /// <summary>For a <c>v</c> payload: its element count and the offset of the loop value in its elements.</summary>
    public static Match TryReadInfoCounts(in ReadOnlySequence<byte> payload, out int count, out long loopAt, out long elementsStart)
    {
        count = 0;
        loopAt = 0;
        elementsStart = 0;
        var reader = new SequenceReader<byte>(payload);
        reader.Advance(1); // 'v'
        if (!reader.TryReadTo(out ReadOnlySequence<byte> countDigits, (byte)':')) return reader.Remaining > 20 ? Match.No : Match.NeedMore;
        if (!reader.TryReadTo(out ReadOnlySequence<byte> loopDigits, "\r\n"u8)) return reader.Remaining > 22 ? Match.No : Match.NeedMore;
        if (!RespInteger.TryParse(countDigits, out long c) || c is < 8 or > int.MaxValue || c % 2 != 0) return Match.No;
        if (!RespInteger.TryParse(loopDigits, out loopAt) || loopAt < 0) return Match.No;
        count = (int)c;
        elementsStart = reader.Consumed;
        return Match.Yes;
    }

    /// <summary>Writes the module's reply for a whole <c>n</c> or <c>e</c> payload.</summary>
    public static void WriteNilOrError(in ReadOnlySequence<byte> payload, bool resp3, IBufferWriter<byte> output)
    {
        if (payload.FirstSpan[0] == (byte)'n')
        {
            output.Write(resp3 ? "_\r\n"u8 : "$-1\r\n"u8);
            return;
        }
        output.Write("-"u8);
        foreach (var segment in payload.Slice(1)) output.Write(segment.Span);
        output.Write("\r\n"u8);
    }

    /// <summary>TIMER.INFO's header: a flat array (RESP2) or a map of half as many entries (RESP3).</summary>
    public static void WriteInfoHeader(int count, bool resp3, IBufferWriter<byte> output) =>
        RespWriter.WriteMapHeader(output, count / 2, resp3);

    /// <summary>For an <c>s</c> payload (TIMER.STATS): its element count and where its RESP2 elements start.</summary>
    public static bool TryReadStatsCount(in ReadOnlySequence<byte> payload, out int count, out long elementsStart)
    {
        count = 0;
        elementsStart = 0;
        var reader = new SequenceReader<byte>(payload);
        reader.Advance(1); // 's'
        if (!reader.TryReadTo(out ReadOnlySequence<byte> digits, "\r\n"u8)) return false;
        if (!RespInteger.TryParse(digits, out long c) || c < 0 || c > int.MaxValue || c % 2 != 0) return false;
        count = (int)c;
        elementsStart = reader.Consumed;
        return true;
    }

    /// <summary>For a <c>b</c> payload: the replies of the merged TIMER.NEWs, in RESP.</summary>
    public static bool TryReadBatchReplies(in ReadOnlySequence<byte> payload, out ReadOnlySequence<byte> replies)
    {
        replies = default;
        var reader = new SequenceReader<byte>(payload);
        if (!reader.IsNext((byte)'b', advancePast: true) || !reader.TryReadTo(out ReadOnlySequence<byte> _, (byte)':')) return false;
        replies = reader.UnreadSequence;
        return true;
    }
}
