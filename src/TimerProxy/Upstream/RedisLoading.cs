using StackExchange.Redis;

namespace RedisTimer.Proxy.Upstream;

/// <summary>
/// A Redis that has just started listens before it has loaded its RDB or AOF, and refuses most commands with
/// <c>-LOADING Redis is loading the dataset in memory</c> until it has. That is a wait, not a failure: the
/// proxy's own work asks again at this pace, without backing off, so that what is due runs as soon as
/// loading ends. (Clients' commands are passed through and get Redis's own reply.)
/// </summary>
public static class RedisLoading
{
    public static readonly TimeSpan RetryEvery = TimeSpan.FromMilliseconds(100);

    public static bool Is(string error) => error.StartsWith("LOADING ", StringComparison.Ordinal);

    public static bool Is(Exception e) => e is RedisServerException && Is(e.Message);
}
