using System.Net;
using StackExchange.Redis;

namespace RedisTimer.Proxy.Upstream;

/// <summary>
/// Where new upstream connections go: the configured endpoint, or the master that <see cref="MasterLocator"/>
/// found among several endpoints or from the Sentinels. When the master changes, <see cref="Demoted"/> of the
/// previous one fires, so that every connection to it is closed (clients reconnect, and reach the new one).
/// </summary>
public sealed class UpstreamEndpoint
{
    private volatile UpstreamSettings? _settings;
    private volatile Master? _master;
    private readonly Lock _gate = new();

    private sealed record Master(EndPoint EndPoint, string Host, int Port, CancellationTokenSource Demoted);

    public UpstreamSettings Settings => _settings ?? throw new InvalidOperationException("upstream not configured yet");

    public bool IsSet => _settings is not null;

    /// <summary>Raised after the master changed (not for the first one).</summary>
    public event Action<EndPoint>? MasterChanged;

    /// <summary>True when the master has to be found (several endpoints, or Sentinels), false for one fixed endpoint.</summary>
    public bool NeedsLocating => Settings.ServiceName is not null || Settings.Endpoints.Count > 1;

    public void Set(UpstreamSettings settings)
    {
        _settings = settings;
        if (!NeedsLocating) SetMaster(settings.Endpoints[0]);
    }

    /// <summary>The master to connect to; throws while none is known.</summary>
    public (string Host, int Port) HostAndPort => _master is { } m
        ? (m.Host, m.Port)
        : throw new UpstreamUnavailableException($"upstream {this} unavailable: no master found yet");

    /// <summary>Fires when the current master stops being the master.</summary>
    public CancellationToken Demoted => _master?.Demoted.Token ?? CancellationToken.None;

    public EndPoint? CurrentMaster => _master?.EndPoint;

    private long _failoverUntil; // Environment.TickCount64; 0: none

    /// <summary>
    /// True from a Sentinel's first failover event until the master changed (or the failover was aborted, or
    /// <see cref="BeginFailover"/>'s bound passed). Meanwhile nothing fires: during a <c>SENTINEL FAILOVER</c> the old
    /// master keeps taking writes after the replica was promoted, and whatever it fires then is lost with its data
    /// when it becomes a replica, to be fired again by the new master.
    /// </summary>
    public bool FailingOver => Volatile.Read(ref _failoverUntil) > Environment.TickCount64;

    public void BeginFailover(TimeSpan atMost) => Volatile.Write(ref _failoverUntil, Environment.TickCount64 + (long)atMost.TotalMilliseconds);

    public void EndFailover() => Volatile.Write(ref _failoverUntil, 0);

    /// <returns>True when this changed the master.</returns>
    public bool SetMaster(EndPoint endpoint)
    {
        Master? previous;
        lock (_gate)
        {
            previous = _master;
            if (previous is not null && previous.EndPoint.Equals(endpoint)) return false;
            var (host, port) = endpoint switch
            {
                DnsEndPoint dns => (dns.Host, dns.Port),
                IPEndPoint ip => (ip.Address.ToString(), ip.Port),
                _ => throw new ArgumentException($"unexpected endpoint {endpoint}"),
            };
            _master = new Master(endpoint, host, port, new CancellationTokenSource());
        }
        EndFailover();
        if (previous is null) return true;
        previous.Demoted.Cancel();
        MasterChanged?.Invoke(endpoint);
        return true;
    }

    public override string ToString()
    {
        if (_settings is not { } settings) return "(not set)";
        if (!NeedsLocating) return settings.ToString();
        string master = _master is { } m ? EndPointCollection.ToString(m.EndPoint) : "no master yet";
        return $"{master} ({settings})";
    }
}
