using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using RedisTimer.Proxy.Tls;

namespace RedisTimer.Proxy.Transport;

/// <summary>
/// An accepted client socket as the <see cref="ConnectionContext"/> a <see cref="ConnectionHandler"/> expects:
/// the transport pipes plus the lifetime notification feature that asks the handler to drain and close.
/// </summary>
internal sealed class ClientConnection : ConnectionContext, IConnectionLifetimeNotificationFeature
{
    // Same limits as Kestrel's socket transport: 1 MiB unread from the client, 64 KiB unsent to it.
    private static readonly PipeOptions ReceiveOptions = SocketPipe.Options(pause: 1024 * 1024, resume: 512 * 1024);
    private static readonly PipeOptions SendOptions = SocketPipe.Options(pause: 64 * 1024, resume: 32 * 1024);

    private readonly ITransportPipe _pipe;
    private readonly CancellationTokenSource _closeRequested = new();

    private static readonly Func<Exception, Exception> ReceiveError = e => new ConnectionResetException(e.Message, e);

    /// <param name="loop">The epoll loop that drives the socket; null for .NET's sockets (<see cref="SocketPipe"/>).</param>
    internal ClientConnection(Socket socket, string id, EpollLoop? loop = null)
        : this(socket, id, loop, TransportPipes.Open(socket, loop, ReceiveOptions, SendOptions, ReceiveError))
    {
    }

    /// <summary>A client of the TLS port whose handshake completed over <paramref name="encrypted"/> (<see cref="Encrypted"/>).</summary>
    internal ClientConnection(Socket socket, string id, EpollLoop? loop, ITransportPipe encrypted, SslStream tls)
        : this(socket, id, loop, new TlsPipe(encrypted, tls, ReceiveOptions, SendOptions, ReceiveError))
    {
    }

    private ClientConnection(Socket socket, string id, EpollLoop? loop, ITransportPipe pipe)
    {
        ConnectionId = id;
        RemoteEndPoint = socket.RemoteEndPoint;
        LocalEndPoint = socket.LocalEndPoint;
        Loop = loop;
        _pipe = pipe;
        Transport = _pipe;
        ConnectionClosedRequested = _closeRequested.Token;
        Features.Set<IConnectionLifetimeNotificationFeature>(this);
    }

    /// <summary>A TLS client's socket as pipes of its encrypted bytes, for its handshake and then its <see cref="TlsPipe"/>.</summary>
    internal static ITransportPipe Encrypted(Socket socket, EpollLoop? loop) =>
        TransportPipes.Open(socket, loop, ReceiveOptions, SendOptions, static e => e);

    public override string ConnectionId { get; set; }
    public override IFeatureCollection Features { get; } = new FeatureCollection();
    public override IDictionary<object, object?> Items { get; set; } = new Dictionary<object, object?>();
    public override IDuplexPipe Transport { get; set; }
    public override EndPoint? RemoteEndPoint { get; set; }
    public override EndPoint? LocalEndPoint { get; set; }

    public CancellationToken ConnectionClosedRequested { get; set; }

    /// <summary>The epoll loop of this client (its upstream connection goes on the same one), or null.</summary>
    internal EpollLoop? Loop { get; }

    /// <summary>Graceful shutdown: the handler drains and returns.</summary>
    public void RequestClose()
    {
        try { _closeRequested.Cancel(); } catch (ObjectDisposedException) { }
    }

    public override void Abort(ConnectionAbortedException abortReason) => _pipe.Abort();

    /// <summary>After the handler returned: send what it wrote, then close.</summary>
    public override async ValueTask DisposeAsync()
    {
        await _pipe.CloseAsync(drainSends: true).ConfigureAwait(false);
        _closeRequested.Dispose();
    }
}
