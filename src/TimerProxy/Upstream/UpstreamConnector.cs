using System.Buffers;
using System.IO.Pipelines;
using System.Net.Security;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using RedisTimer.Proxy.Tls;
using RedisTimer.Proxy.Transport;
using RedisTimer.Resp;

namespace RedisTimer.Proxy.Upstream;

/// <summary>Thrown when the upstream Redis cannot be reached or refuses the configured handshake.</summary>
public sealed class UpstreamUnavailableException(string message, Exception? inner = null, bool authRefused = false) : Exception(message, inner)
{
    /// <summary>Redis refused the configured AUTH: waiting will not help, the credentials must change.</summary>
    public bool AuthRefused => authRefused;
}

/// <summary>
/// Opens one upstream connection per client. Sends only what configuration asks for (AUTH, SELECT), nothing else.
/// </summary>
public sealed class UpstreamConnector
{
    private readonly UpstreamEndpoint _endpoint;
    private readonly EpollTransport? _epoll;

    private readonly ILogger<UpstreamConnector>? _logger;

    public UpstreamConnector(UpstreamEndpoint endpoint, EpollTransport? epoll = null, ILogger<UpstreamConnector>? logger = null)
    {
        _endpoint = endpoint;
        _logger = logger;
        _epoll = epoll is { Enabled: true } ? epoll : null;
    }

    public string Describe => _endpoint.ToString();

    /// <summary>A Sentinel reported a failover of the master that has not completed: see <see cref="UpstreamEndpoint.FailingOver"/>.</summary>
    public bool FailingOver => _endpoint.FailingOver;

    /// <summary>The database a new connection is in (after the configured SELECT).</summary>
    public int ConfiguredDatabase => _endpoint.Settings.Database;

    public Task<UpstreamLink> ConnectAsync(CancellationToken cancel) => Tracked(ConnectAsync(_epoll?.TakeLoop(), cancel));

    private volatile bool _reached;

    /// <summary>Whether the last connection made to Redis (a client's, the fire connection's, the start-up probe) was opened.</summary>
    public bool LastReached => _reached;

    private async Task<UpstreamLink> Tracked(Task<UpstreamLink> connecting)
    {
        try
        {
            var link = await connecting;
            _reached = true;
            return link;
        }
        catch (UpstreamUnavailableException)
        {
            _reached = false;
            throw;
        }
    }

    /// <summary>A connection of the scheduler's: on an epoll loop of its own, or (sockets transport, TLS) continuing
    /// on a thread of its own, so that firing never holds up a thread that serves clients.</summary>
    public Task<UpstreamLink> ConnectForSchedulerAsync(CancellationToken cancel) =>
        Tracked(_epoll is { } epoll ? ConnectAsync(epoll.SchedulerLoop, cancel) : ConnectAsync(null, cancel, SchedulerThread));

    private DedicatedPipeScheduler? _schedulerThread;

    private DedicatedPipeScheduler SchedulerThread
    {
        get
        {
            if (_schedulerThread is { } existing) return existing;
            var created = new DedicatedPipeScheduler("upstream-scheduler", _ => { });
            return Interlocked.CompareExchange(ref _schedulerThread, created, null) ?? created;
        }
    }

    private async Task<UpstreamLink> ConnectAsync(EpollLoop? loop, CancellationToken cancel, PipeScheduler? continueOn = null)
    {
        // Taken before the address: a master that changes in between has already fired it, and the link closes.
        var demoted = _endpoint.Demoted;
        var (host, port) = _endpoint.HostAndPort;
        Socket socket;
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel))
        {
            timeout.CancelAfter(_endpoint.Settings.ConnectTimeoutMs);
            if (loop is not null)
            {
                try
                {
                    socket = await EpollTransport.ConnectAsync(loop, host, port, timeout.Token);
                }
                catch (Exception e) when (e is SocketException or OperationCanceledException)
                {
                    string why = e is SocketException se ? se.Message : "connect timed out";
                    throw new UpstreamUnavailableException($"upstream {_endpoint} unavailable: {why}", e);
                }
            }
            else
            {
                socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(host, port, timeout.Token);
                }
                catch (Exception e) when (e is SocketException or OperationCanceledException)
                {
                    socket.Dispose();
                    string why = e is SocketException se ? se.Message : "connect timed out";
                    throw new UpstreamUnavailableException($"upstream {_endpoint} unavailable: {why}", e);
                }
            }
        }
        using var handshakeTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        handshakeTimeout.CancelAfter(_endpoint.Settings.ConnectTimeoutMs);
        UpstreamLink connection;
        if (_endpoint.Settings.Tls is { } tls)
        {
            var encrypted = UpstreamLink.Encrypted(socket, loop);
            connection = UpstreamLink.OverTls(encrypted, await AuthenticateAsync(tls, encrypted, host, handshakeTimeout.Token), continueOn);
        }
        else
            connection = new UpstreamLink(socket, loop, continueOn);
        try
        {
            await HandshakeAsync(connection, handshakeTimeout.Token);
            connection.CloseWhen(demoted);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            await connection.DisposeAsync();
            throw new UpstreamUnavailableException($"upstream {_endpoint} unavailable: handshake did not complete ({e.Message})", e);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
        return connection;
    }

    private int _warnedMissingCertificate;

    private async Task<SslStream> AuthenticateAsync(UpstreamTls tls, ITransportPipe encrypted, string host, CancellationToken cancel)
    {
        try
        {
            var session = await TransportStream.HandshakeAsync(encrypted, transport => tls.AuthenticateAsync(transport, host, cancel));
            if (session.AskedForMissingCertificate && Interlocked.Exchange(ref _warnedMissingCertificate, 1) == 0)
                _logger?.LogWarning("Upstream {Upstream} asks for a client certificate and none is configured: if it requires one " +
                    "(tls-auth-clients yes), it closes every connection; set --upstream-tls-cert-file and --upstream-tls-key-file", _endpoint);
            return session.Stream;
        }
        catch (Exception e) when (e is TlsHandshakeException or OperationCanceledException)
        {
            await encrypted.CloseAsync();
            string why = e is TlsHandshakeException ? e.Message : "timed out";
            throw new UpstreamUnavailableException($"upstream {_endpoint} unavailable: TLS handshake failed: {why}", e);
        }
    }

    /// <summary>True when a TCP connection can be opened; sends nothing.</summary>
    public async Task<bool> ProbeAsync(CancellationToken cancel)
    {
        try
        {
            var (host, port) = _endpoint.HostAndPort;
            using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            timeout.CancelAfter(_endpoint.Settings.ConnectTimeoutMs);
            await socket.ConnectAsync(host, port, timeout.Token);
            _reached = true;
            return true;
        }
        catch (Exception e) when (e is SocketException or UpstreamUnavailableException or OperationCanceledException && !cancel.IsCancellationRequested)
        {
            _reached = false;
            return false;
        }
    }

    private static readonly byte[] Ping = "*1\r\n$4\r\nPING\r\n"u8.ToArray();

    /// <summary>
    /// Why Redis refuses a connection that signs in as configured (the AUTH refused, or NOAUTH to a PING when no
    /// password is configured), or null when it accepts one or cannot be reached (a wait for that is the caller's).
    /// For the proxy's own connections, which clients' AUTH does not cover.
    /// </summary>
    public async Task<string?> AuthRefusalAsync(CancellationToken cancel)
    {
        UpstreamLink link;
        try
        {
            link = await ConnectAsync(null, cancel);
        }
        catch (UpstreamUnavailableException e)
        {
            return e.AuthRefused ? e.Message : null;
        }
        await using (link)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            timeout.CancelAfter(_endpoint.Settings.ConnectTimeoutMs);
            var replies = new RespReplyReader(link.Input);
            try
            {
                link.Output.Write(Ping);
                await link.Output.FlushAsync(timeout.Token);
                var reply = await replies.NextAsync(timeout.Token);
                return reply.IsError && IsAuthError(reply.Text) ? $"upstream {_endpoint} answered {reply.Text}" : null;
            }
            catch (Exception e) when (e is IOException or InvalidDataException or OperationCanceledException && !cancel.IsCancellationRequested)
            {
                return null;
            }
            finally
            {
                replies.Release();
            }
        }
    }

    /// <summary>Redis's error to a connection that is not signed in, or signed in wrongly.</summary>
    public static bool IsAuthError(string errorText) =>
        errorText.StartsWith("NOAUTH", StringComparison.Ordinal) || errorText.StartsWith("WRONGPASS", StringComparison.Ordinal);

    // AUTH and SELECT from configuration; their replies are the proxy's, never the client's.
    private async Task HandshakeAsync(UpstreamLink connection, CancellationToken cancel)
    {
        var settings = _endpoint.Settings;
        var commands = new List<string[]>();
        if (!string.IsNullOrEmpty(settings.Password))
        {
            commands.Add(string.IsNullOrEmpty(settings.User)
                ? ["AUTH", settings.Password]
                : ["AUTH", settings.User, settings.Password]);
        }
        if (settings.Database != 0) commands.Add(["SELECT", settings.Database.ToString()]);
        if (commands.Count == 0) return;

        var output = connection.Output;
        foreach (var command in commands)
        {
            var sb = new StringBuilder().Append('*').Append(command.Length).Append("\r\n");
            foreach (var arg in command) sb.Append('$').Append(Encoding.UTF8.GetByteCount(arg)).Append("\r\n").Append(arg).Append("\r\n");
            output.Write(Encoding.UTF8.GetBytes(sb.ToString()));
        }
        await output.FlushAsync(cancel);

        // Read with the proxy's one reply reader, then handed back untouched: the session reads on from here.
        var replies = new RespReplyReader(connection.Input);
        string during = commands[0][0];
        try
        {
            foreach (var command in commands)
            {
                during = command[0];
                var reply = await replies.NextAsync(cancel);
                if (reply.IsError)
                    throw new UpstreamUnavailableException($"upstream {_endpoint} refused {during}: {reply.Text}", authRefused: during == "AUTH");
            }
        }
        catch (Exception e) when (e is IOException or InvalidDataException)
        {
            throw new UpstreamUnavailableException($"upstream {_endpoint} closed the connection during {during}", e);
        }
        finally
        {
            replies.Release();
        }
    }

}
