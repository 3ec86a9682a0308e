using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;

namespace RedisTimer.Proxy.Upstream;

/// <summary>
/// One client's own connection to Redis as a pair of pipes. Unlike Kestrel's socket connection it can
/// half-close: completing <see cref="Output"/> sends what is pending, then shuts down only the sending
/// side, so Redis still answers what it received (a client that sends QUIT-less "PING" and closes its
/// write side still gets PONG, as with Redis directly).
/// </summary>
public sealed class UpstreamLink : IDuplexPipe, IAsyncDisposable
{
    // Inline schedulers: the pumps run on the socket's completion thread, no thread-pool hop per command.
    private static readonly PipeOptions ReceiveOptions = new(
        pauseWriterThreshold: 1024 * 1024, resumeWriterThreshold: 512 * 1024,
        readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.Inline,
        minimumSegmentSize: 16 * 1024, useSynchronizationContext: false);

    private static readonly PipeOptions SendOptions = new(
        pauseWriterThreshold: 256 * 1024, resumeWriterThreshold: 128 * 1024,
        readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.Inline,
        minimumSegmentSize: 16 * 1024, useSynchronizationContext: false);

    private readonly Socket _socket;
    private readonly Pipe _received = new(ReceiveOptions);
    private readonly Pipe _toSend = new(SendOptions);
    private readonly Task _receiving;
    private readonly Task _sending;

    public UpstreamLink(Socket socket)
    {
        _socket = socket;
        var cc = Environment.GetEnvironmentVariable("PROXY_EXP_CC");
        if (cc is not null) SetCongestion(socket, cc);
        _receiving = ReceiveLoopAsync();
        _sending = SendLoopAsync();
    }

    public static void SetCongestion(Socket socket, string cc)
    {
        var b = System.Text.Encoding.ASCII.GetBytes(cc);
        socket.SetRawSocketOption(6 /* IPPROTO_TCP */, 13 /* TCP_CONGESTION */, b);
    }

    /// <summary>What Redis sends.</summary>
    public PipeReader Input => _received.Reader;

    /// <summary>What goes to Redis; complete it to half-close after everything was sent.</summary>
    public PipeWriter Output => _toSend.Writer;

    private async Task ReceiveLoopAsync()
    {
        var writer = _received.Writer;
        Exception? error = null;
        try
        {
            while (true)
            {
                var memory = writer.GetMemory(8 * 1024);
                int n = await _socket.ReceiveAsync(memory, SocketFlags.None);
                if (n == 0) break;
                writer.Advance(n);
                var flush = await writer.FlushAsync();
                if (flush.IsCompleted) break;
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            error = new IOException("upstream connection failed: " + e.Message, e);
        }
        await writer.CompleteAsync(error);
    }

    private async Task SendLoopAsync()
    {
        var reader = _toSend.Reader;
        Exception? error = null;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync();
                var buffer = result.Buffer;
                if (buffer.IsSingleSegment)
                {
                    if (!buffer.IsEmpty) await SendAllAsync(buffer.First);
                }
                else
                {
                    foreach (var segment in buffer) await SendAllAsync(segment);
                }
                reader.AdvanceTo(buffer.End);
                if (result.IsCompleted || result.IsCanceled) break;
            }
            _socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            error = e;
        }
        await reader.CompleteAsync(error);
    }

    private async ValueTask SendAllAsync(ReadOnlyMemory<byte> data)
    {
        while (!data.IsEmpty)
        {
            int sent = await _socket.SendAsync(data, SocketFlags.None);
            data = data[sent..];
        }
    }

    public async ValueTask DisposeAsync()
    {
        _toSend.Writer.Complete();
        _received.Reader.Complete();
        try { _socket.Shutdown(SocketShutdown.Both); } catch (SocketException) { } catch (ObjectDisposedException) { }
        _socket.Dispose();
        await Task.WhenAll(_receiving, _sending).ConfigureAwait(false);
    }
}
