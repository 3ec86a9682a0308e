using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using RedisTimer.Proxy.Commands;
using RedisTimer.Proxy.Metrics;
using RedisTimer.Proxy.Server.Replies;
using RedisTimer.Proxy.Scheduling;
using RedisTimer.Proxy.Timers;
using RedisTimer.Proxy.Upstream;
using RedisTimer.Resp;

namespace RedisTimer.Proxy.Server;

/// <summary>
/// One client and its own upstream connection: requests are framed and routed on the way in, replies flow
/// back unchanged. Each direction is a pump that awaits its writer's flush, so a side that stops reading
/// stalls the other side's reads instead of growing the proxy's memory.
/// </summary>
public sealed class ClientSession
{
    private readonly IDuplexPipe _client;
    private readonly IDuplexPipe _upstream;
    private readonly RequestScanner _scanner;
    private readonly string _upstreamName;
    private readonly TimeSpan _drain;
    private readonly ILogger _logger;

    // Set when the client sent something after which Redis closes the connection (QUIT, a protocol error):
    // that close is the expected end, not an upstream failure.
    private volatile bool _upstreamCloseExpected;
    private volatile bool _stopReadingClient;

    private readonly ITimerActivation _timers;
    private CommandInfo _command = CommandTable.Forward; // of the frame being scanned
    private bool _wholeFrame;            // the frame being scanned is handled by the proxy, not streamed
    private bool _oversizedFrame;        // the frame at the current position is too large to rewrite
    private int _db;                     // the client's selected database as its SELECTs tell: a hint the library checks (a SELECT may be refused or dropped)
    private readonly ReplyPipeline _replies;
    private readonly TimerCommandMerger _merger; // numbers requests, merges pipelined TIMER.NEWs
    private volatile bool _draining;     // the drain time is over: a cancelled upstream read means shut down
    private volatile string? _closingError; // sent to the client after the last reply, before closing

    public ClientSession(IDuplexPipe client, IDuplexPipe upstream, RespLimits limits, string upstreamName,
        TimeSpan drain, ITimerActivation timers, int initialDb, ILogger logger, ReplicaWait? replicaWait = null,
        ProxyMetrics? metrics = null)
    {
        _timers = timers;
        _db = initialDb;
        _replies = new ReplyPipeline(logger, replicaWait, metrics);
        _metrics = metrics;
        _merger = new TimerCommandMerger(_replies, replicaWait);
        _client = client;
        _upstream = upstream;
        _scanner = new RequestScanner(limits);
        _upstreamName = upstreamName;
        _drain = drain;
        _logger = logger;
    }

    public static async Task RefuseAsync(PipeWriter client, string message)
    {
        client.Write(Encoding.UTF8.GetBytes($"-ERR {Sanitize(message)}\r\n"));
        await client.FlushAsync();
    }

    public async Task RunAsync(CancellationToken shutdown)
    {
        var requests = PumpRequestsAsync();
        var replies = PumpRepliesAsync();
        _close = () =>
        {
            if (Interlocked.Exchange(ref _closing, 1) == 0) _ = DrainAsync(requests, replies);
        };
        using var onShutdown = shutdown.Register(_close);
        await Task.WhenAll(requests, replies);
    }

    private readonly ProxyMetrics? _metrics;
    private long _lastInteraction = Environment.TickCount64;
    private int _closing;
    private Action? _close;

    /// <summary>
    /// As redis-server's <c>timeout</c>: nothing read from the client nor written to it for longer than
    /// <paramref name="timeoutMs"/>, and not waiting for a reply (a blocking command) nor subscribed or monitoring
    /// (replies no longer answer requests one to one), which Redis exempts too.
    /// </summary>
    public bool IsIdle(long now, long timeoutMs) =>
        now - Volatile.Read(ref _lastInteraction) > timeoutMs && _merger.RepliesCounted && _replies.Replied >= _merger.SentCount;

    /// <summary>Closes the client as a shutdown does (Redis has nothing left to answer): no reply of the proxy's own.</summary>
    public void CloseIdle() => _close?.Invoke();

    // Graceful shutdown: stop taking requests, then half-close the upstream. Redis answers everything it
    // already received and closes (a blocked BLPOP simply ends), so the replies asked for arrive without
    // the proxy counting them; the drain time bounds a Redis that takes too long.
    private async Task DrainAsync(Task requests, Task replies)
    {
        _stopReadingClient = true;
        try { _client.Input.CancelPendingRead(); } catch (InvalidOperationException) { }
        _upstream.Output.CancelPendingFlush();
        await requests; // after this nothing else writes to the upstream
        _upstreamCloseExpected = true;
        await _upstream.Output.CompleteAsync();
        await Task.WhenAny(replies, Task.Delay(_drain));
        _draining = true;
        _upstream.Input.CancelPendingRead();
    }

    // How a client's or its upstream's connection ends: reset, closed, aborted at shutdown. Anything else is a fault of
    // the proxy's, left to reach the listener, which logs it at Error with the connection and closes it.
    private static bool IsConnectionEnding(Exception e) =>
        e is IOException or ConnectionAbortedException or ConnectionResetException or ObjectDisposedException or OperationCanceledException;

    private enum ScanOutcome { NeedMoreData, ProtocolError, NeedTimerLibrary }

    private async Task PumpRequestsAsync()
    {
        var input = _client.Input;
        var output = _upstream.Output;
        try
        {
            while (!_stopReadingClient)
            {
                var result = await input.ReadAsync();
                if (result.IsCanceled) break;
                Volatile.Write(ref _lastInteraction, Environment.TickCount64);
                var buffer = result.Buffer;
                var outcome = RouteFrames(buffer, output, out SequencePosition consumed);

                if (outcome == ScanOutcome.NeedTimerLibrary)
                {
                    // The frames before it are on their way; this one waits for the library, then is read again.
                    input.AdvanceTo(consumed, consumed);
                    await output.FlushAsync();
                    await _timers.EnsureActiveAsync();
                    continue;
                }
                input.AdvanceTo(consumed, buffer.End);

                if (outcome == ScanOutcome.ProtocolError)
                {
                    _logger.ProtocolError(ProtocolErrors.Message(_scanner.Error, _scanner.ErrorByte));
                    // Redis answers with its own text and closes, after the replies of what came before;
                    // the upstream stays open until then.
                    _upstreamCloseExpected = true;
                    _stopReadingClient = true;
                    output.Write(CanonicalMalformedFrame(_scanner.Error, _scanner.ErrorByte, insideFrame: RequestScanner.IsBulkHeaderError(_scanner.Error)));
                    await output.FlushAsync();
                    break;
                }
                var flush = await output.FlushAsync();
                if (flush.IsCompleted || flush.IsCanceled || result.IsCompleted) break;
            }
        }
        catch (Exception e) when (IsConnectionEnding(e))
        {
            _logger.ClientReadEnded(e);
        }
        catch (Exception e) when (e is StackExchange.Redis.RedisException or TimeoutException)
        {
            // The timer library could not be loaded: the replies to what came before go out first, then this
            // error (written by the reply pump, the client's only writer), then the client is disconnected.
            _logger.LogWarning(e, "Timer library unavailable");
            _closingError = $"upstream {_upstreamName} unavailable: timer library could not be loaded: {e.Message}";
        }
        finally
        {
            _upstreamCloseExpected = true;
            await input.CompleteAsync();
            // The client closed its side: half-close ours once everything is sent, so Redis still answers
            // what it got (as it would answer the client directly). A protocol error or a shutdown drain
            // instead waits for Redis's own close.
            if (!_stopReadingClient) await output.CompleteAsync();
        }
    }

    /// <summary>
    /// Frames what the client sent. Forwarded frames are copied to the upstream writer in runs (a frame whose
    /// name is known streams through even when incomplete); a frame the proxy handles is taken whole and
    /// written rewritten in its place. Stops at the first protocol error, having forwarded what came before.
    /// </summary>
    private ScanOutcome RouteFrames(in ReadOnlySequence<byte> buffer, PipeWriter output, out SequencePosition consumed)
    {
        var reader = new SequenceReader<byte>(buffer);
        var frameStart = buffer.Start;
        var forwardFrom = buffer.Start; // bytes from here on are the client's own, still to be copied
        while (true)
        {
            if (_scanner.AtFrameStart) frameStart = reader.Position;
            switch (_scanner.Next(ref reader))
            {
                case RequestEvent.Name:
                    _command = CommandTable.Find(_scanner.Name);
                    if (_command.Has(CommandFlags.ClosesConnection)) _upstreamCloseExpected = true;
                    _wholeFrame = _command.Has(CommandFlags.WholeFrame) && !_oversizedFrame
                        && (!_command.Has(CommandFlags.WhileTimersExist) || _timers.IsActive)
                        && (!_command.Has(CommandFlags.WhileScriptsRewritten) || !ScriptShas.IsEmpty);
                    // Only a whole TIMER.NEW or TIMER.KILL may join the gathered ones; anything else is numbered after them.
                    if (!_wholeFrame || (_command != CommandTable.TimerNew && _command != CommandTable.TimerKill)) SendMerged(output);
                    _merger.Note(_command, _scanner.ArgumentCount);
                    if (_wholeFrame && _command.Has(CommandFlags.TimerCommand) && !_timers.IsActive)
                    {
                        SendMerged(output);
                        RespWriter.WriteRaw(output, buffer.Slice(forwardFrom, frameStart));
                        _scanner.Reset();
                        consumed = frameStart;
                        return ScanOutcome.NeedTimerLibrary;
                    }
                    break;

                case RequestEvent.End:
                    _oversizedFrame = false;
                    if (_scanner.ArgumentCount == 0) break; // Redis ignores it: no reply
                    if (_wholeFrame)
                    {
                        _wholeFrame = false;
                        var frame = buffer.Slice(frameStart, reader.Position);
                        var handled = HandleFrame(frame, output, buffer.Slice(forwardFrom, frameStart));
                        if (handled == Handled.NeedTimers)
                        {
                            // As a TIMER.* command: the frames before it go on, this one is read again once timers are active.
                            SendMerged(output);
                            RespWriter.WriteRaw(output, buffer.Slice(forwardFrom, frameStart));
                            consumed = frameStart;
                            return ScanOutcome.NeedTimerLibrary;
                        }
                        if (handled != Handled.Forward) forwardFrom = reader.Position;
                        if (handled == Handled.Merging) break;
                    }
                    if (_merger.WaitDue)
                    {
                        // The WAIT goes right after this request: its bytes first.
                        RespWriter.WriteRaw(output, buffer.Slice(forwardFrom, reader.Position));
                        forwardFrom = reader.Position;
                    }
                    _merger.Sent(output);
                    break;

                case RequestEvent.NeedMoreData:
                    SendMerged(output);
                    consumed = reader.Position;
                    if (_wholeFrame && _command == CommandTable.TimerNew && _scanner.InlineArguments is null
                        && buffer.Slice(frameStart).Length > MaxRewrittenFrame)
                    {
                        // A big TIMER.NEW: write its rewritten head now and let the rest stream through.
                        var head = new ArrayBufferWriter<byte>(256);
                        if (TimerCommandRewriter.TryWriteNewHead(buffer.Slice(frameStart, reader.Position), _scanner.ArgumentCount, _db, head, out long headLength))
                        {
                            RespWriter.WriteRaw(output, buffer.Slice(forwardFrom, frameStart));
                            output.Write(head.WrittenSpan);
                            forwardFrom = buffer.Slice(frameStart).GetPosition(headLength);
                            _wholeFrame = false;
                            _merger.TimerWrite(TimerCount.New);
                        }
                    }
                    if (!_scanner.AtFrameStart && (!_scanner.NameKnown || _wholeFrame))
                    {
                        // Not routable yet, or to be handled whole: wait for the rest, from the frame's start.
                        if (_wholeFrame && buffer.Slice(frameStart).Length > MaxRewrittenFrame) _oversizedFrame = true;
                        _scanner.Reset();
                        _wholeFrame = false;
                        consumed = frameStart;
                    }
                    RespWriter.WriteRaw(output, buffer.Slice(forwardFrom, consumed));
                    return ScanOutcome.NeedMoreData;

                case RequestEvent.Error:
                    SendMerged(output);
                    // The client's bytes up to the malformed line: at a bulk header, Redis then holds the frame's start
                    // (and maybe more, streamed through in earlier reads) and the rest written after them must be
                    // what makes it refuse that header; at a frame's start, a whole malformed frame.
                    RespWriter.WriteRaw(output, buffer.Slice(forwardFrom, reader.Position));
                    consumed = buffer.End;
                    return ScanOutcome.ProtocolError;
            }
        }
    }

    // A frame the proxy would rewrite but that is this large is forwarded as it is (Redis answers it):
    // holding it whole could exceed the client pipe's limit.
    private const long MaxRewrittenFrame = 256 * 1024;

    private enum Handled { Forward, Rewritten, Merging, NeedTimers }

    /// <summary>
    /// Acts on a whole frame the proxy looks into: writes its replacement (the client's pending bytes before
    /// it are copied first), keeps it to be merged with the TIMER.NEWs that follow, or leaves it to be
    /// forwarded unchanged.
    /// </summary>
    private Handled HandleFrame(in ReadOnlySequence<byte> frame, PipeWriter output, in ReadOnlySequence<byte> before)
    {
        if (_command == CommandTable.TimerNew && _scanner.InlineArguments is null && _scanner.ArgumentCount >= 2)
        {
            // What came before goes first (and the TIMER.NEWs gathered before that).
            if (!before.IsEmpty) SendMerged(output);
            RespWriter.WriteRaw(output, before);
            if (_merger.TryGather(frame, _scanner.ArgumentCount, kill: false, _db, output)) return Handled.Merging;
            SendMerged(output);
            // The hot timer command: spliced around the client's own bytes, no per-argument copies.
            TimerCommandRewriter.WriteNewSpliced(frame, _scanner.ArgumentCount, _db, output);
            _merger.TimerWrite(TimerCount.New);
            return Handled.Rewritten;
        }
        if (_command == CommandTable.TimerKill && _scanner.InlineArguments is null && _scanner.ArgumentCount == 2)
        {
            if (!before.IsEmpty) SendMerged(output);
            RespWriter.WriteRaw(output, before);
            if (_merger.TryGather(frame, 2, kill: true, _db, output)) return Handled.Merging;
            SendMerged(output);
            TimerCommandRewriter.WriteKillSpliced(frame, _db, output);
            _merger.TimerWrite(TimerCount.Kill);
            return Handled.Rewritten;
        }
        SendMerged(output);
        if (_command == CommandTable.Eval || _command == CommandTable.EvalRo || _command == CommandTable.Function || _command == CommandTable.Script)
            return HandleCode(frame, output, before);
        if (_command == CommandTable.EvalSha || _command == CommandTable.EvalShaRo) return HandleEvalSha(frame, output, before);
        var args = _scanner.InlineArguments ?? RequestArguments.Parse(frame);
        if (_command == CommandTable.TimerStats)
        {
            RespWriter.WriteRaw(output, before);
            TimerCommandRewriter.WriteStats(args.Count - 1, _metrics?.Snapshot() ?? [], output);
            _merger.Expect(ReplyAction.RewriteInfo);
            return Handled.Rewritten;
        }
        if (_command == CommandTable.Command)
        {
            // Inside MULTI the reply is an EXEC element: Redis's, unchanged.
            if (args.Count > 2 && !_merger.InTransaction && (Ascii.EqualsIgnoreCase(args[1], "INFO"u8) || Ascii.EqualsIgnoreCase(args[1], "DOCS"u8))
                && args.Skip(2).Any(name => TimerCommandDocs.Find(name) >= 0))
                _merger.Expect(Ascii.EqualsIgnoreCase(args[1], "INFO"u8) ? ReplyAction.CommandInfo : ReplyAction.CommandDocs, [.. args.Skip(2)]);
            return Handled.Forward;
        }
        if (_command.Has(CommandFlags.SelectsDatabase))
        {
            if (args.Count == 2 && RespInteger.TryParse(args[1], out long db) && db is >= 0 and <= int.MaxValue) _db = (int)db;
            return Handled.Forward;
        }
        if (_command.Has(CommandFlags.Resets))
        {
            _db = 0;
            return Handled.Forward;
        }
        if (_command.Has(CommandFlags.MayEndCounting))
        {
            if (args.Count >= 2 && Ascii.EqualsIgnoreCase(args[1], "REPLY"u8)) _merger.EndCounting();
            return Handled.Forward;
        }
        // Not rewritten (a keyspace command with Redis's arity error to come, a SCAN that needs no help): forwarded unchanged.
        if (_command.Rewrite is not { } rewrite || !_command.ArityFits(args.Count)) return Handled.Forward;
        var rewritten = new ArrayBufferWriter<byte>(256);
        if (!rewrite(args, _db, rewritten)) return Handled.Forward;
        RespWriter.WriteRaw(output, before);
        output.Write(rewritten.WrittenSpan);
        if (_command.Reply is { } reply) _merger.Expect(reply);
        if (_command.Has(CommandFlags.WritesTimers))
            _merger.TimerWrite(_command == CommandTable.TimerNew ? TimerCount.New : _command == CommandTable.TimerKill ? TimerCount.Kill : TimerCount.None);
        return Handled.Rewritten;
    }

    /// <summary>
    /// FUNCTION LOAD [REPLACE] code, EVAL / EVAL_RO script ..., SCRIPT LOAD script: code that calls TIMER.* is sent with
    /// the prelude that answers them inside it (<see cref="LuaPrelude"/>), once timers are active (a timer it creates
    /// must fire). A rewritten script's replies show the client's SHA1 (<see cref="ScriptShas"/>). Any other code, and
    /// any other subcommand, is forwarded unchanged (SCRIPT EXISTS naming the client's SHA1s of rewritten scripts asks
    /// for the stored ones); only what decides is read.
    /// </summary>
    private Handled HandleCode(in ReadOnlySequence<byte> frame, PipeWriter output, in ReadOnlySequence<byte> before)
    {
        var inline = _scanner.InlineArguments;
        long count = _scanner.ArgumentCount;
        int codeAt = 1;
        if (_command == CommandTable.Function)
        {
            if (count is not (3 or 4) || !Is(Argument(frame, inline, 1), "LOAD"u8)) return Handled.Forward;
            if (count == 4 && !Is(Argument(frame, inline, 2), "REPLACE"u8)) return Handled.Forward;
            codeAt = (int)count - 1;
        }
        else if (_command == CommandTable.Script)
        {
            if (count >= 3 && Is(Argument(frame, inline, 1), "EXISTS"u8)) return RewriteScriptExists(frame, output, before);
            if (count != 3 || !Is(Argument(frame, inline, 1), "LOAD"u8)) return Handled.Forward;
            codeAt = 2;
        }
        if (!LuaPrelude.MentionsTimer(Argument(frame, inline, codeAt))) return Handled.Forward;
        if (!_timers.IsActive) return Handled.NeedTimers;
        var args = inline ?? RequestArguments.Parse(frame);
        var sent = args[codeAt];
        args[codeAt] = LuaPrelude.AddTo(sent);
        if (_command != CommandTable.Function)
        {
            var (user, stored) = ScriptShas.Remember(sent, args[codeAt]);
            _merger.Expect(ReplyAction.ScriptSha, [stored, user]);
        }
        WriteArguments(output, before, args);
        return Handled.Rewritten;
    }

    /// <summary>EVALSHA / EVALSHA_RO of a client's SHA1 whose script got the prelude: the stored one is run.</summary>
    private Handled HandleEvalSha(in ReadOnlySequence<byte> frame, PipeWriter output, in ReadOnlySequence<byte> before)
    {
        var inline = _scanner.InlineArguments;
        var sha = Argument(frame, inline, 1);
        if (sha.Length != 40) return Handled.Forward;
        Span<byte> digits = stackalloc byte[40];
        sha.CopyTo(digits);
        if (ScriptShas.Find(digits) is not { } stored) return Handled.Forward;
        var args = inline ?? RequestArguments.Parse(frame);
        var user = args[1];
        args[1] = stored;
        _merger.Expect(ReplyAction.ScriptSha, [stored, user]);
        WriteArguments(output, before, args);
        return Handled.Rewritten;
    }

    private Handled RewriteScriptExists(in ReadOnlySequence<byte> frame, PipeWriter output, in ReadOnlySequence<byte> before)
    {
        if (ScriptShas.IsEmpty) return Handled.Forward;
        var args = _scanner.InlineArguments ?? RequestArguments.Parse(frame);
        bool any = false;
        for (int i = 2; i < args.Count; i++)
        {
            if (ScriptShas.Find(args[i]) is not { } stored) continue;
            args[i] = stored;
            any = true;
        }
        if (!any) return Handled.Forward;
        WriteArguments(output, before, args);
        return Handled.Rewritten;
    }

    private static void WriteArguments(PipeWriter output, in ReadOnlySequence<byte> before, List<byte[]> args)
    {
        RespWriter.WriteRaw(output, before);
        RespWriter.WriteArrayHeader(output, args.Count);
        foreach (var a in args) RespWriter.WriteBulkString(output, a);
    }

    private static bool Is(in ReadOnlySequence<byte> argument, ReadOnlySpan<byte> word) =>
        argument.Length == word.Length && Ascii.EqualsIgnoreCase(argument.IsSingleSegment ? argument.FirstSpan : argument.ToArray(), word);

    private static ReadOnlySequence<byte> Argument(in ReadOnlySequence<byte> frame, List<byte[]>? inline, int index) =>
        inline is null ? RequestArguments.Slice(frame, index) : index < inline.Count ? new(inline[index]) : ReadOnlySequence<byte>.Empty;

    private void SendMerged(PipeWriter output) => _merger.Send(_db, output);

    /// <summary>
    /// Minimal bytes that make Redis itself report <paramref name="error"/> and close: a whole frame, or with
    /// <paramref name="insideFrame"/> its bad bulk header alone, for a Redis that already holds the frame up to there.
    /// </summary>
    internal static byte[] CanonicalMalformedFrame(ProtocolError error, byte got, bool insideFrame = false)
    {
        var frame = WholeMalformedFrame(error, got);
        return insideFrame ? frame["*1\r\n"u8.Length..] : frame;
    }

    private static byte[] WholeMalformedFrame(ProtocolError error, byte got) => error switch
    {
        ProtocolError.InvalidMultibulkLength => "*x\r\n"u8.ToArray(),
        ProtocolError.InvalidBulkLength => "*1\r\n$x\r\n"u8.ToArray(),
        ProtocolError.ExpectedDollar => got == (byte)'\r' ? "*1\r\n\r\n"u8.ToArray() : [(byte)'*', (byte)'1', 13, 10, got, 13, 10],
        ProtocolError.TooBigMultibulkCountString => [(byte)'*', .. Enumerable.Repeat((byte)'1', 64 * 1024 + 1)],
        ProtocolError.TooBigBulkCountString => [.. "*1\r\n$"u8, .. Enumerable.Repeat((byte)'1', 64 * 1024 + 1)],
        ProtocolError.TooBigInlineRequest => Enumerable.Repeat((byte)'a', 64 * 1024 + 1).ToArray(),
        ProtocolError.UnbalancedQuotes => "\"\r\n"u8.ToArray(),
        _ => throw new ArgumentOutOfRangeException(nameof(error)),
    };

    private async Task PumpRepliesAsync()
    {
        var input = _upstream.Input;
        var output = _client.Output;
        bool upstreamLost = false;
        try
        {
            while (true)
            {
                var result = await input.ReadAsync();
                var buffer = result.Buffer;
                if (result.IsCanceled && _draining) break;
                _replies.Write(buffer, output, final: result.IsCompleted, out var consumed);
                input.AdvanceTo(consumed, buffer.End);
                Volatile.Write(ref _lastInteraction, Environment.TickCount64);
                var flush = await output.FlushAsync();
                if (flush.IsCompleted) break; // client gone
                if (result.IsCompleted)
                {
                    upstreamLost = !_upstreamCloseExpected;
                    break;
                }
            }
        }
        catch (Exception e) when (IsConnectionEnding(e))
        {
            upstreamLost = !_upstreamCloseExpected;
            _logger.UpstreamReadEnded(e);
        }
        finally
        {
            await input.CompleteAsync();
        }

        if (!upstreamLost && _closingError is { } closing)
        {
            try
            {
                await RefuseAsync(output, closing);
            }
            catch (Exception e) when (e is IOException or InvalidOperationException) { }
        }
        // Redis closing the connection (CLIENT KILL, timeout, maxclients, shutdown, a crash) is passed on as a
        // close, after every byte it sent: a reply of the proxy's own would be taken for the reply to the next
        // request of a pipelining client, where Redis's clients (and its tests) expect an I/O error.
        if (upstreamLost) _logger.UpstreamClosed(_upstreamName);
        // The client's session ends with its upstream: stop reading it and close after the flush.
        _stopReadingClient = true;
        try { _client.Input.CancelPendingRead(); } catch (InvalidOperationException) { } // already completed
        await output.CompleteAsync();
    }

    // An error line cannot carry CR or LF.
    private static string Sanitize(string message) => message.Replace('\r', ' ').Replace('\n', ' ');
}
