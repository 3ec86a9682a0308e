using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using RedisTimer.Proxy.Commands;
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

    public ClientSession(IDuplexPipe client, IDuplexPipe upstream, RespLimits limits, string upstreamName,
        TimeSpan drain, ILogger logger)
    {
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
        using var onShutdown = shutdown.Register(() => _ = DrainAsync(requests, replies));
        await Task.WhenAll(requests, replies);
    }

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
        _upstream.Input.CancelPendingRead();
    }

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
                var buffer = result.Buffer;
                var outcome = ForwardFrames(buffer, output, out SequencePosition consumed);
                input.AdvanceTo(consumed, buffer.End);

                if (outcome != ProtocolError.None)
                {
                    _logger.LogDebug("Client protocol error: {Error}", ProtocolErrors.Message(outcome, _scanner.ErrorByte));
                    // Redis answers with its own text and closes, after the replies of what came before;
                    // the upstream stays open until then.
                    _upstreamCloseExpected = true;
                    _stopReadingClient = true;
                    output.Write(CanonicalMalformedFrame(outcome, _scanner.ErrorByte));
                    await output.FlushAsync();
                    break;
                }
                var flush = await output.FlushAsync();
                if (flush.IsCompleted || flush.IsCanceled || result.IsCompleted) break;
            }
        }
        catch (Exception e) when (e is IOException or ConnectionAbortedException or ObjectDisposedException or InvalidOperationException)
        {
            _logger.LogDebug(e, "Client read ended");
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
    /// Frames what the client sent and writes every forwarded byte to the upstream writer. Returns the first
    /// protocol error, having forwarded everything before the malformed frame.
    /// </summary>
    private ProtocolError ForwardFrames(in ReadOnlySequence<byte> buffer, PipeWriter output, out SequencePosition consumed)
    {
        var reader = new SequenceReader<byte>(buffer);
        var frameStart = buffer.Start;
        while (true)
        {
            if (_scanner.AtFrameStart) frameStart = reader.Position;
            switch (_scanner.Next(ref reader))
            {
                case RequestEvent.Name:
                    if (CommandTable.Route(_scanner.Name) == CommandRoute.ForwardThenClose) _upstreamCloseExpected = true;
                    break;
                case RequestEvent.End:
                    break;
                case RequestEvent.NeedMoreData:
                    // A frame whose name is known streams through; one still without a name waits to be whole.
                    consumed = reader.Position;
                    if (!_scanner.AtFrameStart && !_scanner.NameKnown)
                    {
                        _scanner.Reset();
                        consumed = frameStart;
                    }
                    Copy(buffer.Slice(buffer.Start, consumed), output);
                    return ProtocolError.None;
                case RequestEvent.Error:
                    Copy(buffer.Slice(buffer.Start, frameStart), output);
                    consumed = buffer.End;
                    return _scanner.Error;
            }
        }
    }

    private static void Copy(in ReadOnlySequence<byte> bytes, PipeWriter output)
    {
        if (bytes.IsSingleSegment)
        {
            if (!bytes.FirstSpan.IsEmpty) output.Write(bytes.FirstSpan);
            return;
        }
        foreach (var segment in bytes) output.Write(segment.Span);
    }

    /// <summary>A minimal frame that makes Redis itself report <paramref name="error"/> and close.</summary>
    internal static byte[] CanonicalMalformedFrame(ProtocolError error, byte got) => error switch
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
                if (result.IsCanceled) break;
                var buffer = result.Buffer;
                Copy(buffer, output);
                input.AdvanceTo(buffer.End);
                var flush = await output.FlushAsync();
                if (flush.IsCompleted) break; // client gone
                if (result.IsCompleted)
                {
                    upstreamLost = !_upstreamCloseExpected;
                    break;
                }
            }
        }
        catch (Exception e) when (e is IOException or ConnectionAbortedException or ObjectDisposedException or InvalidOperationException)
        {
            upstreamLost = !_upstreamCloseExpected;
            _logger.LogDebug(e, "Upstream read ended");
        }
        finally
        {
            await input.CompleteAsync();
        }

        if (upstreamLost)
        {
            _logger.LogWarning("Upstream {Upstream} dropped a client's connection", _upstreamName);
            try
            {
                await RefuseAsync(output, $"upstream {_upstreamName} unavailable: connection lost");
            }
            catch (Exception e) when (e is IOException or InvalidOperationException) { }
        }
        // The client's session ends with its upstream: stop reading it and close after the flush.
        _stopReadingClient = true;
        try { _client.Input.CancelPendingRead(); } catch (InvalidOperationException) { } // already completed
        await output.CompleteAsync();
    }

    // An error line cannot carry CR or LF.
    private static string Sanitize(string message) => message.Replace('\r', ' ').Replace('\n', ' ');
}
