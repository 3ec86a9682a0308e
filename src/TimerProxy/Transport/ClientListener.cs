using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using System.Net.Security;
using RedisTimer.Proxy.Hosting;
using RedisTimer.Proxy.Tls;

namespace RedisTimer.Proxy.Transport;

/// <summary>
/// Accepts clients and hands each to the protocol's <see cref="ConnectionHandler"/> (the client session's). Replaces Kestrel's socket
/// transport: the same pipes-over-socket pattern as the upstream side (<see cref="SocketPipe"/>), with larger
/// reads for pipelined traffic and no per-connection middleware. Shutdown as Kestrel's: stop accepting, ask
/// every connection to drain (<c>IConnectionLifetimeNotificationFeature</c>), abort what is left when the
/// host's shutdown timeout expires.
/// </summary>
public sealed class ClientListener(
    ConnectionHandler handler,
    IOptions<ProxyOptions> options,
    EpollTransport epoll,
    ILogger<ClientListener> logger) : IHostedService
{
    private readonly ConcurrentDictionary<ClientConnection, Task> _connections = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Socket> _listening = [];
    private Task _accepting = Task.CompletedTask;
    private ListenerTls? _tls;
    private long _nextId;

    /// <summary>The plain-text port bound, or 0 when none is open.</summary>
    public int Port { get; private set; }

    /// <summary>The TLS port bound, or 0 when none is open.</summary>
    public int TlsPort { get; private set; }

    public Task StartAsync(CancellationToken cancel)
    {
        var o = options.Value;
        var address = IPAddress.Parse(o.ListenAddress);
        var loops = new List<Task>();
        try
        {
            if (o.Port != 0)
            {
                var plain = Bind(new IPEndPoint(address, o.Port));
                Port = ((IPEndPoint)plain.LocalEndPoint!).Port;
                loops.Add(AcceptLoopAsync(plain, tls: null));
            }
            if (o.Tls.Port != 0)
            {
                var errors = new List<string>();
                _tls = ListenerTls.TryCreate(o.Tls, errors, e => logger.LogWarning("Reading the TLS certificate files again failed; the previous ones stay in use: {Error}", e.Message))
                    ?? throw new InvalidOperationException(string.Join("; ", errors));
                var secure = Bind(new IPEndPoint(address, o.Tls.Port));
                TlsPort = ((IPEndPoint)secure.LocalEndPoint!).Port;
                loops.Add(AcceptLoopAsync(secure, _tls));
            }
        }
        catch
        {
            foreach (var socket in _listening) socket.Dispose();
            throw;
        }
        _accepting = Task.WhenAll(loops);
        return Task.CompletedTask;
    }

    private Socket Bind(IPEndPoint endpoint)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        if (endpoint.Address.Equals(IPAddress.IPv6Any)) socket.DualMode = true;
        try
        {
            socket.Bind(endpoint);
            socket.Listen(512);
        }
        catch (SocketException e)
        {
            // Kestrel's wording for the metrics port, so that both listeners fail alike (Program prints it).
            socket.Dispose();
            string reason = e.SocketErrorCode == SocketError.AddressAlreadyInUse ? "address already in use" : e.Message;
            throw new IOException($"Failed to bind to address {endpoint}: {reason}.", e);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        _listening.Add(socket);
        return socket;
    }

    private async Task AcceptLoopAsync(Socket listen, ListenerTls? tls)
    {
        while (true)
        {
            Socket socket;
            try
            {
                socket = await listen.AcceptAsync().ConfigureAwait(false);
            }
            catch (ObjectDisposedException) { return; }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.OperationAborted) { return; }
            catch (SocketException e)
            {
                // A connection reset before it was accepted, or out of descriptors: keep listening.
                logger.LogDebug(e, "Accept failed");
                continue;
            }
            socket.NoDelay = true;
            string id = "C" + Interlocked.Increment(ref _nextId).ToString("x");
            if (tls is not null)
            {
                // The handshake runs off the accept loop; the connection exists for the handler once it completed.
                _ = AcceptTlsAsync(socket, id, tls);
                continue;
            }
            ClientConnection connection;
            try
            {
                connection = new ClientConnection(socket, id, epoll.Enabled ? epoll.NextLoop() : null);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                logger.LogDebug(e, "Accepted connection {Connection} failed", id); // reset before it could be set up
                socket.Dispose();
                continue;
            }
            Start(connection);
        }
    }

    // A client that sends plain RESP, a bad certificate or nothing at all is closed, as redis-server closes it.
    private async Task AcceptTlsAsync(Socket socket, string id, ListenerTls tls)
    {
        await Task.Yield();
        var loop = epoll.Enabled ? epoll.NextLoop() : null;
        ITransportPipe encrypted;
        try
        {
            encrypted = ClientConnection.Encrypted(socket, loop);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            logger.LogDebug(e, "Accepted connection {Connection} failed", id);
            socket.Dispose();
            return;
        }
        var remote = SafeRemote(socket);
        SslStream stream;
        try
        {
            stream = await TransportStream.HandshakeAsync(encrypted, transport => tls.AuthenticateAsync(transport, _stopping.Token))
                .ConfigureAwait(false);
        }
        catch (TlsHandshakeException e)
        {
            logger.LogDebug("TLS handshake with {Client} failed: {Reason}", remote, e.Message);
            await encrypted.CloseAsync().ConfigureAwait(false);
            return;
        }
        if (_stopping.IsCancellationRequested)
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            await encrypted.CloseAsync().ConfigureAwait(false);
            return;
        }
        try
        {
            Start(new ClientConnection(socket, id, loop, encrypted, stream));
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            logger.LogDebug(e, "Accepted connection {Connection} failed", id);
            await stream.DisposeAsync().ConfigureAwait(false);
            await encrypted.CloseAsync().ConfigureAwait(false);
        }
    }

    private static EndPoint? SafeRemote(Socket socket)
    {
        try { return socket.RemoteEndPoint; } catch (Exception e) when (e is SocketException or ObjectDisposedException) { return null; }
    }

    private void Start(ClientConnection connection)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _connections[connection] = gate.Task;
        // Off the accept loop: the handler's start (upstream connect) must not delay the next accept.
        ThreadPool.UnsafeQueueUserWorkItem(static state => _ = state.Item1.RunAsync(state.connection, state.gate),
            (Item1: this, connection, gate), preferLocal: false);
    }

    private async Task RunAsync(ClientConnection connection, TaskCompletionSource gate)
    {
        try
        {
            // The epoll transport opens the upstream connection on the client's loop: the connector takes the
            // loop from this thread, synchronously, at the start of the handler.
            Task handling;
            EpollTransport.Prefer(connection.Loop);
            try { handling = handler.OnConnectedAsync(connection); }
            finally { EpollTransport.Prefer(null); }
            await handling.ConfigureAwait(false);
        }
        catch (Exception e)
        {
            logger.LogError(e, "Connection {Connection} failed", connection.ConnectionId);
        }
        finally
        {
            try { await connection.DisposeAsync().ConfigureAwait(false); }
            catch (Exception e) { logger.LogDebug(e, "Closing connection {Connection} failed", connection.ConnectionId); }
            _connections.TryRemove(connection, out _);
            gate.TrySetResult();
        }
    }

    public async Task StopAsync(CancellationToken cancel)
    {
        foreach (var socket in _listening) socket.Dispose();
        _stopping.Cancel();
        await _accepting.ConfigureAwait(false);
        foreach (var connection in _connections.Keys) connection.RequestClose();
        try
        {
            await Task.WhenAll(_connections.Values).WaitAsync(cancel).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            logger.LogDebug("Shutdown timeout: aborting {Count} connections", _connections.Count);
            foreach (var connection in _connections.Keys) connection.Abort();
            try { await Task.WhenAll(_connections.Values).WaitAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false); }
            catch (TimeoutException) { }
        }
    }
}
