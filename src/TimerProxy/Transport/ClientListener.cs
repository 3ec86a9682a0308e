using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RedisTimer.Proxy.Hosting;

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
    private Socket? _listen;
    private Task _accepting = Task.CompletedTask;
    private long _nextId;

    /// <summary>The bound port (useful with Port = 0).</summary>
    public int Port { get; private set; }

    public Task StartAsync(CancellationToken cancel)
    {
        var endpoint = new IPEndPoint(IPAddress.Parse(options.Value.ListenAddress), options.Value.Port);
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        if (endpoint.Address.Equals(IPAddress.IPv6Any)) socket.DualMode = true;
        try
        {
            socket.Bind(endpoint);
            socket.Listen(512);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            socket.Dispose();
            throw new IOException($"Failed to bind to address {endpoint}: address already in use.", e);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        _listen = socket;
        Port = ((IPEndPoint)socket.LocalEndPoint!).Port;
        _accepting = AcceptLoopAsync(socket);
        return Task.CompletedTask;
    }

    private async Task AcceptLoopAsync(Socket listen)
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
            var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _connections[connection] = gate.Task;
            // Off the accept loop: the handler's start (upstream connect) must not delay the next accept.
            ThreadPool.UnsafeQueueUserWorkItem(static state => _ = state.Item1.RunAsync(state.connection, state.gate),
                (Item1: this, connection, gate), preferLocal: false);
        }
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
        _listen?.Dispose();
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
