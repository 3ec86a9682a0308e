using System.IO.Pipelines;
using System.Net.Security;
using System.Net.Sockets;
using RedisTimer.Proxy.Transport;

namespace RedisTimer.Proxy.Tls;

/// <summary>
/// A connection whose TLS session is already established, as a pair of pipes of plain text over the
/// transport's pipes of encrypted bytes: the same contract as <see cref="SocketPipe"/>
/// (completing <see cref="Output"/> sends what is pending, then TLS close_notify and a shutdown of the sending side
/// only, so the peer still answers what it received).
/// </summary>
/// <remarks>
/// The transport is whatever drives plain connections (an <see cref="EpollPipe"/> on a client's loop, or a
/// <see cref="SocketPipe"/>), which the TLS stream reads and writes through a <see cref="TransportStream"/>: a
/// request is decrypted, routed and encrypted again on the thread that received it. Writes are
/// coalesced up to one TLS record (16 KiB), so a pipelined batch spread over many pipe segments costs a few records,
/// not one per segment.
/// </remarks>
public sealed class TlsPipe : ITransportPipe
{
    private const int MinReceive = 4 * 1024;
    private const int MaxReceive = 64 * 1024;
    private const int RecordSize = 16 * 1024;

    private readonly ITransportPipe _transport;
    private readonly SslStream _tls;
    private readonly Pipe _received;
    private readonly Pipe _toSend;
    private readonly Func<Exception, Exception?> _receiveError;

    public TlsPipe(ITransportPipe transport, SslStream tls, PipeOptions receiveOptions, PipeOptions sendOptions, Func<Exception, Exception?> receiveError)
    {
        _transport = transport;
        _tls = tls;
        _received = new Pipe(receiveOptions);
        _toSend = new Pipe(sendOptions);
        _receiveError = receiveError;
        Receiving = ReceiveLoopAsync();
        Sending = SendLoopAsync();
    }

    public PipeReader Input => _received.Reader;
    public PipeWriter Output => _toSend.Writer;

    public Task Receiving { get; }
    public Task Sending { get; }

    private async Task ReceiveLoopAsync()
    {
        var writer = _received.Writer;
        Exception? error = null;
        int hint = MinReceive;
        try
        {
            while (true)
            {
                var memory = writer.GetMemory(hint);
                int n = await _tls.ReadAsync(memory).ConfigureAwait(false);
                if (n == 0) break;
                writer.Advance(n);
                hint = n == memory.Length ? Math.Min(hint * 4, MaxReceive) : MinReceive;
                var flush = await writer.FlushAsync().ConfigureAwait(false);
                if (flush.IsCompleted) break;
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
            error = _receiveError(e);
        }
        await writer.CompleteAsync(error).ConfigureAwait(false);
    }

    private async Task SendLoopAsync()
    {
        var reader = _toSend.Reader;
        Exception? error = null;
        byte[]? record = null;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                if (buffer.IsSingleSegment)
                {
                    if (!buffer.IsEmpty) await _tls.WriteAsync(buffer.First).ConfigureAwait(false);
                }
                else
                {
                    record ??= new byte[RecordSize];
                    int filled = 0;
                    foreach (var segment in buffer)
                    {
                        for (var data = segment; !data.IsEmpty;)
                        {
                            int take = Math.Min(data.Length, RecordSize - filled);
                            data.Span[..take].CopyTo(record.AsSpan(filled));
                            filled += take;
                            data = data[take..];
                            if (filled == RecordSize)
                            {
                                await _tls.WriteAsync(record).ConfigureAwait(false);
                                filled = 0;
                            }
                        }
                    }
                    if (filled > 0) await _tls.WriteAsync(record.AsMemory(0, filled)).ConfigureAwait(false);
                }
                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted || result.IsCanceled) break;
            }
            await _tls.ShutdownAsync().ConfigureAwait(false);
            await _transport.Output.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
            error = e;
        }
        await reader.CompleteAsync(error).ConfigureAwait(false);
    }

    public async ValueTask CloseAsync(bool drainSends = false)
    {
        _toSend.Writer.Complete();
        _received.Reader.Complete();
        if (drainSends) await Sending.ConfigureAwait(false);
        await _transport.CloseAsync(drainSends).ConfigureAwait(false);
        await Task.WhenAll(Receiving, Sending).ConfigureAwait(false);
        _tls.Dispose();
    }

    public void Abort() => _transport.Abort();
}
