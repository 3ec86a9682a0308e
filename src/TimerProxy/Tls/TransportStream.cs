using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using RedisTimer.Proxy.Transport;

namespace RedisTimer.Proxy.Tls;

/// <summary>
/// A transport's pipes (the encrypted bytes of a socket) as the <see cref="Stream"/> that <see cref="System.Net.Security.SslStream"/>
/// reads and writes, so that TLS runs on whatever drives the socket: an epoll loop or .NET's socket engine.
/// </summary>
/// <remarks>
/// After the handshake a read continues where the transport delivered the bytes (the loop thread), so a request is
/// decrypted, routed and encrypted again on one thread with no hand-over. During the handshake
/// (<see cref="HandshakeAsync"/>) a read continues on the thread pool instead: the key exchange costs a few hundred µs of
/// CPU, which must not hold up the other connections of a loop.
/// </remarks>
internal sealed class TransportStream(ITransportPipe transport) : Stream
{
    private readonly PipeReader _input = transport.Input;
    private readonly PipeWriter _output = transport.Output;

    // While true, reads that waited for the transport continue on the thread pool.
    private bool _offLoop = true;

    /// <summary>Runs <paramref name="handshake"/> (which authenticates an SslStream over the stream it is given) over
    /// <paramref name="transport"/>, off the loop; the stream's later reads continue where the transport delivers.</summary>
    public static async Task<T> HandshakeAsync<T>(ITransportPipe transport, Func<Stream, Task<T>> handshake)
    {
        var stream = new TransportStream(transport);
        var session = await handshake(stream).ConfigureAwait(false);
        stream._offLoop = false;
        return session;
    }

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancel = default)
    {
        var read = _input.ReadAsync(cancel);
        return read.IsCompleted ? new ValueTask<int>(Take(read.Result, destination.Span)) : ReadAwaitedAsync(read, destination);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> ReadAwaitedAsync(ValueTask<ReadResult> read, Memory<byte> destination)
    {
        var result = await read.ConfigureAwait(false);
        if (_offLoop) await Task.Yield();
        return Take(result, destination.Span);
    }

    private int Take(ReadResult result, Span<byte> destination)
    {
        var buffer = result.Buffer;
        if (buffer.IsEmpty)
        {
            _input.AdvanceTo(buffer.End);
            if (result.IsCompleted || result.IsCanceled) return 0;
            throw new InvalidOperationException("an empty read of a pipe that goes on");
        }
        int n = (int)Math.Min(buffer.Length, destination.Length);
        buffer.Slice(0, n).CopyTo(destination);
        _input.AdvanceTo(buffer.GetPosition(n));
        return n;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancel = default)
    {
        var flush = _output.WriteAsync(source, cancel);
        if (!flush.IsCompleted) return WriteAwaitedAsync(flush);
        Ended(flush.Result);
        return default;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private static async ValueTask WriteAwaitedAsync(ValueTask<FlushResult> flush) => Ended(await flush.ConfigureAwait(false));

    // The transport stopped sending (the peer reset, or the connection was closed): what SslStream wrote is lost.
    private static void Ended(FlushResult result)
    {
        if (result.IsCompleted) throw new IOException("the connection was closed");
    }

    public override Task FlushAsync(CancellationToken cancel) => Task.CompletedTask;
    public override void Flush() { }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancel) =>
        ReadAsync(buffer.AsMemory(offset, count), cancel).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancel) =>
        WriteAsync(buffer.AsMemory(offset, count), cancel).AsTask();

    // SslStream is used only asynchronously here.
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
