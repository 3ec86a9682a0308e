using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using StackExchange.Redis;

namespace RedisTimer.Proxy.Tls;

/// <summary>Thrown when the TLS handshake with Redis fails; the message is the reason, for the client's error reply.</summary>
public sealed class TlsHandshakeException(string reason, Exception? inner = null) : Exception(reason, inner);

/// <param name="AskedForMissingCertificate">Redis asked for a client certificate and none is configured.</param>
public sealed record TlsSession(SslStream Stream, bool AskedForMissingCertificate);

/// <summary>A client certificate with the chain sent beside it.</summary>
public sealed record ClientIdentity(X509Certificate2 Certificate, SslStreamCertificateContext Context);

/// <summary>
/// TLS towards Redis (<c>ssl=true</c>): the server's certificate is checked against the system's CAs, or only
/// against a private CA when one is configured, and its name against <c>sslHost</c> (else the host connected to).
/// The same checks and the same client certificate serve the clients' connections and the control plane's.
/// </summary>
public sealed class UpstreamTls
{
    private readonly CertificateFiles<X509Certificate2Collection>? _authorities;
    private readonly CertificateFiles<ClientIdentity>? _identity;

    public UpstreamTls(string? serverName, SslProtocols protocols, bool checkRevocation,
        CertificateFiles<X509Certificate2Collection>? authorities, CertificateFiles<ClientIdentity>? identity)
    {
        ServerName = serverName;
        Protocols = protocols;
        CheckRevocation = checkRevocation;
        _authorities = authorities;
        _identity = identity;
    }

    /// <summary>The name the certificate must carry (and SNI); null means the host connected to.</summary>
    public string? ServerName { get; }
    public SslProtocols Protocols { get; }
    public bool CheckRevocation { get; }

    public static ClientIdentity ReadIdentity(string certPath, string keyPath)
    {
        var (certificate, chain) = Pem.ReadIdentity(certPath, keyPath);
        return new ClientIdentity(certificate, SslStreamCertificateContext.Create(certificate, chain, offline: true));
    }

    public async Task<TlsSession> AuthenticateAsync(Stream transport, string host, CancellationToken cancel)
    {
        string? rejected = null;
        var tls = new SslStream(transport, leaveInnerStreamOpen: false);
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = ServerName ?? host,
            EnabledSslProtocols = Protocols,
            CertificateRevocationCheckMode = CheckRevocation ? X509RevocationMode.Online : X509RevocationMode.NoCheck,
            ClientCertificateContext = _identity?.Current.Context,
            RemoteCertificateValidationCallback = (_, certificate, chain, errors) => Accept(certificate, chain, errors, out rejected),
        };
        // SslStream calls this with the server's certificate in hand only when the server asks for the client's.
        // With TLS 1.3 a server that requires one (tls-auth-clients yes) rejects it after the handshake completed
        // here, by closing the connection: the caller can only warn.
        bool asked = false;
        if (_identity is null)
        {
            options.LocalCertificateSelectionCallback = (_, _, _, remote, _) =>
            {
                asked |= remote is not null;
                return null!;
            };
        }
        try
        {
            await tls.AuthenticateAsClientAsync(options, cancel).ConfigureAwait(false);
            return new TlsSession(tls, asked);
        }
        catch (Exception e) when (e is AuthenticationException or IOException or System.ComponentModel.Win32Exception)
        {
            await tls.DisposeAsync().ConfigureAwait(false);
            throw new TlsHandshakeException(rejected ?? Reason(e), e);
        }
        catch
        {
            await tls.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The control plane (StackExchange.Redis) with the same TLS settings, checks and client certificate.</summary>
    public void ApplyTo(ConfigurationOptions config)
    {
        config.Ssl = true;
        if (ServerName is not null) config.SslHost = ServerName;
        if (Protocols != SslProtocols.None) config.SslProtocols = Protocols;
        config.CheckCertificateRevocation = CheckRevocation;
        config.CertificateValidation += (_, certificate, chain, errors) => Accept(certificate, chain, errors, out string? _);
        if (_identity is not null) config.CertificateSelection += (_, _, _, _, _) => _identity.Current.Certificate;
    }

    private bool Accept(X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors, out string? rejected)
    {
        rejected = null;
        if (certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            rejected = "Redis sent no certificate";
            return false;
        }
        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
        {
            rejected = $"the certificate is not for {ServerName ?? "the host connected to"} (name mismatch; set sslHost to the name it carries)";
            return false;
        }
        if (_authorities is null)
        {
            if (!errors.HasFlag(SslPolicyErrors.RemoteCertificateChainErrors)) return true;
            rejected = "the certificate is not trusted: " + Statuses(chain);
            return false;
        }
        // A private CA: only it is trusted, whatever the system store holds.
        using var own = new X509Chain();
        own.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        own.ChainPolicy.CustomTrustStore.AddRange(_authorities.Current);
        own.ChainPolicy.RevocationMode = CheckRevocation ? X509RevocationMode.Online : X509RevocationMode.NoCheck;
        if (chain is not null)
            foreach (var element in chain.ChainElements.Skip(1)) own.ChainPolicy.ExtraStore.Add(element.Certificate);
        if (own.Build(certificate as X509Certificate2 ?? new X509Certificate2(certificate))) return true;
        rejected = "the certificate is not signed by the configured CA: " + Statuses(own);
        return false;
    }

    private static string Statuses(X509Chain? chain) =>
        chain is null || chain.ChainStatus.Length == 0 ? "chain errors" : string.Join(", ", chain.ChainStatus.Select(s => s.Status).Distinct());

    private static string Reason(Exception e) => e switch
    {
        IOException { InnerException: SocketException s } => s.Message,
        IOException => "Redis closed the connection (is it a TLS port?)",
        _ => e.Message,
    };
}
