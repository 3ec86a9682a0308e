using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using RedisTimer.Proxy.Timers;
using RedisTimer.Resp;

namespace RedisTimer.Proxy.Server;

/// <summary>
/// Finds the replies of rewritten TIMER.INFO calls (and of merged TIMER.NEWs, see <see cref="ReplyStream"/>)
/// in the upstream byte stream and writes the module's reply in their place. Redis 7.0's Lua emits maps in
/// hash order, so the function returns a one-entry map {magic: payload} (see timer-library.lua); its header, "%1" (RESP3) or "*2" (RESP2), tells the protocol.
/// The search is a vectorized IndexOf and runs only while a TIMER.INFO reply is outstanding; it finds the
/// reply also inside an EXEC array.
/// </summary>
public static class InfoReplyRewriter
{
    private static readonly byte[] Needle = Encoding.Latin1.GetBytes($"${TimerSchema.InfoMagic.Length}\r\n{TimerSchema.InfoMagic}\r\n");
    private static readonly byte[] Resp2Head = "*2\r\n"u8.ToArray();
    private static readonly byte[] Resp3Head = "%1\r\n"u8.ToArray();
    private const int HeadLength = 4;
    // Offset of the magic's first byte (ESC) in "<head>$16\r\n<magic>".
    private static readonly int EscAt = HeadLength + Needle.AsSpan().IndexOf((byte)0x1b);

    /// <summary>
    /// Done: everything was written. Holding: the data ends with bytes that could begin a marked reply, or be
    /// anything else (a client's value); they go out anyway if nothing follows soon. Incomplete: the data ends
    /// inside a marked reply (its marker and bulk header seen): the rest is on its way and must be waited for,
    /// however long it takes to arrive, never released as it is.
    /// </summary>
    /// Batch: stopped just after the reply of a merged TIMER.NEW call (written out as its separate replies),
    /// whose token says which request it answered.
    public enum Outcome { Done, Holding, Incomplete, Batch }

    /// <summary>
    /// Copies <paramref name="buffer"/> to <paramref name="output"/>, rewriting every complete marked reply.
    /// Stops before a marked reply that is not complete yet, or before a tail that could begin one
    /// (<see cref="Outcome.Holding"/>); <paramref name="consumed"/> says how far it got.
    /// </summary>
    /// With <paramref name="final"/> (nothing more will come, or held bytes must go now) nothing is held:
    /// complete marked replies are still rewritten, anything else is copied as it is.
    /// <param name="batchToken">With <see cref="Outcome.Batch"/>: the token of the merged call that was answered.</param>
    public static Outcome Rewrite(in ReadOnlySequence<byte> buffer, PipeWriter output, ref int rewritten, out SequencePosition consumed,
        out long batchToken, bool final = false)
    {
        batchToken = -1;
        var rest = buffer;
        while (true)
        {
            long at = IndexOf(rest, Needle);
            if (at < 0)
            {
                long keep = final ? 0 : PartialMarkerAtEnd(rest);
                Copy(rest.Slice(0, rest.Length - keep), output);
                consumed = rest.GetPosition(rest.Length - keep);
                // Up to the magic's ESC byte the tail may be anything (a client's value ending in "*2\r\n");
                // past it, it is the start of a marked reply whose rest may take long to come.
                return keep == 0 ? Outcome.Done : keep > EscAt ? Outcome.Incomplete : Outcome.Holding;
            }
            if (at < HeadLength || !IsHead(rest.Slice(at - HeadLength, HeadLength), out bool resp3))
            {
                // Not ours after all (e.g. the magic inside a user's value): pass it on.
                Copy(rest.Slice(0, at + Needle.Length), output);
                rest = rest.Slice(at + Needle.Length);
                continue;
            }
            var afterNeedle = rest.Slice(at + Needle.Length);
            var bulk = TryReadBulk(afterNeedle, out var payload, out long bulkLength);
            if (bulk == Bulk.NotBulk)
            {
                // Not ours after all: pass it on.
                Copy(rest.Slice(0, at + Needle.Length), output);
                rest = afterNeedle;
                continue;
            }
            if (bulk != Bulk.Complete && final)
            {
                Copy(rest, output);
                consumed = buffer.End;
                return Outcome.Done;
            }
            if (bulk != Bulk.Complete)
            {
                Copy(rest.Slice(0, at - HeadLength), output);
                consumed = rest.GetPosition(at - HeadLength);
                // The whole magic is in: ours, however long the rest takes.
                return Outcome.Incomplete;
            }
            Copy(rest.Slice(0, at - HeadLength), output);
            rest = afterNeedle.Slice(bulkLength);
            if (TryReadBatchPayload(payload, out batchToken, out var replies))
            {
                Copy(replies, output);
                consumed = rest.Start;
                return Outcome.Batch;
            }
            WriteModuleReply(payload.ToArray(), resp3, output);
            rewritten++;
        }
    }

    private static bool IsHead(in ReadOnlySequence<byte> head, out bool resp3)
    {
        Span<byte> b = stackalloc byte[HeadLength];
        head.CopyTo(b);
        resp3 = b.SequenceEqual(Resp3Head);
        return resp3 || b.SequenceEqual(Resp2Head);
    }

    private enum Bulk { Complete, HeaderIncomplete, PayloadIncomplete, NotBulk }

    // "$<n>\r\n<n bytes>\r\n", the payload beginning with n, e or v (what timer_info writes) or b (timer_batch)
    private static Bulk TryReadBulk(in ReadOnlySequence<byte> data, out ReadOnlySequence<byte> payload, out long consumed)
    {
        payload = default;
        consumed = 0;
        var reader = new SequenceReader<byte>(data);
        if (!reader.TryRead(out byte type)) return Bulk.HeaderIncomplete;
        if (type != (byte)'$') return Bulk.NotBulk;
        if (!reader.TryReadTo(out ReadOnlySequence<byte> digits, "\r\n"u8))
            return reader.Remaining > 20 ? Bulk.NotBulk : Bulk.HeaderIncomplete;
        if (!RespInteger.TryParse(digits, out long length) || length < 1) return Bulk.NotBulk;
        if (reader.TryPeek(out byte kind) && kind is not ((byte)'n' or (byte)'e' or (byte)'v' or (byte)'b')) return Bulk.NotBulk;
        if (reader.Remaining < length + 2) return Bulk.PayloadIncomplete;
        payload = reader.UnreadSequence.Slice(0, length);
        consumed = reader.Consumed + length + 2;
        return Bulk.Complete;
    }

    /// <summary>
    /// Reads a whole reply frame of timer_batch: the marked map whose payload is "b&lt;token&gt;:" and the
    /// merged TIMER.NEWs' replies, in RESP (the same bytes in RESP2 and RESP3).
    /// </summary>
    public static bool TryReadBatchReply(in ReadOnlySequence<byte> frame, out long token, out ReadOnlySequence<byte> replies)
    {
        token = -1;
        replies = default;
        if (frame.Length < HeadLength + Needle.Length || !IsHead(frame.Slice(0, HeadLength), out _)) return false;
        var needle = frame.Slice(HeadLength, Needle.Length);
        if (!(needle.IsSingleSegment ? needle.FirstSpan.SequenceEqual(Needle) : needle.ToArray().AsSpan().SequenceEqual(Needle))) return false;
        var bulk = frame.Slice(HeadLength + Needle.Length);
        return TryReadBulk(bulk, out var payload, out long length) == Bulk.Complete && length == bulk.Length
            && TryReadBatchPayload(payload, out token, out replies);
    }

    // "b<token>:<replies>"
    private static bool TryReadBatchPayload(in ReadOnlySequence<byte> payload, out long token, out ReadOnlySequence<byte> replies)
    {
        token = -1;
        replies = default;
        var reader = new SequenceReader<byte>(payload);
        if (!reader.IsNext((byte)'b', advancePast: true) || !reader.TryReadTo(out ReadOnlySequence<byte> digits, (byte)':')) return false;
        if (!RespInteger.TryParse(digits, out token) || token < 0) return false;
        replies = reader.UnreadSequence;
        return true;
    }

    private static void WriteModuleReply(byte[] payload, bool resp3, PipeWriter output)
    {
        switch (payload[0])
        {
            case (byte)'n':
                output.Write(resp3 ? "_\r\n"u8 : "$-1\r\n"u8);
                return;
            case (byte)'e':
                output.Write("-"u8);
                output.Write(payload.AsSpan(1));
                output.Write("\r\n"u8);
                return;
        }
        // v<count>:<loop offset>\r\n<elements>
        int lineEnd = payload.AsSpan().IndexOf("\r\n"u8);
        var header = Encoding.ASCII.GetString(payload, 1, lineEnd - 1).Split(':');
        int count = int.Parse(header[0]);
        int loopAt = int.Parse(header[1]);
        var elements = payload.AsSpan(lineEnd + 2);
        output.Write(Encoding.ASCII.GetBytes(resp3 ? $"%{count / 2}\r\n" : $"*{count}\r\n"));
        output.Write(elements[..loopAt]);
        bool loop = elements[loopAt + 1] == (byte)'1';
        output.Write(resp3 ? (loop ? "#t\r\n"u8 : "#f\r\n"u8) : (loop ? ":1\r\n"u8 : ":0\r\n"u8));
        output.Write(elements[(loopAt + 4)..]);
    }

    // The longest end of the data that is a proper beginning of "<head><needle>".
    private static long PartialMarkerAtEnd(in ReadOnlySequence<byte> data)
    {
        int max = (int)Math.Min(data.Length, HeadLength + Needle.Length - 1);
        if (max == 0) return 0;
        Span<byte> tail = stackalloc byte[max];
        data.Slice(data.Length - max).CopyTo(tail);
        for (int len = max; len > 0; len--)
        {
            var candidate = tail[(max - len)..];
            if (IsPrefixOfMarker(candidate, Resp2Head) || IsPrefixOfMarker(candidate, Resp3Head)) return len;
        }
        return 0;
    }

    private static bool IsPrefixOfMarker(ReadOnlySpan<byte> candidate, byte[] head)
    {
        int inHead = Math.Min(candidate.Length, head.Length);
        if (!candidate[..inHead].SequenceEqual(head.AsSpan(0, inHead))) return false;
        return candidate[inHead..].SequenceEqual(Needle.AsSpan(0, candidate.Length - inHead));
    }

    private static long IndexOf(in ReadOnlySequence<byte> data, byte[] needle)
    {
        if (data.IsSingleSegment) return data.FirstSpan.IndexOf(needle);
        // Rare (the reply spans pipe segments): search a flat copy.
        return data.ToArray().AsSpan().IndexOf(needle);
    }

    private static void Copy(in ReadOnlySequence<byte> bytes, PipeWriter output)
    {
        foreach (var segment in bytes) output.Write(segment.Span);
    }
}
