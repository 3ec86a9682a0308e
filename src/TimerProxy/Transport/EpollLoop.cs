using System.Collections.Concurrent;
using System.Net.Sockets;

namespace RedisTimer.Proxy.Transport;

/// <summary>
/// One event-loop thread over a level-triggered epoll set, Redis style. Every socket registered here has all its
/// I/O done on this thread: readiness events, reads, writes and closing. Work from other threads (a flush from a
/// thread-pool continuation, a close) is posted and runs after the current batch of events; an eventfd wakes the
/// loop only when it may be sleeping.
/// </summary>
internal sealed unsafe class EpollLoop : IDisposable
{
    /// <summary>A registered socket; called on the loop thread.</summary>
    public interface IHandler
    {
        void OnEvents(uint events);

        /// <summary><see cref="OnEvents"/> threw: leave the set and release the socket (as a connection reset would).</summary>
        void OnFault(Exception error);
    }

    private const int MaxEvents = 256;
    private const ulong WakeToken = 0;

    private readonly int _epfd;
    private readonly int _wakeFd;
    private readonly Thread _thread;
    private readonly ConcurrentQueue<(Action<object?> Action, object? State)> _queue = new();
    private readonly Dictionary<ulong, IHandler> _handlers = new();
    private readonly Action<Exception> _onError;
    private ulong _nextToken = 1;
    private int _wakePending = 1; // 0 while the loop may sleep in epoll_wait: a poster must then signal the eventfd
    private volatile bool _stopping;
    private int _threadId;

    public EpollLoop(string name, Action<Exception> onError)
    {
        _onError = onError;
        _epfd = Libc.EpollCreate1(Libc.EPOLL_CLOEXEC);
        if (_epfd < 0) throw new SocketException(Libc.Errno);
        _wakeFd = Libc.EventFd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK);
        if (_wakeFd < 0)
        {
            int errno = Libc.Errno;
            Libc.Close(_epfd);
            throw new SocketException(errno);
        }
        var ev = new Libc.EpollEvent { Events = Libc.EPOLLIN, Data = WakeToken };
        if (Libc.EpollCtl(_epfd, Libc.EPOLL_CTL_ADD, _wakeFd, &ev) < 0) throw new SocketException(Libc.Errno);
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.UnsafeStart();
    }

    public bool IsLoopThread => Environment.CurrentManagedThreadId == Volatile.Read(ref _threadId);

    /// <summary>Runs <paramref name="action"/> on the loop thread, after the current batch of events.</summary>
    public void Post(Action<object?> action, object? state)
    {
        _queue.Enqueue((action, state));
        if (IsLoopThread) return;
        if (Interlocked.Exchange(ref _wakePending, 1) == 0)
        {
            ulong one = 1;
            Libc.Write(_wakeFd, (byte*)&one, sizeof(ulong));
        }
    }

    /// <summary>Loop thread: adds <paramref name="fd"/> with the given interest; returns its token.</summary>
    public ulong Add(IHandler handler, int fd, uint events)
    {
        ulong token = _nextToken++;
        var ev = new Libc.EpollEvent { Events = events, Data = token };
        if (Libc.EpollCtl(_epfd, Libc.EPOLL_CTL_ADD, fd, &ev) < 0) throw new SocketException(Libc.Errno);
        _handlers[token] = handler;
        return token;
    }

    /// <summary>Loop thread: adds again a socket that was removed with <see cref="Remove"/> (same token).</summary>
    public void Readd(IHandler handler, ulong token, int fd, uint events)
    {
        var ev = new Libc.EpollEvent { Events = events, Data = token };
        if (Libc.EpollCtl(_epfd, Libc.EPOLL_CTL_ADD, fd, &ev) < 0) throw new SocketException(Libc.Errno);
        _handlers[token] = handler;
    }

    /// <summary>Loop thread: changes the interest of a registered socket.</summary>
    public void Modify(ulong token, int fd, uint events)
    {
        var ev = new Libc.EpollEvent { Events = events, Data = token };
        if (Libc.EpollCtl(_epfd, Libc.EPOLL_CTL_MOD, fd, &ev) < 0) throw new SocketException(Libc.Errno);
    }

    /// <summary>Loop thread: removes a socket (before it is closed); events already fetched for it are dropped.</summary>
    public void Remove(ulong token, int fd)
    {
        Libc.EpollCtl(_epfd, Libc.EPOLL_CTL_DEL, fd, null);
        _handlers.Remove(token);
    }

    private void Run()
    {
        Volatile.Write(ref _threadId, Environment.CurrentManagedThreadId);
        var events = GC.AllocateArray<Libc.EpollEvent>(MaxEvents, pinned: true);
        fixed (Libc.EpollEvent* buffer = events)
        {
            while (!_stopping)
            {
                // Posters that see 0 signal the eventfd; anything queued before this point is seen by IsEmpty.
                Interlocked.Exchange(ref _wakePending, 0);
                int timeout = _queue.IsEmpty ? -1 : 0;
                int n = Libc.EpollWait(_epfd, buffer, MaxEvents, timeout);
                Volatile.Write(ref _wakePending, 1);
                if (n < 0)
                {
                    int errno = Libc.Errno;
                    if (errno == Libc.EINTR) continue;
                    _onError(new SocketException(errno));
                    Thread.Sleep(10);
                    continue;
                }
                for (int i = 0; i < n; i++)
                {
                    ulong token = buffer[i].Data;
                    if (token == WakeToken)
                    {
                        ulong value;
                        Libc.Read(_wakeFd, (byte*)&value, sizeof(ulong));
                        continue;
                    }
                    if (!_handlers.TryGetValue(token, out var handler)) continue;
                    try { handler.OnEvents(buffer[i].Events); }
                    catch (Exception e) { Fault(token, handler, e); }
                }
                while (_queue.TryDequeue(out var work))
                {
                    try { work.Action(work.State); }
                    catch (Exception e) { _onError(e); }
                }
            }
        }
    }

    // A handler that throws would be called again on every wakeup (level-triggered) and throw again: the fault
    // stays with its one connection, which is closed, and the loop goes on serving the others.
    private void Fault(ulong token, IHandler handler, Exception error)
    {
        _onError(error);
        try
        {
            handler.OnFault(error);
        }
        catch (Exception e)
        {
            _onError(e);
        }
        finally
        {
            _handlers.Remove(token);
        }
    }

    public void Dispose()
    {
        if (_stopping) return;
        _stopping = true;
        ulong one = 1;
        Libc.Write(_wakeFd, (byte*)&one, sizeof(ulong));
        if (IsLoopThread || !_thread.Join(TimeSpan.FromSeconds(5))) return; // leaves the descriptors to the process
        Libc.Close(_wakeFd);
        Libc.Close(_epfd);
    }
}
