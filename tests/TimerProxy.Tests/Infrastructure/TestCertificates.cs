using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace RedisTimer.Proxy.Tests.Infrastructure;

/// <summary>
/// A private CA and certificates it signed, as PEM files in a temporary directory (deleted on Dispose): a server
/// certificate for 127.0.0.1/localhost, a client certificate, and, for refusals, a server certificate for another
/// name and a second CA that signed nothing of the above (with its key: a client certificate our CA did not sign).
/// </summary>
public sealed class TestCertificates : IDisposable
{
    public string Directory { get; } = Path.Combine(Path.GetTempPath(), "redistimer-tests", "certs-" + Guid.NewGuid().ToString("N"));

    public string CaCert => Path.Combine(Directory, "ca.crt");
    public string ServerCert => Path.Combine(Directory, "server.crt");
    public string ServerKey => Path.Combine(Directory, "server.key");
    public string ClientCert => Path.Combine(Directory, "client.crt");
    public string ClientKey => Path.Combine(Directory, "client.key");
    public string OtherNameCert => Path.Combine(Directory, "other-name.crt");
    public string OtherNameKey => Path.Combine(Directory, "other-name.key");
    public string OtherCaCert => Path.Combine(Directory, "other-ca.crt");
    public string OtherCaKey => Path.Combine(Directory, "other-ca.key");

    public TestCertificates()
    {
        System.IO.Directory.CreateDirectory(Directory);
        using var ca = CreateCa("RedisTimer test CA");
        Write(CaCert, null, ca, null);
        using (var server = Issue(ca, "redis", serverAuth: true, dnsNames: ["localhost"], addLoopback: true, out var key))
            Write(ServerCert, ServerKey, server, key);
        using (var client = Issue(ca, "redistimer-proxy", serverAuth: false, dnsNames: [], addLoopback: false, out var key))
            Write(ClientCert, ClientKey, client, key);
        using (var other = Issue(ca, "other", serverAuth: true, dnsNames: ["other.example"], addLoopback: false, out var key))
            Write(OtherNameCert, OtherNameKey, other, key);
        using var otherCa = CreateCa("Unrelated test CA");
        Write(OtherCaCert, OtherCaKey, otherCa, otherCa.GetECDsaPrivateKey());
    }

    /// <summary>redis-server arguments for a TLS port with the server certificate of <paramref name="cert"/>/<paramref name="key"/>.</summary>
    public string[] RedisArgs(int tlsPort, string authClients = "no", string? cert = null, string? key = null) =>
    [
        "--tls-port", tlsPort.ToString(), "--tls-cert-file", cert ?? ServerCert, "--tls-key-file", key ?? ServerKey,
        "--tls-ca-cert-file", CaCert, "--tls-auth-clients", authClients,
    ];

    private static X509Certificate2 CreateCa(string name)
    {
        // Not disposed: the CA certificate signs with it below.
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
    }

    private static X509Certificate2 Issue(X509Certificate2 ca, string name, bool serverAuth, string[] dnsNames, bool addLoopback, out ECDsa key)
    {
        key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid(serverAuth ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
        var names = new SubjectAlternativeNameBuilder();
        foreach (var dns in dnsNames) names.AddDnsName(dns);
        if (addLoopback) names.AddIpAddress(System.Net.IPAddress.Loopback);
        if (dnsNames.Length > 0 || addLoopback) request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        var serial = RandomNumberGenerator.GetBytes(12);
        return request.Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30), serial);
    }

    private static void Write(string certPath, string? keyPath, X509Certificate2 certificate, ECDsa? key)
    {
        File.WriteAllText(certPath, certificate.ExportCertificatePem() + "\n");
        if (keyPath is not null)
        {
            File.WriteAllText(keyPath, key!.ExportPkcs8PrivateKeyPem() + "\n");
            key.Dispose();
        }
    }

    public void Dispose()
    {
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }
}
