namespace RedisTimer.Proxy.Upstream;

/// <summary>
/// Where new upstream connections go. Set at start-up from configuration, or by the embedded redis-server once
/// it listens; read for every new client connection.
/// </summary>
public sealed class UpstreamEndpoint
{
    private volatile UpstreamSettings? _settings;

    public UpstreamSettings Settings => _settings ?? throw new InvalidOperationException("upstream not configured yet");

    public bool IsSet => _settings is not null;

    public void Set(UpstreamSettings settings) => _settings = settings;

    public (string Host, int Port) HostAndPort => Settings.HostAndPort();

    public override string ToString() => _settings?.ToString() ?? "(not set)";
}
