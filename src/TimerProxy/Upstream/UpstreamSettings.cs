using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using RedisTimer.Proxy.Hosting;
using RedisTimer.Proxy.Tls;
using StackExchange.Redis;

namespace RedisTimer.Proxy.Upstream;

/// <summary>
/// The one parsed description of the Redis to serve, from <c>Proxy:Upstream</c> (<c>host:port</c> or a
/// StackExchange.Redis configuration string) and the separate upstream switches. The client connections
/// (data plane) and the proxy's own connection (control plane) are both built from it.
/// </summary>
public sealed class UpstreamSettings
{
    private const string Key = "Proxy:Upstream";

    private UpstreamSettings(IReadOnlyList<EndPoint> endpoints, string? user, string? password, int database, int connectTimeoutMs,
        string? serviceName, UpstreamTls? tls, IReadOnlyList<string> ignoredKeywords)
    {
        ServiceName = serviceName;
        Tls = tls;
        Endpoints = endpoints;
        User = user;
        Password = password;
        Database = database;
        ConnectTimeoutMs = connectTimeoutMs;
        IgnoredKeywords = ignoredKeywords;
    }

    /// <summary>Redis itself, or (with <see cref="ServiceName"/>) the Sentinels to ask where its master is.</summary>
    public IReadOnlyList<EndPoint> Endpoints { get; }

    /// <summary>The Sentinels' name of the master (<c>serviceName</c>), or null.</summary>
    public string? ServiceName { get; }
    public string? User { get; }
    public string? Password { get; }

    /// <summary>The database every upstream connection starts in (SELECT when not 0).</summary>
    public int Database { get; }

    public int ConnectTimeoutMs { get; }

    /// <summary>TLS towards Redis (<c>ssl=true</c>), or null for plain TCP.</summary>
    public UpstreamTls? Tls { get; }

    /// <summary>Keywords of the string that only steer StackExchange.Redis's own client (abortConnect, name, ...):
    /// accepted, so that an application's connection string can be pasted, but without effect here.</summary>
    public IReadOnlyList<string> IgnoredKeywords { get; }

    // Client-side behaviour of StackExchange.Redis's multiplexer; a proxy that opens one plain connection per
    // client and forwards its bytes has nothing they could change.
    private static readonly HashSet<string> ClientOnlyKeywords = new(StringComparer.OrdinalIgnoreCase)
    {
        "abortConnect", "allowAdmin", "asyncTimeout", "syncTimeout", "connectRetry", "keepAlive", "configCheckSeconds",
        "name", "resolveDns", "setlib", "highPriorityThreads", "preserveAsyncOrder", "responseTimeout", "writeBuffer",
        "version", "tiebreaker", "configChannel", "protocol",
    };

    // Keywords that would change what clients' commands mean or where they go, which a byte-for-byte proxy cannot honour.
    private static readonly Dictionary<string, string> RefusedKeywords = new(StringComparer.OrdinalIgnoreCase)
    {
        ["proxy"] = "the proxy speaks to one Redis server, not through twemproxy or envoy",
        ["tunnel"] = "HTTP tunnels are not supported",
        ["channelPrefix"] = "clients' channel names are forwarded as they send them",
    };

    /// <summary>Parses the configured upstream, or the embedded redis-server's address when none is configured.
    /// Every problem found goes into <paramref name="errors"/> as one line naming the setting.</summary>
    public static UpstreamSettings? TryParse(ProxyOptions options, string upstream, List<string> errors)
    {
        int before = errors.Count;
        ConfigurationOptions parsed;
        try
        {
            parsed = ConfigurationOptions.Parse(upstream);
        }
        catch (ArgumentException e)
        {
            errors.Add($"{Key}: {LibraryText(e)}");
            return null;
        }

        var endpoints = new List<EndPoint>();
        var ignored = new List<string>();
        // The library splits the same way; it silently drops a token it cannot read as an endpoint ("host:abc"),
        // so each one is read again here to name it.
        foreach (var token in upstream.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            int equals = token.IndexOf('=');
            if (equals > 0)
            {
                string keyword = token[..equals].Trim();
                if (keyword.StartsWith('$')) errors.Add($"{Key}: renamed commands ('{keyword}=') are not supported");
                else if (RefusedKeywords.TryGetValue(keyword, out var why)) errors.Add($"{Key}: '{keyword}' is not supported: {why}");
                else if (ClientOnlyKeywords.Contains(keyword)) ignored.Add(keyword);
                continue;
            }
            try
            {
                new EndPointCollection().Add(token);
            }
            catch (ArgumentException e)
            {
                errors.Add($"{Key}: '{token}' is not host[:port] ({LibraryText(e)})");
            }
        }
        parsed.SetDefaultPorts();
        endpoints.AddRange(parsed.EndPoints);

        if (endpoints.Count == 0) errors.Add($"{Key}: names no endpoint (host[:port])");
        if (parsed.ServiceName is { Length: 0 }) errors.Add($"{Key}: serviceName is empty");
        var tls = ParseTls(options.UpstreamTls, parsed, HasKeyword(upstream, "checkCertificateRevocation"), errors);

        string? user = Merge(errors, "user", parsed.User, "Proxy:UpstreamUser", options.UpstreamUser);
        string? password = Merge(errors, "password", parsed.Password, "Proxy:UpstreamPassword", options.UpstreamPassword, secret: true);
        int database = options.UpstreamDatabase;
        if (parsed.DefaultDatabase is int db)
        {
            if (db < 0) errors.Add($"{Key}: defaultDatabase must be 0 or more, not {db}");
            else if (database != 0 && database != db) errors.Add($"{Key}: defaultDatabase={db} conflicts with Proxy:UpstreamDatabase={database}");
            else database = db;
        }
        int connectTimeoutMs = options.UpstreamConnectTimeoutMs;
        if (HasKeyword(upstream, "connectTimeout"))
        {
            if (parsed.ConnectTimeout is < 1 or > 600_000) errors.Add($"{Key}: connectTimeout must be 1..600000 ms, not {parsed.ConnectTimeout}");
            else connectTimeoutMs = parsed.ConnectTimeout;
        }

        return errors.Count > before ? null : new UpstreamSettings(endpoints, user, password, database, connectTimeoutMs, parsed.ServiceName, tls, ignored);
    }

    /// <summary>Like <see cref="TryParse"/>, for a value already validated at start-up.</summary>
    public static UpstreamSettings Parse(ProxyOptions options, string upstream)
    {
        var errors = new List<string>();
        return TryParse(options, upstream, errors) ?? throw new FormatException(string.Join("; ", errors));
    }

    public (string Host, int Port) HostAndPort(int index = 0) => Endpoints[index] switch
    {
        DnsEndPoint dns => (dns.Host, dns.Port),
        IPEndPoint ip => (ip.Address.ToString(), ip.Port),
        var other => throw new InvalidOperationException($"unexpected endpoint {other}"),
    };

    /// <summary>A StackExchange.Redis configuration for the control plane: the same endpoints, credentials and TLS;
    /// with a service name, the library asks the Sentinels for the master and follows its switches itself.</summary>
    public ConfigurationOptions ForControlPlane()
    {
        var config = new ConfigurationOptions { ServiceName = ServiceName };
        foreach (var endpoint in Endpoints) config.EndPoints.Add(endpoint);
        if (!string.IsNullOrEmpty(User)) config.User = User;
        if (!string.IsNullOrEmpty(Password)) config.Password = Password;
        Tls?.ApplyTo(config);
        return config;
    }

    /// <summary>For logs and error replies: where, never the credentials.</summary>
    public override string ToString() =>
        string.Join(",", Endpoints.Select(EndPointCollection.ToString)) + (ServiceName is null ? "" : $" service {ServiceName}");

    private static UpstreamTls? ParseTls(UpstreamTlsOptions files, ConfigurationOptions parsed, bool revocationGiven, List<string> errors)
    {
        const string Files = "Proxy:UpstreamTls";
        bool anyFile = files.CaCertFile is { Length: > 0 } || files.CertFile is { Length: > 0 } || files.KeyFile is { Length: > 0 };
        if (!parsed.Ssl)
        {
            if (anyFile) errors.Add($"{Files}: certificate files are set but {Key} does not ask for TLS (add ssl=true)");
            return null;
        }
        if (string.IsNullOrEmpty(files.CertFile) != string.IsNullOrEmpty(files.KeyFile))
        {
            errors.Add($"{Files}: CertFile and KeyFile go together (--upstream-tls-cert-file and --upstream-tls-key-file)");
            return null;
        }
        CertificateFiles<X509Certificate2Collection>? authorities = null;
        CertificateFiles<ClientIdentity>? identity = null;
        string? reading = null;
        try
        {
            if (!string.IsNullOrEmpty(files.CaCertFile))
            {
                reading = $"{Files}:CaCertFile";
                string path = files.CaCertFile;
                authorities = new CertificateFiles<X509Certificate2Collection>([path], () => Pem.ReadCertificates(path));
            }
            if (!string.IsNullOrEmpty(files.CertFile))
            {
                reading = $"{Files}:CertFile/KeyFile";
                string cert = files.CertFile, key = files.KeyFile!;
                identity = new CertificateFiles<ClientIdentity>([cert, key], () => UpstreamTls.ReadIdentity(cert, key));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            errors.Add($"{reading}: {e.Message}");
            return null;
        }
        // As StackExchange.Redis: revocation is checked unless the string says otherwise, except against a private
        // CA, which rarely publishes revocation lists (the library's TrustIssuer does not check it either).
        bool checkRevocation = revocationGiven ? parsed.CheckCertificateRevocation : authorities is null;
        return new UpstreamTls(parsed.SslHost, parsed.SslProtocols ?? SslProtocols.None, checkRevocation, authorities, identity);
    }

    private static string? Merge(List<string> errors, string keyword, string? fromString, string optionKey, string? fromOption, bool secret = false)
    {
        if (string.IsNullOrEmpty(fromOption)) return fromString;
        if (string.IsNullOrEmpty(fromString) || fromString == fromOption) return fromOption;
        errors.Add(secret
            ? $"{Key}: {keyword} conflicts with {optionKey} (set it in one place)"
            : $"{Key}: {keyword}={fromString} conflicts with {optionKey}={fromOption}");
        return null;
    }

    private static bool HasKeyword(string upstream, string keyword) =>
        upstream.Split(',').Any(t => t.IndexOf('=') is > 0 and var i && t[..i].Trim().Equals(keyword, StringComparison.OrdinalIgnoreCase));

    // The library's ArgumentException texts end with " (Parameter 'x')" and sometimes an "Actual value" line.
    private static string LibraryText(ArgumentException e)
    {
        string text = e.Message.Split('\n')[0].Trim();
        int parameter = text.IndexOf(" (Parameter '", StringComparison.Ordinal);
        return parameter > 0 ? text[..parameter] : text;
    }
}
