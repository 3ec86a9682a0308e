using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Threading.Tasks.Sources;

namespace RedisTimer.Proxy.Transport;

/// <summary>
/// A connected stream socket as a pair of pipes, with a receive loop and a send loop. Completing
/// <see cref="Output"/> sends what is pending, then shuts down only the sending side (half-close), so the
/// peer still answers what it received. Used for both sides of the proxy: clients and their Redis connections.
/// </summary>
/// <remarks>
/// Cost per read is what matters on the hot path: the pipes run their continuations inline (on the socket's
/// completion thread), a receive grows its buffer (4 to 64 KiB) while reads fill it (a 64 KiB pipelined batch
/// takes about three reads instead of sixteen 4 KiB ones; idle connections hold small buffers), and a
/// multi-segment send is one gathered sendmsg.
/// Nothing is allocated per read or send.
/// </remarks>
public sealed class SocketPipe : ITransportPipe
{
    private const int MinReceive = 4 * 1024;
    private const int MaxReceive = 64 * 1024;

    private readonly Socket _socket;
    private readonly Pipe _received;
    private readonly Pipe _toSend;
    private readonly Func<Exception, Exception?> _receiveError;
    private GatherSender? _gather;

    public SocketPipe(Socket socket, PipeOptions receiveOptions, PipeOptions sendOptions, Func<Exception, Exception?> receiveError)
    {
        _socket = socket;
        _received = new Pipe(receiveOptions);
        _toSend = new Pipe(sendOptions);
        _receiveError = receiveError;
        Receiving = ReceiveLoopAsync();
        Sending = SendLoopAsync();
    }

    public Socket Socket => _socket;

    /// <summary>What the peer sends.</summary>
    public PipeReader Input => _received.Reader;

    /// <summary>What goes to the peer; complete it to half-close after everything was sent.</summary>
    public PipeWriter Output => _toSend.Writer;

    public Task Receiving { get; }
    public Task Sending { get; }

    /// <summary>Pipe options with inline schedulers: the pumps run on the socket's completion thread.</summary>
    public static PipeOptions Options(long pause, long resume) => Options(pause, resume, PipeScheduler.Inline, PipeScheduler.Inline);

    public static PipeOptions Options(long pause, long resume, PipeScheduler reader, PipeScheduler writer) => new(
        pauseWriterThreshold: pause, resumeWriterThreshold: resume,
        readerScheduler: reader, writerScheduler: writer,
        minimumSegmentSize: MinReceive, useSynchronizationContext: false);

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
                int n = await _socket.ReceiveAsync(memory, SocketFlags.None);
                if (n == 0) break;
                writer.Advance(n);
                // A read that filled the buffer means more is queued: read bigger next time. Idle or
                // request/reply traffic goes back to small buffers, so an idle connection holds little.
                hint = n == memory.Length ? Math.Min(hint * 4, MaxReceive) : MinReceive;
                var flush = await writer.FlushAsync();
                if (flush.IsCompleted) break;
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            error = _receiveError(e);
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
                    _gather ??= new GatherSender(_socket);
                    await _gather.SendAsync(buffer);
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

    /// <summary>
    /// Completes both pipes' far ends and closes the socket; waits for both loops. With
    /// <paramref name="drainSends"/>, what was already written to <see cref="Output"/> is sent first (as
    /// Kestrel does when a connection handler returns); <see cref="Abort"/> ends a drain that cannot finish.
    /// </summary>
    public async ValueTask CloseAsync(bool drainSends = false)
    {
        _toSend.Writer.Complete();
        _received.Reader.Complete();
        if (drainSends) await Sending.ConfigureAwait(false);
        try { _socket.Shutdown(SocketShutdown.Both); } catch (SocketException) { } catch (ObjectDisposedException) { }
        _socket.Dispose();
        await Task.WhenAll(Receiving, Sending).ConfigureAwait(false);
        _gather?.Dispose();
    }

    /// <summary>Closes the socket at once: pending receives and sends fail, both loops end.</summary>
    public void Abort()
    {
        try { _socket.Shutdown(SocketShutdown.Both); } catch (SocketException) { } catch (ObjectDisposedException) { }
        _socket.Dispose();
    }

    /// <summary>One sendmsg for a multi-segment buffer, through a reused SocketAsyncEventArgs.</summary>
    private sealed class GatherSender : SocketAsyncEventArgs, IValueTaskSource<int>
    {
        private readonly Socket _socket;
        private readonly List<ArraySegment<byte>> _segments = new(8);
        private ManualResetValueTaskSourceCore<int> _source = new() { RunContinuationsAsynchronously = false };

        public GatherSender(Socket socket) : base(unsafeSuppressExecutionContextFlow: true) => _socket = socket;

        public async ValueTask SendAsync(ReadOnlySequence<byte> buffer)
        {
            _segments.Clear();
            foreach (var segment in buffer)
            {
                if (!MemoryMarshal.TryGetArray(segment, out var array))
                {
                    // Not array-backed (never with the default pool): send piece by piece.
                    _segments.Clear();
                    foreach (var piece in buffer)
                        for (var data = piece; !data.IsEmpty;)
                            data = data[await _socket.SendAsync(data, SocketFlags.None)..];
                    return;
                }
                if (array.Count > 0) _segments.Add(array);
            }
            long total = buffer.Length;
            BufferList = _segments;
            _source.Reset();
            int sent = _socket.SendAsync(this) ? await new ValueTask<int>(this, _source.Version) : Result();
            BufferList = null;
            _segments.Clear();
            // Stream sends complete in full; anything else is finished piece by piece.
            if (sent < total)
                foreach (var piece in buffer.Slice(sent))
                    for (var data = piece; !data.IsEmpty;)
                        data = data[await _socket.SendAsync(data, SocketFlags.None)..];
        }

        private int Result() => SocketError == SocketError.Success
            ? BytesTransferred
            : throw new SocketException((int)SocketError);

        protected override void OnCompleted(SocketAsyncEventArgs e)
        {
            if (SocketError == SocketError.Success) _source.SetResult(BytesTransferred);
            else _source.SetException(new SocketException((int)SocketError));
        }

        int IValueTaskSource<int>.GetResult(short token) => _source.GetResult(token);
        ValueTaskSourceStatus IValueTaskSource<int>.GetStatus(short token) => _source.GetStatus(token);
        void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token,
            ValueTaskSourceOnCompletedFlags flags) => _source.OnCompleted(continuation, state, token, flags);
    }
}
