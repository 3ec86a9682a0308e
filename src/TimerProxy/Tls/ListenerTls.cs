using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using RedisTimer.Proxy.Hosting;

namespace RedisTimer.Proxy.Tls;

/// <summary>
/// The server side of the TLS port, with redis-server's meaning of its options: the proxy's certificate, and
/// client certificates checked against the configured CA as <c>tls-auth-clients</c> says (no host name is checked,
/// as in Redis). The certificate files are read again when they change, for connections accepted after that.
/// </summary>
public sealed class ListenerTls
{
    private const string Key = "Proxy:Tls";

    private readonly CertificateFiles<SslStreamCertificateContext> _identity;
    private readonly CertificateFiles<X509Certificate2Collection>? _authorities;
    private readonly TlsAuthClients _authClients;

    private ListenerTls(CertificateFiles<SslStreamCertificateContext> identity, CertificateFiles<X509Certificate2Collection>? authorities,
        TlsAuthClients authClients, int handshakeTimeoutMs)
    {
        _identity = identity;
        _authorities = authorities;
        _authClients = authClients;
        HandshakeTimeout = TimeSpan.FromMilliseconds(handshakeTimeoutMs);
    }

    public TimeSpan HandshakeTimeout { get; }

    /// <summary>Null when no TLS port is configured, or when something is wrong (then in <paramref name="errors"/>).</summary>
    public static ListenerTls? TryCreate(ListenerTlsOptions o, List<string> errors, Action<Exception>? reloadFailed = null)
    {
        if (o.Port == 0)
        {
            if (o.CertFile is { Length: > 0 } || o.KeyFile is { Length: > 0 })
                errors.Add($"{Key}: certificate files are set but {Key}:Port (--tls-port) is 0");
            return null;
        }
        if (string.IsNullOrEmpty(o.CertFile) || string.IsNullOrEmpty(o.KeyFile))
        {
            errors.Add($"{Key}: --tls-port needs --tls-cert-file and --tls-key-file ({Key}:CertFile, {Key}:KeyFile)");
            return null;
        }
        // redis-server refuses to start the same way.
        if (o.AuthClients != TlsAuthClients.No && string.IsNullOrEmpty(o.CaCertFile))
        {
            errors.Add($"{Key}: --tls-auth-clients {o.AuthClients.ToString().ToLowerInvariant()} needs --tls-ca-cert-file ({Key}:CaCertFile), or --tls-auth-clients no");
            return null;
        }
        string cert = o.CertFile, key = o.KeyFile;
        string reading = $"{Key}:CertFile/KeyFile";
        try
        {
            var identity = new CertificateFiles<SslStreamCertificateContext>([cert, key], () =>
            {
                var (certificate, chain) = Pem.ReadIdentity(cert, key);
                return SslStreamCertificateContext.Create(certificate, chain, offline: true);
            }, reloadFailed);
            CertificateFiles<X509Certificate2Collection>? authorities = null;
            if (!string.IsNullOrEmpty(o.CaCertFile))
            {
                reading = $"{Key}:CaCertFile";
                string ca = o.CaCertFile;
                authorities = new CertificateFiles<X509Certificate2Collection>([ca], () => Pem.ReadCertificates(ca), reloadFailed);
            }
            return new ListenerTls(identity, authorities, o.AuthClients, o.HandshakeTimeoutMs);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            errors.Add($"{reading}: {e.Message}");
            return null;
        }
    }

    /// <summary>The server handshake over an accepted connection's bytes; throws <see cref="TlsHandshakeException"/> with the reason.</summary>
    public async Task<SslStream> AuthenticateAsync(Stream transport, CancellationToken cancel)
    {
        var tls = new SslStream(transport, leaveInnerStreamOpen: false);
        string? rejected = null;
        var options = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = _identity.Current,
            ClientCertificateRequired = _authClients != TlsAuthClients.No,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            RemoteCertificateValidationCallback = (_, certificate, _, _) => AcceptClient(certificate, out rejected),
        };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timeout.CancelAfter(HandshakeTimeout);
        try
        {
            await tls.AuthenticateAsServerAsync(options, timeout.Token).ConfigureAwait(false);
            return tls;
        }
        catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException or System.ComponentModel.Win32Exception)
        {
            await tls.DisposeAsync().ConfigureAwait(false);
            throw new TlsHandshakeException(rejected ?? (e is OperationCanceledException ? "handshake timed out" : e.Message), e);
        }
        catch
        {
            await tls.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private bool AcceptClient(X509Certificate? certificate, out string? rejected)
    {
        rejected = null;
        if (certificate is null)
        {
            if (_authClients != TlsAuthClients.Yes) return true;
            rejected = "the client sent no certificate (tls-auth-clients yes)";
            return false;
        }
        if (_authorities is null) return _authClients == TlsAuthClients.No;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_authorities.Current);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = certificate as X509Certificate2 is null ? new X509Certificate2(certificate) : null;
        if (chain.Build(leaf ?? (X509Certificate2)certificate)) return true;
        rejected = "the client certificate is not signed by the configured CA: " + string.Join(", ", chain.ChainStatus.Select(s => s.Status).Distinct());
        return false;
    }
}
