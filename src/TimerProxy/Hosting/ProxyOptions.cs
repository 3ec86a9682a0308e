namespace RedisTimer.Proxy.Hosting;

/// <summary>The "Proxy" configuration section (appsettings.json, Proxy__* environment variables, command line).</summary>
public sealed class ProxyOptions
{
    public const string Section = "Proxy";

    public string ListenAddress { get; set; } = "127.0.0.1";

    /// <summary>The plain-text port; 0 opens none (then <see cref="ListenerTlsOptions.Port"/> must be set), as redis-server's <c>port 0</c>.</summary>
    public int Port { get; set; } = 6380;

    /// <summary>A TLS port beside (or instead of) the plain one, with redis-server's option names.</summary>
    public ListenerTlsOptions Tls { get; set; } = new();

    /// <summary>host:port of the Redis to serve; empty starts an embedded redis-server.</summary>
    public string? Upstream { get; set; }

    public string? UpstreamUser { get; set; }
    public string? UpstreamPassword { get; set; }
    public int UpstreamDatabase { get; set; }
    public int UpstreamConnectTimeoutMs { get; set; } = 2000;

    /// <summary>With several endpoints or Sentinels: how often the master is checked (besides Sentinel's events).</summary>
    public int MasterCheckMs { get; set; } = 500;

    /// <summary>Certificates for TLS towards Redis (with <c>ssl=true</c> in <see cref="Upstream"/>).</summary>
    public UpstreamTlsOptions UpstreamTls { get; set; } = new();

    /// <summary>Largest bulk string a client may send; keep it at most Redis's proto-max-bulk-len.</summary>
    public long MaxBulkLength { get; set; } = Resp.RespLimits.DefaultMaxBulkLength;

    /// <summary>As redis-server's maxclients: a client beyond this many gets <c>-ERR max number of clients reached</c> and is closed.</summary>
    public int MaxClients { get; set; } = 10_000;

    /// <summary>As redis-server's timeout: a client idle for more than this many seconds is closed; 0 never.</summary>
    public int Timeout { get; set; }

    /// <summary>On shutdown, how long a client's pending replies may take to arrive before it is closed.</summary>
    public int ShutdownDrainMs { get; set; } = 5000;

    /// <summary>Socket I/O (config values <c>epoll</c> or <c>sockets</c>, in any case).</summary>
    public ProxyTransport Transport { get; set; } = ProxyTransport.Epoll;

    /// <summary>Number of event-loop threads of the epoll transport.</summary>
    public int EpollThreads { get; set; } = 2;

    public EmbeddedRedisOptions EmbeddedRedis { get; set; } = new();

    /// <summary>The Prometheus endpoint (<c>/metrics</c>).</summary>
    public MetricsOptions Metrics { get; set; } = new();
}

public sealed class MetricsOptions
{
    /// <summary>0: no metrics endpoint. Off by default: several proxies on one host (sidecars sharing a network
    /// namespace, the drills) would all claim one fixed port.</summary>
    public int Port { get; set; }

    /// <summary>An IP address; 0.0.0.0 or :: for all. Loopback by default: the figures are for the host's scraper.</summary>
    public string Address { get; set; } = "127.0.0.1";
}

public enum ProxyTransport
{
    /// <summary>The proxy's own level-triggered epoll loops, a client and its upstream connection on the same loop
    /// thread (Linux x64; elsewhere the proxy falls back to <see cref="Sockets"/> and says so).</summary>
    Epoll,
    /// <summary>.NET's Socket async APIs under System.IO.Pipelines.</summary>
    Sockets,
}

public sealed class ListenerTlsOptions
{
    /// <summary>0: no TLS port.</summary>
    public int Port { get; set; }

    public string? CertFile { get; set; }
    public string? KeyFile { get; set; }

    /// <summary>PEM file of the CA(s) whose client certificates are accepted.</summary>
    public string? CaCertFile { get; set; }

    /// <summary>As redis-server's <c>tls-auth-clients</c>, whose default is <c>yes</c>.</summary>
    public TlsAuthClients AuthClients { get; set; } = TlsAuthClients.Yes;

    /// <summary>A client that has not completed its TLS handshake by then is closed.</summary>
    public int HandshakeTimeoutMs { get; set; } = 10_000;
}

public enum TlsAuthClients
{
    /// <summary>A client must present a certificate signed by the CA.</summary>
    Yes,
    /// <summary>No client certificate is asked for.</summary>
    No,
    /// <summary>One is asked for; a client without one is accepted, one with a bad one is not.</summary>
    Optional,
}

public sealed class UpstreamTlsOptions
{
    /// <summary>PEM file of the CA(s) that sign Redis's certificate; when set, only they are trusted.</summary>
    public string? CaCertFile { get; set; }

    /// <summary>PEM files of a client certificate (and its chain) and its private key, for Redis's tls-auth-clients.</summary>
    public string? CertFile { get; set; }
    public string? KeyFile { get; set; }
}

public sealed class EmbeddedRedisOptions
{
    public string Executable { get; set; } = "redis-server";

    /// <summary>Relative paths are under the working directory.</summary>
    public string DataDirectory { get; set; } = "data/redis";
}
