using System.IO.Pipelines;
using System.Net.Security;
using System.Net.Sockets;
using RedisTimer.Proxy.Tls;
using RedisTimer.Proxy.Transport;

namespace RedisTimer.Proxy.Upstream;

/// <summary>
/// One client's own connection to Redis as a pair of pipes (a <see cref="SocketPipe"/>, as the client side).
/// It can half-close: completing <see cref="Output"/> sends what is pending, then shuts down only the sending
/// side, so Redis still answers what it received (a client that sends QUIT-less "PING" and closes its
/// write side still gets PONG, as with Redis directly).
/// </summary>
public sealed class UpstreamLink : IDuplexPipe, IAsyncDisposable
{
    private static readonly PipeOptions ReceiveOptions = SocketPipe.Options(pause: 1024 * 1024, resume: 512 * 1024);
    private static readonly PipeOptions SendOptions = SocketPipe.Options(pause: 256 * 1024, resume: 128 * 1024);

    private readonly ITransportPipe _pipe;

    /// <param name="loop">The epoll loop that drives the socket (the client's own loop), or null for .NET's sockets.</param>
    /// <param name="continueOn">Where the user of the link continues after reading <see cref="Input"/> or waiting for
    /// <see cref="Output"/> to drain; by default where the transport delivered (the loop, the socket's completion thread).</param>
    internal UpstreamLink(Socket socket, EpollLoop? loop, PipeScheduler? continueOn = null)
    {
        var (receive, send) = Options(continueOn);
        _pipe = TransportPipes.Open(socket, loop, receive, send, ReceiveError);
    }

    private UpstreamLink(ITransportPipe pipe) => _pipe = pipe;

    /// <summary>A socket as pipes of its encrypted bytes, for the TLS handshake and then <see cref="OverTls"/>.</summary>
    internal static ITransportPipe Encrypted(Socket socket, EpollLoop? loop) =>
        TransportPipes.Open(socket, loop, ReceiveOptions, SendOptions, static e => e);

    /// <summary>A connection whose TLS session is established over <paramref name="encrypted"/>; <paramref name="continueOn"/>
    /// as for a plain socket.</summary>
    internal static UpstreamLink OverTls(ITransportPipe encrypted, SslStream tls, PipeScheduler? continueOn = null)
    {
        var (receive, send) = Options(continueOn);
        return new UpstreamLink(new TlsPipe(encrypted, tls, receive, send, ReceiveError));
    }

    private static (PipeOptions Receive, PipeOptions Send) Options(PipeScheduler? continueOn) => continueOn is null
        ? (ReceiveOptions, SendOptions)
        : (SocketPipe.Options(ReceiveOptions.PauseWriterThreshold, ReceiveOptions.ResumeWriterThreshold, reader: continueOn, writer: PipeScheduler.Inline),
           SocketPipe.Options(SendOptions.PauseWriterThreshold, SendOptions.ResumeWriterThreshold, reader: PipeScheduler.Inline, writer: continueOn));

    // Redis resetting the connection (it closed with the client's request bytes unread: a protocol error, an
    // unauthenticated client's oversized request) ends the stream after what it sent: a pipe completed with an
    // exception throws at the next read and loses the replies still buffered, which the client must get.
    private static Exception? ReceiveError(Exception e) =>
        (e as SocketException ?? e.InnerException as SocketException) is { } reset
        && (reset.SocketErrorCode == SocketError.ConnectionReset || reset.NativeErrorCode == Libc.ECONNRESET) // the epoll loops' carry errno
            ? null
            : new IOException("upstream connection failed: " + e.Message, e);

    /// <summary>What Redis sends.</summary>
    public PipeReader Input => _pipe.Input;

    /// <summary>What goes to Redis; complete it to half-close after everything was sent.</summary>
    public PipeWriter Output => _pipe.Output;

    private CancellationTokenRegistration _closeWhen;

    /// <summary>Closes the connection at once when <paramref name="token"/> fires (its master was demoted).</summary>
    public void CloseWhen(CancellationToken token) =>
        _closeWhen = token.Register(static pipe => ((ITransportPipe)pipe!).Abort(), _pipe);

    public async ValueTask DisposeAsync()
    {
        await _closeWhen.DisposeAsync();
        await _pipe.CloseAsync();
    }
}
