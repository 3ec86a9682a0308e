using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using Microsoft.Extensions.Logging;
using RedisTimer.Resp;

namespace RedisTimer.Proxy.Server;

/// <summary>
/// What a session's replies need on their way from Redis to the client: TIMER.INFO replies re-encoded
/// (<see cref="InfoReplyRewriter"/>), and the reply of a merged TIMER.NEW call split into one reply per
/// TIMER.NEW. The request side says what to expect; the reply pump passes every upstream byte through
/// <see cref="Write"/>.
/// </summary>
/// <remarks>
/// A merged call's error (OOM, NOPERM, a missing function, BUSY...) carries no mark, so its reply is found
/// by counting: the request side numbers every frame it sends upstream, and while merged calls are in flight
/// the reply side counts Redis's replies (RESP3 pushes are not replies). Counting starts at a marked reply
/// whose token is its request's number (a one-timer call, which is correct whatever Redis answers), so a
/// session that never merges TIMER.NEWs never pays for it. Counting is exact only while every request gets
/// exactly one reply: the request side stops merging for good once the client subscribes, monitors or
/// changes CLIENT REPLY, and counting stops when the calls already merged are answered.
/// </remarks>
public sealed class ReplyStream(ILogger logger)
{
    /// <summary>A merged call in flight: its request number and how many TIMER.NEWs it holds.</summary>
    private readonly record struct PendingCall(long Index, int Timers);

    // A partial reply that may be a merged call's is held until it is whole; no merged call's reply is this
    // long, so a longer one is another reply (a RESP3 push) and streams through.
    private const long MaxHeldReply = 64 * 1024;

    private readonly ConcurrentQueue<PendingCall> _calls = new();
    private int _pendingInfo;            // rewritten TIMER.INFO calls whose reply has not been seen
    private volatile bool _counting;     // replies are counted: merged calls may be sent
    private volatile bool _countingEnds; // the client left plain request/reply: stop once the merged calls are answered
    private RespFrameScanner _scanner;   // top-level reply frames, resumable across reads
    private long _scannedAhead;          // bytes after the consumed position already fed to the scanner
    private long _repliesSeen;           // number of the next reply (= its request's number)

    /// <summary>True once replies are counted: the request side may merge TIMER.NEWs.</summary>
    public bool Counting => _counting && !_countingEnds;

    /// <summary>True while some reply may need rewriting: the reply pump then passes bytes through <see cref="Write"/>.</summary>
    public bool Active => _counting || Volatile.Read(ref _pendingInfo) > 0 || !_calls.IsEmpty;

    /// <summary>A rewritten TIMER.INFO was sent.</summary>
    public void ExpectInfo() => Interlocked.Increment(ref _pendingInfo);

    /// <summary>
    /// A timer_batch call was sent as request number <paramref name="index"/>. A one-timer call may be sent at
    /// any time (it starts counting); one with more timers only while <see cref="Counting"/>.
    /// </summary>
    public void ExpectBatch(long index, int timers) => _calls.Enqueue(new PendingCall(index, timers));

    /// <summary>The client subscribed, monitors or changed CLIENT REPLY: replies no longer match requests one to one.</summary>
    public void EndCounting() => _countingEnds = true;

    public enum Outcome { Done, Holding, Incomplete }

    /// <summary>
    /// Writes <paramref name="buffer"/> to the client with the replies that need it rewritten; stops before
    /// bytes that must wait for more (<paramref name="consumed"/>). Holding: the held bytes may be released
    /// as they are if nothing follows soon (<paramref name="final"/> on the next call); Incomplete: they must
    /// wait for the rest.
    /// </summary>
    public Outcome Write(in ReadOnlySequence<byte> buffer, PipeWriter output, bool final, out SequencePosition consumed)
    {
        if (_counting && _countingEnds && _calls.IsEmpty) StopCounting();
        if (_counting) return WriteCounted(buffer, output, final, out consumed);

        var outcome = WriteRun(buffer, output, final, out consumed, out long token, stopAtBatch: true);
        if (outcome != InfoReplyRewriter.Outcome.Batch) return Convert(outcome);
        StartCounting(token);
        return WriteCounted(buffer.Slice(consumed), output, final, out consumed);
    }

    private void StartCounting(long token)
    {
        // Counting starts after this reply; counting starts sent before it were answered with errors, which
        // went out as they were (one timer, one reply).
        while (_calls.TryPeek(out var call) && call.Index <= token) _calls.TryDequeue(out _);
        _repliesSeen = token + 1;
        _scanner.Reset();
        _scannedAhead = 0;
        _counting = true;
    }

    private void StopCounting()
    {
        _counting = false;
        _scanner.Reset();
        _scannedAhead = 0;
    }

    private Outcome WriteCounted(in ReadOnlySequence<byte> buffer, PipeWriter output, bool final, out SequencePosition consumed)
    {
        var written = buffer.Start;
        var reader = new SequenceReader<byte>(buffer);
        reader.Advance(_scannedAhead);
        while (true)
        {
            var status = _scanner.TryScan(ref reader, out var frame);
            if (status == RespFrameStatus.NeedMoreData) break;
            if (status == RespFrameStatus.Invalid)
            {
                // A reply beyond the scanner's limits (nested deeper than 128, a bulk over 512 MB): no more
                // merging. The calls in flight are found by their marks, and the first one found lets counting
                // go on from its end (only a refusal of a whole call in between would go out once).
                logger.LogWarning("An upstream reply is beyond what the proxy frames; TIMER.NEWs are no longer merged on this connection");
                _countingEnds = true;
                StopCounting();
                return Write(buffer.Slice(written), output, final, out consumed);
            }
            if (frame.IsPush) continue;
            long index = _repliesSeen++;
            if (!_calls.TryPeek(out var call) || call.Index > index) continue;
            _calls.TryDequeue(out _);
            if (call.Index < index)
            {
                logger.LogError("The reply of merged TIMER.NEW call {Index} was not found (at reply {Reply})", call.Index, index);
                continue;
            }
            if (reader.Consumed < frame.Length)
            {
                // Began before this read and was passed on as it came (longer than what is held): cannot be split.
                logger.LogError("The reply of merged TIMER.NEW call {Index} was too long to split", call.Index);
                continue;
            }
            var frameStart = buffer.GetPosition(reader.Consumed - frame.Length);
            WriteRun(buffer.Slice(written, frameStart), output, final: true, out _, out _, stopAtBatch: false);
            WriteBatchReply(buffer.Slice(frameStart, reader.Position), call, output);
            written = reader.Position;
        }

        long partial = _scanner.PendingLength;
        Outcome outcome;
        if (partial > 0 && partial <= MaxHeldReply && partial <= buffer.Slice(written).Length
            && _calls.TryPeek(out var next) && next.Index == _repliesSeen)
        {
            // This may be a merged call's reply: it goes out whole, split.
            consumed = buffer.GetPosition(buffer.Length - partial);
            WriteRun(buffer.Slice(written, consumed), output, final: true, out _, out _, stopAtBatch: false);
            outcome = Outcome.Incomplete;
        }
        else
        {
            outcome = Convert(WriteRun(buffer.Slice(written), output, final, out consumed, out _, stopAtBatch: false));
        }
        _scannedAhead = buffer.Slice(consumed).Length;
        return outcome;
    }

    private void WriteBatchReply(in ReadOnlySequence<byte> frame, PendingCall call, PipeWriter output)
    {
        if (InfoReplyRewriter.TryReadBatchReply(frame, out long token, out var replies))
        {
            if (token != call.Index)
                logger.LogError("Merged TIMER.NEW reply {Token} found where reply {Index} was expected", token, call.Index);
            Copy(replies, output);
            return;
        }
        // The call as a whole was refused or failed: each TIMER.NEW gets that reply, as each would have alone.
        if (frame.FirstSpan[0] != (byte)'-' && call.Timers > 1)
            logger.LogWarning("Merged TIMER.NEW call answered with a '{Type}' reply; repeated for each timer", (char)frame.FirstSpan[0]);
        for (int i = 0; i < call.Timers; i++) Copy(frame, output);
    }

    // Bytes other than counted merged calls' replies: TIMER.INFO replies are rewritten while some are expected,
    // and while not counting, the marked replies of merged calls in flight (the one that starts counting).
    // With stopAtBatch, stops after such a reply.
    private InfoReplyRewriter.Outcome WriteRun(ReadOnlySequence<byte> run, PipeWriter output, bool final, out SequencePosition consumed,
        out long batchToken, bool stopAtBatch)
    {
        batchToken = -1;
        while (true)
        {
            if (Volatile.Read(ref _pendingInfo) <= 0 && (_counting || _calls.IsEmpty))
            {
                Copy(run, output);
                consumed = run.End;
                return InfoReplyRewriter.Outcome.Done;
            }
            int found = 0;
            var outcome = InfoReplyRewriter.Rewrite(run, output, ref found, out consumed, out batchToken, final);
            if (found > 0) DecrementInfo(found);
            if (outcome != InfoReplyRewriter.Outcome.Batch || stopAtBatch) return outcome;
            // A counting start answered while already counting (its reply went out split): go on after it.
            run = run.Slice(consumed);
        }
    }

    private void DecrementInfo(int count)
    {
        if (Interlocked.Add(ref _pendingInfo, -count) < 0) Interlocked.Exchange(ref _pendingInfo, 0);
    }

    private static Outcome Convert(InfoReplyRewriter.Outcome outcome) => outcome switch
    {
        InfoReplyRewriter.Outcome.Holding => Outcome.Holding,
        InfoReplyRewriter.Outcome.Incomplete => Outcome.Incomplete,
        _ => Outcome.Done,
    };

    private static void Copy(in ReadOnlySequence<byte> bytes, PipeWriter output)
    {
        foreach (var segment in bytes) output.Write(segment.Span);
    }
}
