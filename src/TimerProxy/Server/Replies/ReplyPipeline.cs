using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using RedisTimer.Proxy.Metrics;
using RedisTimer.Proxy.Upstream;
using RedisTimer.Resp;

namespace RedisTimer.Proxy.Server.Replies;

/// <summary>
/// A session's replies on their way from Redis to the client. Every reply frame is found with
/// <see cref="RespFrameScanner"/> and numbered as its request was (RESP3 pushes are not replies); the request side
/// queues a <see cref="ReplyExpectation"/> for each request whose reply needs more than a copy, and the reply
/// with that number gets it. Everything else is copied unchanged, in runs, without being held.
/// </summary>
/// <remarks>
/// Replies are numbered from the connection's first byte: a session that has copied replies without framing
/// them cannot find its place in the stream later without searching for marks (and holding bytes that might
/// begin one). Bytes are held only inside a frame the proxy rewrites, where Redis is still sending the rest.
/// Once a client leaves request/reply (<see cref="ReplyAction.EndCounting"/>), the library's marked replies are
/// recognised by their shape instead, at the top level and as elements of a top-level array (an EXEC).
/// With <c>--wait-replicas</c>, the replies of timer writes are held (after their own rewriting) until the WAIT the
/// proxy sent after them answers; only those are ever held whole.
/// </remarks>
public sealed class ReplyPipeline(ILogger logger, ReplicaWait? wait = null, ProxyMetrics? metrics = null)
{
    private readonly ReplicaWait _wait = wait ?? ReplicaWait.None;

    // A refusal of a whole timer_batch call is held to be repeated; none is anywhere near this long.
    private const long MaxRepeatedReply = 64 * 1024;

    // Whatever Redis may send: a bulk as long as proto-max-bulk-len allows, Lua tables nested thousands deep.
    private static readonly RespFrameLimits Limits = new()
    {
        MaxBulkLength = long.MaxValue, MaxAggregateCount = long.MaxValue / 2, MaxDepth = RespFrameLimits.MaxSupportedDepth,
    };

    private enum FrameKind : byte { Numbered, Push, Element, Unnumbered }

    private enum Start : byte { Scan, Handled, NeedMore }

    private readonly ConcurrentQueue<ReplyExpectation> _expected = new();
    private RespFrameScanner _scanner = new(Limits);
    private long _next;                  // number of the next reply
    private bool _counting = true;       // replies answer requests one to one
    private volatile bool _lost;         // a reply could not be framed: everything is copied as it is from then on
    private long _elements;              // elements still to come of an array whose elements are checked
    private bool _inFrame;               // the scanner is inside a frame that is being copied
    private FrameKind _frameKind;        // of the frame at hand
    private InfoRewrite _info;           // a TIMER.INFO reply being re-encoded, streamed
    private ArrayBufferWriter<byte>? _held; // replies held until the WAIT after them answers
    private bool _holding;

    // Where the bytes at hand go: the client, or the replies held for a WAIT.
    private IBufferWriter<byte> Sink(IBufferWriter<byte> output) => _holding ? _held! : output;

    /// <summary>True once a reply could not be framed (not RESP, or nested deeper than the scanner follows): nothing is rewritten any more.</summary>
    public bool Lost => _lost;

    /// <summary>How many replies have come (read by the idle check, on another thread).</summary>
    public long Replied => Volatile.Read(ref _next);

    /// <summary>Called by the request side before the request's bytes are flushed upstream.</summary>
    public void Expect(in ReplyExpectation expectation) => _expected.Enqueue(expectation);

    /// <summary>
    /// Writes what of <paramref name="buffer"/> can go to the client now; <paramref name="consumed"/> stops before
    /// the start of a rewritten reply that has not fully arrived. With <paramref name="final"/> (Redis closed the
    /// connection) everything goes, as it is where it cannot be rewritten.
    /// </summary>
    public void Write(in ReadOnlySequence<byte> buffer, IBufferWriter<byte> output, bool final, out SequencePosition consumed)
    {
        if (_lost)
        {
            RespWriter.WriteRaw(output, buffer);
            consumed = buffer.End;
            return;
        }
        var reader = new SequenceReader<byte>(buffer);
        var pending = buffer.Start; // from here to the reader: bytes to copy as they are
        while (!reader.End)
        {
            if (_info.Active)
            {
                bool done = _info.Step(ref reader, Sink(output));
                pending = reader.Position;
                if (!done) break;
                EndFrame();
                continue;
            }
            if (!_inFrame)
            {
                var start = StartFrame(ref reader, ref pending, output, final);
                if (start == Start.NeedMore) break;
                if (start == Start.Handled) continue;
                _inFrame = true;
            }
            var status = _scanner.TryScan(ref reader, out _);
            if (status == RespFrameStatus.NeedMoreData) break;
            if (status == RespFrameStatus.Invalid)
            {
                logger.LogError("An upstream reply is not RESP, or nested deeper than {Depth}; this connection's replies are no longer rewritten",
                    RespFrameLimits.MaxSupportedDepth);
                _lost = true;
                if (_holding)
                {
                    Flush(ref reader, ref pending, _held!);
                    ReleaseHeld(output, acknowledged: -1, "a reply could not be read");
                }
                reader.AdvanceToEnd();
                break;
            }
            _inFrame = false;
            EndFrame();
        }
        RespWriter.WriteRaw(Sink(output), buffer.Slice(pending, reader.Position));
        consumed = reader.Position;
        if (!final) return;
        if (_holding) ReleaseHeld(output, acknowledged: -1, "the connection closed before WAIT answered");
        if (!reader.End)
        {
            RespWriter.WriteRaw(output, buffer.Slice(consumed));
            consumed = buffer.End;
        }
    }

    /// <summary>At a frame's first byte: decides what the frame needs, and rewrites it when it is the proxy's.</summary>
    private Start StartFrame(ref SequenceReader<byte> reader, ref SequencePosition pending, IBufferWriter<byte> client, bool final)
    {
        var output = Sink(client);
        reader.TryPeek(out byte first);
        if (_elements > 0)
        {
            _frameKind = FrameKind.Element;
            return RewriteIfMarked(ref reader, ref pending, output, final, arrayElements: false);
        }
        if (first == (byte)'>')
        {
            _frameKind = FrameKind.Push;
            return Start.Scan;
        }
        var expected = Current();
        if (!_counting)
        {
            _frameKind = FrameKind.Unnumbered;
            return RewriteIfMarked(ref reader, ref pending, output, final, arrayElements: true);
        }
        _frameKind = FrameKind.Numbered;
        if (expected is not { } e) return Start.Scan;
        if (e.Action == ReplyAction.ReplicaWait) return EndWait(ref reader, ref pending, client, final);
        if (e.Held && !_holding)
        {
            Flush(ref reader, ref pending, client);
            _held ??= new ArrayBufferWriter<byte>(256);
            _holding = true;
            output = _held;
        }
        if (e.Counts != TimerCount.None && e.Action == ReplyAction.Pass)
        {
            // ":1\r\n" or ":0\r\n", or an error: two bytes tell.
            if (reader.Remaining < 2 && !final) return Start.NeedMore;
            CountSingle(reader.UnreadSequence, e.Counts);
            return Start.Scan;
        }
        return e.Action switch
        {
            ReplyAction.RewriteInfo => RewriteIfMarked(ref reader, ref pending, output, final, arrayElements: false),
            ReplyAction.SplitBatch => SplitBatch(ref reader, ref pending, output, final, e.Timers, e.Counts),
            ReplyAction.Exec => CheckElements(ref reader, final),
            ReplyAction.ScriptSha => ReplaceSha(ref reader, ref pending, output, final, e.Names![0], e.Names[1]),
            ReplyAction.CommandInfo or ReplyAction.CommandDocs =>
                AddTimerCommands(ref reader, ref pending, output, final, e.Names!, docs: e.Action == ReplyAction.CommandDocs),
            _ => Start.Scan,
        };
    }

    /// <summary>The expectation for the next reply, if any; an <see cref="ReplyAction.EndCounting"/> that is due ends counting.</summary>
    private ReplyExpectation? Current()
    {
        while (_counting && _expected.TryPeek(out var e))
        {
            if (e.Request > _next) return null;
            if (e.Action == ReplyAction.EndCounting)
            {
                _counting = false;
                _expected.Clear();
                return null;
            }
            if (e.Request == _next) return e;
            logger.LogError("No reply was found for request {Request} ({Action}); at reply {Reply}", e.Request, e.Action, _next);
            _expected.TryDequeue(out _);
        }
        return null;
    }

    private void EndFrame()
    {
        switch (_frameKind)
        {
            case FrameKind.Element:
                _elements--;
                break;
            case FrameKind.Numbered:
                if (_expected.TryPeek(out var e) && e.Request == _next && e.Action != ReplyAction.EndCounting) _expected.TryDequeue(out _);
                _next++;
                break;
        }
    }

    private Start NeedMore(bool final) => final ? Start.Scan : Start.NeedMore;

    /// <summary>A TIMER.INFO reply of the library becomes the module's; any other frame is copied (and, with
    /// <paramref name="arrayElements"/>, a top-level array has its elements checked too).</summary>
    private Start RewriteIfMarked(ref SequenceReader<byte> reader, ref SequencePosition pending, IBufferWriter<byte> output, bool final,
        bool arrayElements)
    {
        var rest = reader.UnreadSequence;
        var match = MarkedReply.TryReadHeader(rest, out var header);
        if (match == MarkedReply.Match.NeedMore) return NeedMore(final);
        if (match == MarkedReply.Match.No || header.Kind == (byte)'b')
            return arrayElements ? CheckElements(ref reader, final) : Start.Scan;

        if (header.Kind is (byte)'n' or (byte)'e')
        {
            if (rest.Length < header.FrameLength) return NeedMore(final);
            Flush(ref reader, ref pending, output);
            MarkedReply.WriteNilOrError(rest.Slice(header.PayloadStart, header.PayloadLength), header.Resp3, output);
            Skip(ref reader, ref pending, header.FrameLength);
            EndFrame();
            return Start.Handled;
        }
        if (header.Kind == (byte)'s')
        {
            if (rest.Length < header.FrameLength) return NeedMore(final);
            var stats = rest.Slice(header.PayloadStart, header.PayloadLength);
            if (!MarkedReply.TryReadStatsCount(stats, out int entries, out long statsStart)) return Start.Scan;
            Flush(ref reader, ref pending, output);
            RespWriter.WriteMapHeader(output, entries / 2, header.Resp3);
            RespWriter.WriteRaw(output, stats.Slice(statsStart));
            Skip(ref reader, ref pending, header.FrameLength);
            EndFrame();
            return Start.Handled;
        }
        if (header.Kind == (byte)'l')
        {
            if (rest.Length < header.FrameLength) return NeedMore(final);
            Flush(ref reader, ref pending, output);
            WriteTimerList(rest.Slice(header.PayloadStart + 1, header.PayloadLength - 1), header.Resp3, output);
            Skip(ref reader, ref pending, header.FrameLength);
            EndFrame();
            return Start.Handled;
        }
        var payload = rest.Slice(header.PayloadStart, Math.Min(rest.Length - header.PayloadStart, header.PayloadLength));
        var counts = MarkedReply.TryReadInfoCounts(payload, out int count, out long loopAt, out long elementsStart);
        if (counts == MarkedReply.Match.NeedMore) return NeedMore(final);
        long elementsLength = header.PayloadLength - elementsStart;
        if (counts == MarkedReply.Match.No || loopAt + 4 > elementsLength) return Start.Scan;
        Flush(ref reader, ref pending, output);
        MarkedReply.WriteInfoHeader(count, header.Resp3, output);
        Skip(ref reader, ref pending, header.PayloadStart + elementsStart);
        _info.Begin(loopAt, elementsLength, header.Resp3);
        return Start.Handled;
    }

    /// <summary>An error line naming the stored SHA1, or SCRIPT LOAD's bulk string of it, with the client's instead.</summary>
    private Start ReplaceSha(ref SequenceReader<byte> reader, ref SequencePosition pending, IBufferWriter<byte> output, bool final,
        byte[] stored, byte[] user)
    {
        var rest = reader.UnreadSequence;
        if (!reader.TryPeek(out byte first) || first is not ((byte)'-' or (byte)'$')) return Start.Scan;
        long length;
        if (first == (byte)'$')
        {
            if (rest.Length < 5) return NeedMore(final);
            Span<byte> head = stackalloc byte[5];
            rest.Slice(0, 5).CopyTo(head);
            if (!head.SequenceEqual("$40\r\n"u8)) return Start.Scan;
            if (rest.Length < 47) return NeedMore(final);
            length = 47;
        }
        else
        {
            var line = new SequenceReader<byte>(rest);
            if (!line.TryAdvanceTo((byte)'\n')) return NeedMore(final);
            length = line.Consumed;
        }
        var frame = rest.Slice(0, length).ToArray();
        int at = frame.AsSpan().IndexOf(stored);
        if (at < 0) return Start.Scan;
        Flush(ref reader, ref pending, output);
        user.CopyTo(frame, at);
        output.Write(frame);
        Skip(ref reader, ref pending, length);
        EndFrame();
        return Start.Handled;
    }

    /// <summary>A COMMAND INFO or DOCS reply, taken whole, with the TIMER.* entries added.</summary>
    private Start AddTimerCommands(ref SequenceReader<byte> reader, ref SequencePosition pending, IBufferWriter<byte> output, bool final,
        byte[][] names, bool docs)
    {
        var rest = reader.UnreadSequence;
        var probe = new RespFrameScanner(Limits);
        var probeReader = new SequenceReader<byte>(rest);
        var status = probe.TryScan(ref probeReader, out _);
        if (status == RespFrameStatus.NeedMoreData) return NeedMore(final);
        if (status != RespFrameStatus.Complete) return Start.Scan;
        long length = probeReader.Consumed;
        Flush(ref reader, ref pending, output);
        // An error (the arguments refused) or anything unexpected goes as Redis sent it (TryWrite then writes nothing).
        if (!TimerCommandsReply.TryWrite(rest.Slice(0, length), names, docs, output)) return Start.Scan;
        Skip(ref reader, ref pending, length);
        EndFrame();
        return Start.Handled;
    }

    private void WriteTimerList(in ReadOnlySequence<byte> rows, bool resp3, IBufferWriter<byte> output)
    {
        byte[]? rented = null;
        ReadOnlySpan<byte> span = rows.FirstSpan;
        if (!rows.IsSingleSegment)
        {
            rented = ArrayPool<byte>.Shared.Rent((int)rows.Length);
            rows.CopyTo(rented);
            span = rented.AsSpan(0, (int)rows.Length);
        }
        try
        {
            if (TimerListReply.TryWrite(span, resp3, output)) return;
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
        // Only a library of another version could send this: one error, and the client stays in step.
        logger.LogError("A TIMER.LIST reply of the timer library could not be read; the client got an error instead");
        output.Write("-ERR the timer library's reply could not be read\r\n"u8);
    }

    /// <summary>At an array's header: the header is copied and its elements are framed (and checked) one by one.</summary>
    private Start CheckElements(ref SequenceReader<byte> reader, bool final)
    {
        var line = new SequenceReader<byte>(reader.UnreadSequence);
        if (!line.IsNext((byte)'*', advancePast: true)) return Start.Scan;
        if (!line.TryReadTo(out ReadOnlySequence<byte> digits, "\r\n"u8)) return line.Remaining > 24 ? Start.Scan : NeedMore(final);
        if (!RespInteger.TryParse(digits, out long count) || count <= 0) return Start.Scan; // *-1, *0: a whole frame
        reader.Advance(line.Consumed); // copied with the bytes around it
        EndFrame();
        _elements = count;
        return Start.Handled;
    }

    /// <summary>A timer_batch call's reply, written as the replies of its TIMER.NEWs; a refusal of the whole call, repeated.</summary>
    private Start SplitBatch(ref SequenceReader<byte> reader, ref SequencePosition pending, IBufferWriter<byte> output, bool final, int timers,
        TimerCount counts)
    {
        var rest = reader.UnreadSequence;
        var match = MarkedReply.TryReadHeader(rest, out var header);
        if (match == MarkedReply.Match.NeedMore) return NeedMore(final);
        if (match == MarkedReply.Match.Yes && header.Kind == (byte)'b')
        {
            if (rest.Length < header.FrameLength) return NeedMore(final);
            if (MarkedReply.TryReadBatchReplies(rest.Slice(header.PayloadStart, header.PayloadLength), out var replies))
            {
                if (metrics is not null && counts != TimerCount.None) CountBatch(replies, counts);
                Flush(ref reader, ref pending, output);
                RespWriter.WriteRaw(output, replies);
                Skip(ref reader, ref pending, header.FrameLength);
                EndFrame();
                return Start.Handled;
            }
        }
        var probe = new RespFrameScanner(Limits);
        var probeReader = new SequenceReader<byte>(rest);
        var status = probe.TryScan(ref probeReader, out var frame);
        if (status == RespFrameStatus.NeedMoreData && rest.Length <= MaxRepeatedReply) return NeedMore(final);
        if (status != RespFrameStatus.Complete)
        {
            logger.LogError("The reply of a merged TIMER.NEW call is too long to repeat; passed on once");
            return Start.Scan;
        }
        if (frame.Type != (byte)'-' && timers > 1)
            logger.LogWarning("Merged TIMER.NEW call answered with a '{Type}' reply; repeated for each timer", (char)frame.Type);
        Flush(ref reader, ref pending, output);
        var whole = rest.Slice(0, frame.Length);
        for (int i = 0; i < timers; i++) RespWriter.WriteRaw(output, whole);
        Skip(ref reader, ref pending, frame.Length);
        EndFrame();
        return Start.Handled;
    }

    private static bool Counted(byte first, byte second, TimerCount counts) =>
        first == (byte)':' && (counts == TimerCount.New || second == (byte)'1');

    private void CountSingle(in ReadOnlySequence<byte> reply, TimerCount counts)
    {
        if (metrics is null || reply.Length < 2) return;
        Span<byte> head = stackalloc byte[2];
        reply.Slice(0, 2).CopyTo(head);
        if (Counted(head[0], head[1], counts)) metrics.Counted(counts, 1);
    }

    // The merged call's replies, one line each (":1", ":0" or an error, which holds no line break).
    private void CountBatch(in ReadOnlySequence<byte> replies, TimerCount counts)
    {
        var lines = new SequenceReader<byte>(replies);
        long n = 0;
        while (lines.TryReadTo(out ReadOnlySequence<byte> line, "\r\n"u8))
        {
            if (line.Length < 2) continue;
            var first = line.FirstSpan;
            byte a = first[0], b = first.Length > 1 ? first[1] : line.Slice(1, 1).FirstSpan[0];
            if (Counted(a, b, counts)) n++;
        }
        if (n > 0) metrics!.Counted(counts, n);
    }

    /// <summary>The reply to the proxy's WAIT: hidden, and what it held released (or replaced).</summary>
    private Start EndWait(ref SequenceReader<byte> reader, ref SequencePosition pending, IBufferWriter<byte> client, bool final)
    {
        var rest = reader.UnreadSequence;
        var probe = new RespFrameScanner(Limits);
        var probeReader = new SequenceReader<byte>(rest);
        var status = probe.TryScan(ref probeReader, out var frame);
        if (status == RespFrameStatus.NeedMoreData && !final) return Start.NeedMore;
        if (_holding) Flush(ref reader, ref pending, _held!); // what came between (RESP3 pushes) stays in order
        if (status != RespFrameStatus.Complete)
        {
            ReleaseHeld(client, acknowledged: -1, "WAIT's reply could not be read");
            Skip(ref reader, ref pending, rest.Length);
            return Start.Handled;
        }
        var reply = rest.Slice(0, frame.Length);
        long acknowledged = -1;
        string? failure = null;
        if (frame.Type == (byte)':' && RespInteger.TryParse(reply.Slice(1, reply.Length - 3), out long n)) acknowledged = n;
        else failure = "WAIT answered " + System.Text.Encoding.UTF8.GetString(reply.Slice(0, Math.Min(reply.Length - 2, 200)).ToArray()).Trim();
        ReleaseHeld(client, acknowledged, failure);
        Skip(ref reader, ref pending, frame.Length);
        EndFrame();
        return Start.Handled;
    }

    /// <summary>
    /// Writes the held replies to the client: as they are when enough replicas acknowledged them; else each reply
    /// that reports a change becomes the NOREPLICAS error, while errors and nulls (nothing was changed: a refused
    /// TIMER.NEW, an EXEC that WATCH aborted) and pushes stay.
    /// </summary>
    private void ReleaseHeld(IBufferWriter<byte> client, long acknowledged, string? failure)
    {
        var held = new ReadOnlySequence<byte>(_held!.WrittenMemory);
        _holding = false;
        if (failure is null && acknowledged >= _wait.Replicas)
        {
            RespWriter.WriteRaw(client, held);
        }
        else
        {
            var error = System.Text.Encoding.UTF8.GetBytes("-" + (failure is null ? _wait.ShortfallError(acknowledged) : ReplicaWait.UnconfirmedError(failure)) + "\r\n");
            var scanner = new RespFrameScanner(Limits);
            var reader = new SequenceReader<byte>(held);
            while (!reader.End)
            {
                long start = reader.Consumed;
                if (scanner.TryScan(ref reader, out var frame) != RespFrameStatus.Complete)
                {
                    RespWriter.WriteRaw(client, held.Slice(start)); // a reply cut short by Redis's close: as it came
                    break;
                }
                var bytes = held.Slice(start, frame.Length);
                if (ReportsNoChange(bytes, frame.Type)) RespWriter.WriteRaw(client, bytes);
                else client.Write(error);
            }
            LogShortfall(failure ?? $"{acknowledged} within {_wait.TimeoutMs} ms");
        }
        _held.ResetWrittenCount();
        if (_held.Capacity > MaxRepeatedReply) _held = null; // a large EXEC's array is not kept for the next one
    }

    private static long s_shortfallLogDue = long.MinValue;

    // Replicas down means every timer write of every client falls short: one line every 10 s for the whole proxy.
    private void LogShortfall(string what)
    {
        long now = Environment.TickCount64, due = Volatile.Read(ref s_shortfallLogDue);
        if (now < due || Interlocked.CompareExchange(ref s_shortfallLogDue, now + 10_000, due) != due) return;
        logger.LogWarning("A timer write was not acknowledged by {Replicas} replicas ({What}): the client got NOREPLICAS (logged at most every 10 s)",
            _wait.Replicas, what);
    }

    private static bool ReportsNoChange(in ReadOnlySequence<byte> frame, byte type) =>
        type is (byte)'-' or (byte)'!' or (byte)'>' or (byte)'_'
        || (type is (byte)'*' or (byte)'$' && frame.Length == 5 && frame.Slice(1, 1).FirstSpan[0] == (byte)'-');

    private static void Flush(ref SequenceReader<byte> reader, ref SequencePosition pending, IBufferWriter<byte> output)
    {
        RespWriter.WriteRaw(output, reader.Sequence.Slice(pending, reader.Position));
        pending = reader.Position;
    }

    private static void Skip(ref SequenceReader<byte> reader, ref SequencePosition pending, long length)
    {
        reader.Advance(length);
        pending = reader.Position;
    }

    /// <summary>
    /// TIMER.INFO's elements streamed from the library's payload, with the loop value (a RESP2 integer there)
    /// re-encoded, and the payload's closing CRLF dropped: a timer with a large argument is never held whole.
    /// </summary>
    private struct InfoRewrite
    {
        private long _beforeLoop, _afterLoop;
        private int _trailer;
        private bool _loopWritten, _resp3;

        public bool Active { get; private set; }

        public void Begin(long loopAt, long elementsLength, bool resp3)
        {
            Active = true;
            _beforeLoop = loopAt;
            _afterLoop = elementsLength - loopAt - 4;
            _loopWritten = false;
            _trailer = 2;
            _resp3 = resp3;
        }

        /// <summary>True when the reply is complete; false when it needs bytes that have not arrived.</summary>
        public bool Step(ref SequenceReader<byte> reader, IBufferWriter<byte> output)
        {
            if (!Pass(ref reader, ref _beforeLoop, output)) return false;
            if (!_loopWritten)
            {
                Span<byte> value = stackalloc byte[4];
                if (!reader.TryCopyTo(value)) return false;
                RespWriter.WriteBoolean(output, value[1] == (byte)'1', _resp3);
                reader.Advance(4);
                _loopWritten = true;
            }
            if (!Pass(ref reader, ref _afterLoop, output)) return false;
            long skip = Math.Min(_trailer, reader.Remaining);
            reader.Advance(skip);
            _trailer -= (int)skip;
            if (_trailer > 0) return false;
            Active = false;
            return true;
        }

        private static bool Pass(ref SequenceReader<byte> reader, ref long left, IBufferWriter<byte> output)
        {
            if (left == 0) return true;
            long n = Math.Min(left, reader.Remaining);
            RespWriter.WriteRaw(output, reader.UnreadSequence.Slice(0, n));
            reader.Advance(n);
            left -= n;
            return left == 0;
        }
    }
}
