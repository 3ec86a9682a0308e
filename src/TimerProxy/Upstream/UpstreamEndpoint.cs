using System.Net;

namespace RedisTimer.Proxy.Upstream;

/// <summary>
/// Where the client connections go. Set from configuration, or by the embedded redis-server once it listens.
/// </summary>
public sealed class UpstreamEndpoint
{
    private volatile string? _hostPort;

    public string HostPort => _hostPort ?? throw new InvalidOperationException("upstream not configured yet");

    public bool IsSet => _hostPort is not null;

    public void Set(string hostPort)
    {
        Parse(hostPort); // refuse a malformed value at start-up, not at the first client
        _hostPort = hostPort;
    }

    public (string Host, int Port) HostAndPort => Parse(HostPort);

    public static (string Host, int Port) Parse(string hostPort)
    {
        int colon = hostPort.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(hostPort.AsSpan(colon + 1), out int port) || port is <= 0 or > 65535)
            throw new FormatException($"upstream '{hostPort}' is not host:port");
        string host = hostPort[..colon].Trim('[', ']');
        return (host, port);
    }

    public override string ToString() => _hostPort ?? "(not set)";
}
