using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace RedisTimer.Proxy.Transport;

/// <summary>A connected socket as a pair of pipes: what <see cref="ClientConnection"/> and the upstream link hold.</summary>
public interface ITransportPipe : IDuplexPipe
{
    /// <summary>Completes both pipes' far ends and closes the socket, after sending what was written when <paramref name="drainSends"/>.</summary>
    ValueTask CloseAsync(bool drainSends = false);

    /// <summary>Closes the socket at once.</summary>
    void Abort();
}

/// <summary>
/// A connected stream socket as a pair of pipes, driven by an <see cref="EpollLoop"/> (level-triggered) instead of
/// .NET's socket engine. Same contract as <see cref="SocketPipe"/>: completing <see cref="Output"/> sends what is
/// pending, then shuts down the sending side (half-close).
/// </summary>
/// <remarks>
/// All socket I/O happens on the loop thread. Reads are made only when epoll reports the socket readable, one read
/// per event (two when the first fills its buffer and more is queued); flushing the input pipe runs its consumer
/// (the session's pump) inline. A flush of the output pipe
/// made on the loop thread is written to the socket at once (the pipe's reader continuation runs inline); one made
/// elsewhere is posted to the loop. EPOLLOUT is asked for only while a write is partial. Backpressure: while the
/// input pipe is above its pause threshold the socket's EPOLLIN interest is dropped, and added back when the
/// consumer catches up. A client and its upstream socket are put on the same loop, so a request and its reply are
/// handled on one thread.
/// </remarks>
internal sealed class EpollPipe : ITransportPipe, EpollLoop.IHandler
{
    private const int MinReceive = 4 * 1024;
    private const int MaxReceive = 64 * 1024;
    private const int MaxIov = 64;

    private readonly Socket _socket;
    private readonly int _fd;
    private readonly EpollLoop _loop;
    private readonly Pipe _received;
    private readonly Pipe _toSend;
    private readonly Func<Exception, Exception?> _receiveError;
    private readonly TaskCompletionSource _receiving = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _sending = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Action _onSendData;
    private readonly Action _onFlushed;

    // Loop-thread state.
    private ulong _token;
    private bool _registered;
    private uint _interest;
    private bool _hangup;          // EPOLLHUP/EPOLLERR seen: with no interest left, the socket is taken out of the set
    private bool _readPaused;      // the input pipe's flush is waiting for its consumer
    private bool _waitingWritable; // a partial write waits for EPOLLOUT
    private bool _receiveDone;
    private bool _sendDone;
    private bool _closed;
    private int _hint = MinReceive;
    private ValueTaskAwaiter<ReadResult> _sendAwaiter;
    private ValueTaskAwaiter<FlushResult> _flushAwaiter;
    private MemoryHandle[]? _pins;

    public EpollPipe(Socket socket, EpollLoop loop, PipeOptions receiveOptions, PipeOptions sendOptions,
        Func<Exception, Exception?> receiveError)
    {
        _socket = socket;
        _fd = (int)socket.Handle;
        Libc.SetNonBlocking(_fd);
        _loop = loop;
        _received = new Pipe(receiveOptions);
        _toSend = new Pipe(sendOptions);
        _receiveError = receiveError;
        _onSendData = OnSendData;
        _onFlushed = OnFlushed;
        loop.Post(static s => ((EpollPipe)s!).Register(), this);
    }

    public PipeReader Input => _received.Reader;
    public PipeWriter Output => _toSend.Writer;
    public Task Receiving => _receiving.Task;
    public Task Sending => _sending.Task;

    private void Register()
    {
        if (_closed) return;
        try
        {
            _token = _loop.Add(this, _fd, Libc.EPOLLIN);
            _registered = true;
            _interest = Libc.EPOLLIN;
        }
        catch (SocketException e)
        {
            CloseNow(_receiveError(e), e);
            return;
        }
        ArmSend();
    }

    public void OnEvents(uint events)
    {
        if (_closed) return;
        if ((events & (Libc.EPOLLHUP | Libc.EPOLLERR)) != 0) _hangup = true;
        if ((events & (Libc.EPOLLIN | Libc.EPOLLHUP | Libc.EPOLLERR)) != 0 && WantRead) Receive();
        if ((events & (Libc.EPOLLOUT | Libc.EPOLLHUP | Libc.EPOLLERR)) != 0 && _waitingWritable && !_closed)
        {
            _waitingWritable = false;
            ArmSend();
        }
        UpdateInterest();
    }

    public void OnFault(Exception error) => CloseNow(_receiveError(error), error);

    private bool WantRead => !_receiveDone && !_readPaused && !_closed;

    private void UpdateInterest()
    {
        if (_closed) return;
        uint want = (WantRead ? Libc.EPOLLIN : 0) | (_waitingWritable ? Libc.EPOLLOUT : 0);
        try
        {
            if (_registered)
            {
                if (want == 0 && _hangup)
                {
                    // HUP and ERR are reported whatever the interest: out of the set until there is interest again.
                    _loop.Remove(_token, _fd);
                    _registered = false;
                }
                else if (want != _interest)
                {
                    _loop.Modify(_token, _fd, want);
                }
            }
            else if (want != 0)
            {
                _loop.Readd(this, _token, _fd, want);
                _registered = true;
            }
            _interest = want;
        }
        catch (SocketException e)
        {
            CloseNow(_receiveError(e), e);
        }
    }

    // --- receiving -------------------------------------------------------------------------------------

    private unsafe nint ReadInto(Memory<byte> memory)
    {
        fixed (byte* p = memory.Span)
        {
            return Libc.Read(_fd, p, (nuint)memory.Length);
        }
    }

    private void Receive()
    {
        var writer = _received.Writer;
        var memory = writer.GetMemory(_hint);
        nint n = ReadInto(memory);
        if (n > 0)
        {
            writer.Advance((int)n);
            bool filled = n == memory.Length;
            // A read that filled the buffer may leave the end of a message queued (a 4 KiB value's reply is
            // 4,105 bytes): take it now, so that the consumer sees the message whole and passes it on in one send
            // rather than two (measured: GET of 4 KiB values through the proxy, -P 1).
            if (filled && Libc.BytesAvailable(_fd) is int more and > 0)
            {
                nint m = ReadInto(writer.GetMemory(Math.Min(more, MaxReceive)));
                if (m > 0) writer.Advance((int)m);
                else if (m < 0 && Libc.Errno is not (Libc.EAGAIN or Libc.EINTR) and var errno)
                {
                    // An error read here is not reported again (a reset is consumed by the read that sees it): it
                    // ends the receiving side once the data before it has been handed on.
                    _pendingReceiveError = _receiveError(new SocketException(errno)) ?? EndOfStream;
                }
                // (0 or EAGAIN with bytes queued cannot happen; were it to, the next readiness event tells.)
            }
            // A read that filled the buffer means more is coming: read bigger next time.
            _hint = filled ? Math.Min(_hint * 4, MaxReceive) : MinReceive;
            ValueTask<FlushResult> flush;
            try
            {
                flush = writer.FlushAsync(); // runs the consumer inline
            }
            catch (Exception e) when (e is InvalidOperationException)
            {
                StopReceive(null);
                return;
            }
            if (flush.IsCompleted)
            {
                if (Completed(flush.GetAwaiter())) StopReceive(null);
                else if (TakePendingReceiveError() is { } error) StopReceive(error);
            }
            else
            {
                _readPaused = true;
                _flushAwaiter = flush.GetAwaiter();
                _flushAwaiter.UnsafeOnCompleted(_onFlushed);
            }
        }
        else if (n == 0)
        {
            StopReceive(null);
        }
        else
        {
            int errno = Libc.Errno;
            if (errno is Libc.EAGAIN or Libc.EINTR) return;
            StopReceive(_receiveError(new SocketException(errno)));
        }
    }

    private Exception? _pendingReceiveError;

    // A pending error that the owner maps to a plain end of the stream (receiveError returned null).
    private static readonly Exception EndOfStream = new IOException("end of stream");

    private Exception? TakePendingReceiveError()
    {
        var error = _pendingReceiveError;
        _pendingReceiveError = null;
        return error;
    }

    private static bool Completed(ValueTaskAwaiter<FlushResult> awaiter)
    {
        try { return awaiter.GetResult().IsCompleted; }
        catch (Exception) { return true; }
    }

    // The consumer caught up (on its thread, inside its AdvanceTo), or the input pipe's reader completed.
    private void OnFlushed()
    {
        if (_loop.IsLoopThread) FlushResumed();
        else _loop.Post(static s => ((EpollPipe)s!).FlushResumed(), this);
    }

    private void FlushResumed()
    {
        if (!_readPaused) return;
        _readPaused = false;
        bool completed = Completed(_flushAwaiter);
        _flushAwaiter = default;
        if (_closed || _receiveDone) return;
        if (completed) StopReceive(null);
        else if (TakePendingReceiveError() is { } error) StopReceive(error);
        // Level-triggered: whatever arrived meanwhile is reported by the next epoll_wait.
        UpdateInterest();
    }

    private void StopReceive(Exception? error)
    {
        if (_receiveDone) return;
        _receiveDone = true;
        _received.Writer.Complete(ReferenceEquals(error, EndOfStream) ? null : error);
        _receiving.TrySetResult();
        UpdateInterest();
    }

    // --- sending ---------------------------------------------------------------------------------------

    /// <summary>Sends what the output pipe holds, until it is empty, a write is partial, or the pipe is done.</summary>
    private void ArmSend()
    {
        while (!_sendDone && !_closed && !_waitingWritable)
        {
            ValueTask<ReadResult> read;
            try
            {
                read = _toSend.Reader.ReadAsync();
            }
            catch (Exception e)
            {
                FinishSend(e);
                return;
            }
            if (!read.IsCompleted)
            {
                _sendAwaiter = read.GetAwaiter();
                _sendAwaiter.UnsafeOnCompleted(_onSendData);
                return;
            }
            if (!SendFrom(read.GetAwaiter())) return;
        }
    }

    // The session flushed the output pipe (or completed it): inline on the loop thread, else posted.
    private void OnSendData()
    {
        if (_loop.IsLoopThread) SendReady();
        else _loop.Post(static s => ((EpollPipe)s!).SendReady(), this);
    }

    private void SendReady()
    {
        if (_sendDone || _closed) return;
        var awaiter = _sendAwaiter;
        _sendAwaiter = default;
        if (SendFrom(awaiter)) ArmSend();
        UpdateInterest();
    }

    /// <summary>Writes a read's buffer. True when all was sent and the pipe goes on.</summary>
    private bool SendFrom(ValueTaskAwaiter<ReadResult> awaiter)
    {
        ReadResult result;
        try
        {
            result = awaiter.GetResult();
        }
        catch (Exception e)
        {
            FinishSend(e);
            return false;
        }
        var buffer = result.Buffer;
        long sent = 0;
        if (!buffer.IsEmpty)
        {
            sent = Write(buffer, out int errno);
            if (errno != 0 && errno != Libc.EAGAIN)
            {
                _toSend.Reader.AdvanceTo(buffer.End);
                FinishSend(new SocketException(errno));
                return false;
            }
            if (sent < buffer.Length)
            {
                _toSend.Reader.AdvanceTo(buffer.GetPosition(sent));
                _waitingWritable = true;
                return false;
            }
        }
        _toSend.Reader.AdvanceTo(buffer.End);
        if (result.IsCompleted)
        {
            Libc.Shutdown(_fd, Libc.SHUT_WR);
            FinishSend(null);
            return false;
        }
        return true;
    }

    /// <summary>One send (one segment) or sendmsg (several); returns the bytes sent, errno when it failed.</summary>
    private unsafe long Write(in ReadOnlySequence<byte> buffer, out int errno)
    {
        errno = 0;
        if (buffer.IsSingleSegment)
        {
            var span = buffer.FirstSpan;
            nint n;
            do
            {
                fixed (byte* p = span) n = Libc.Send(_fd, p, (nuint)span.Length, Libc.MSG_NOSIGNAL);
            } while (n < 0 && (errno = Libc.Errno) == Libc.EINTR);
            if (n < 0) return 0;
            errno = 0;
            return n;
        }

        var pins = _pins ??= new MemoryHandle[MaxIov];
        var iov = stackalloc Libc.IoVec[MaxIov];
        long total = 0;
        var rest = buffer;
        while (!rest.IsEmpty)
        {
            int count = 0;
            long batch = 0;
            foreach (var segment in rest)
            {
                if (segment.IsEmpty) continue;
                if (count == MaxIov) break;
                pins[count] = segment.Pin();
                iov[count].Base = (byte*)pins[count].Pointer;
                iov[count].Length = (nuint)segment.Length;
                batch += segment.Length;
                count++;
            }
            if (count == 0) break;
            var msg = new Libc.MsgHdr { Iov = iov, IovLength = (nuint)count };
            nint n;
            do
            {
                n = Libc.SendMsg(_fd, &msg, Libc.MSG_NOSIGNAL);
            } while (n < 0 && (errno = Libc.Errno) == Libc.EINTR);
            for (int i = 0; i < count; i++) pins[i].Dispose();
            if (n < 0) return total;
            errno = 0;
            total += n;
            if (n < batch) break; // the socket's buffer is full
            rest = rest.Slice(n);
        }
        return total;
    }

    private void FinishSend(Exception? error)
    {
        if (_sendDone) return;
        _sendDone = true;
        _waitingWritable = false;
        try { _toSend.Reader.Complete(error); } catch (InvalidOperationException) { }
        _sending.TrySetResult();
    }

    // --- closing ---------------------------------------------------------------------------------------

    public async ValueTask CloseAsync(bool drainSends = false)
    {
        _toSend.Writer.Complete();
        _received.Reader.Complete();
        if (drainSends) await _sending.Task.ConfigureAwait(false);
        _loop.Post(static s => ((EpollPipe)s!).CloseNow(null, null), this);
        await Task.WhenAll(_receiving.Task, _sending.Task).ConfigureAwait(false);
    }

    public void Abort() => _loop.Post(static s =>
    {
        var pipe = (EpollPipe)s!;
        var aborted = new SocketException((int)SocketError.OperationAborted);
        pipe.CloseNow(pipe._receiveError(aborted), aborted);
    }, this);

    private void CloseNow(Exception? receiveError, Exception? sendError)
    {
        if (_closed) return;
        _closed = true;
        if (_registered) _loop.Remove(_token, _fd);
        _registered = false;
        try { _socket.Shutdown(SocketShutdown.Both); } catch (SocketException) { } catch (ObjectDisposedException) { }
        _socket.Dispose();
        if (!_receiveDone)
        {
            _receiveDone = true;
            try { _received.Writer.Complete(receiveError); } catch (InvalidOperationException) { }
            _receiving.TrySetResult();
        }
        if (!_sendDone)
        {
            _sendDone = true;
            try { _toSend.Reader.Complete(sendError); } catch (InvalidOperationException) { }
            _sending.TrySetResult();
        }
    }
}
