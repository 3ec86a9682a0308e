using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RedisTimer.Proxy.Hosting;

namespace RedisTimer.Proxy.Transport;

/// <summary>
/// The epoll transport (<c>Proxy:Transport</c> = <c>epoll</c>): <c>Proxy:EpollThreads</c> event loops, started at
/// first use. Each accepted client is given a loop round-robin, and its upstream connection is opened on the same
/// loop (<see cref="Prefer"/>), so a request and its reply are handled on one thread. The proxy's own connections
/// (firing, the start-up check) have a loop of their own, so a burst of fires never delays a client's reply there.
/// </summary>
public sealed class EpollTransport : IDisposable
{
    [ThreadStatic] private static EpollLoop? t_preferred;

    private readonly ILogger<EpollTransport> _logger;
    private readonly int _threads;
    private readonly object _gate = new();
    private EpollLoop[]? _loops;
    private int _next;
    private bool _disposed;

    public EpollTransport(IOptions<ProxyOptions> options, ILogger<EpollTransport> logger)
    {
        _logger = logger;
        Enabled = options.Value.Transport == ProxyTransport.Epoll;
        if (Enabled && !(OperatingSystem.IsLinux() && System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.X64))
        {
            logger.LogWarning("Proxy:Transport=epoll needs Linux x64; using .NET sockets");
            Enabled = false;
        }
        _threads = options.Value.EpollThreads;
    }

    public bool Enabled { get; }

    /// <summary>The next loop, round-robin.</summary>
    internal EpollLoop NextLoop()
    {
        var loops = _loops ?? Start();
        return loops[(int)((uint)Interlocked.Increment(ref _next) % (uint)loops.Length)];
    }

    private EpollLoop? _schedulerLoop;

    /// <summary>The loop of the scheduler's own connections, apart from every client's.</summary>
    internal EpollLoop SchedulerLoop
    {
        get
        {
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                return _schedulerLoop ??= new EpollLoop("epoll-scheduler", LoopFailed);
            }
        }
    }

    private void LoopFailed(Exception e) =>
        _logger.LogError(e, "An epoll loop callback failed (a connection whose I/O handler threw is closed)");

    private EpollLoop[] Start()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_loops is null)
            {
                var loops = new EpollLoop[_threads];
                for (int i = 0; i < loops.Length; i++)
                    loops[i] = new EpollLoop("epoll-loop-" + i, LoopFailed);
                _loops = loops;
            }
            return _loops;
        }
    }

    /// <summary>
    /// Sets the loop that the next <see cref="TakeLoop"/> on this thread returns: the listener calls the handler
    /// with its client's loop set, and the connector takes it synchronously, before its first await.
    /// </summary>
    internal static void Prefer(EpollLoop? loop) => t_preferred = loop;

    internal EpollLoop TakeLoop()
    {
        var loop = t_preferred;
        t_preferred = null;
        return loop ?? NextLoop();
    }

    /// <summary>A non-blocking connect whose completion is awaited on <paramref name="loop"/> (the socket never
    /// touches .NET's socket engine, whose epoll thread would otherwise be woken by every read).</summary>
    internal static async Task<Socket> ConnectAsync(EpollLoop loop, string host, int port, CancellationToken cancel)
    {
        IPAddress[] addresses = IPAddress.TryParse(host, out var ip)
            ? [ip]
            : await Dns.GetHostAddressesAsync(host, cancel).ConfigureAwait(false);
        if (addresses.Length == 0) throw new SocketException((int)SocketError.HostNotFound);
        SocketException? last = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                socket.Blocking = false;
                try
                {
                    socket.Connect(new IPEndPoint(address, port));
                    return socket;
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress) { }
                await new ConnectWait(loop, (int)socket.Handle).WaitAsync(cancel).ConfigureAwait(false);
                var error = (SocketError)(int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!;
                if (error == SocketError.Success) return socket;
                last = new SocketException((int)error);
            }
            catch (SocketException e)
            {
                last = e;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
            socket.Dispose();
        }
        throw last!;
    }

    /// <summary>Waits on the loop until a connecting socket is writable (connected or failed).</summary>
    private sealed class ConnectWait(EpollLoop loop, int fd) : EpollLoop.IHandler
    {
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly EpollLoop _loop = loop;
        private ulong _token;
        private bool _registered;
        private bool _finished;

        public async Task WaitAsync(CancellationToken cancel)
        {
            _loop.Post(static s => ((ConnectWait)s!).Register(), this);
            using var registration = cancel.Register(static s =>
                ((ConnectWait)s!)._loop.Post(static w => ((ConnectWait)w!).Finish(new OperationCanceledException()), s), this);
            await _done.Task.ConfigureAwait(false);
        }

        private void Register()
        {
            if (_finished) return;
            try
            {
                _token = _loop.Add(this, fd, Libc.EPOLLOUT);
                _registered = true;
            }
            catch (SocketException e)
            {
                Finish(e);
            }
        }

        public void OnEvents(uint events) => Finish(null);

        public void OnFault(Exception error) => Finish(error);

        private void Finish(Exception? error)
        {
            if (_finished) return;
            _finished = true;
            if (_registered) _loop.Remove(_token, fd);
            _registered = false;
            if (error is null) _done.TrySetResult();
            else _done.TrySetException(error);
        }
    }

    public void Dispose()
    {
        EpollLoop[]? loops;
        lock (_gate)
        {
            _disposed = true;
            loops = _loops;
        }
        _schedulerLoop?.Dispose();
        if (loops is null) return;
        foreach (var loop in loops) loop.Dispose();
    }
}
