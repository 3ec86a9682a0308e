using StackExchange.Redis;

namespace RedisTimer.Proxy.Tests.Infrastructure;

/// <summary>One redis-server and one in-process proxy in front of it, shared by a test class.</summary>
public class ProxyFixture : IAsyncLifetime
{
    public RedisServer Redis { get; private set; } = null!;
    public InProcessProxy Proxy { get; private set; } = null!;

    protected virtual string[] RedisArgs => ["--enable-debug-command", "yes"];

    public virtual async Task InitializeAsync()
    {
        Redis = new RedisServer(RedisArgs);
        try
        {
            Proxy = await InProcessProxy.StartAsync(Redis.Endpoint);
        }
        catch
        {
            Redis.Dispose();
            throw;
        }
    }

    public Task<RawClient> ConnectProxyAsync() => RawClient.ConnectAsync(Proxy.Port);
    public Task<RawClient> ConnectRedisAsync() => RawClient.ConnectAsync(Redis.Port);

    /// <summary>A StackExchange.Redis client through the proxy, as an application would use it.</summary>
    public Task<ConnectionMultiplexer> MultiplexerAsync(string? extra = null) =>
        ConnectionMultiplexer.ConnectAsync($"{Proxy.Endpoint},abortConnect=false,connectTimeout=10000,syncTimeout=10000{(extra is null ? "" : "," + extra)}");

    public async Task DisposeAsync()
    {
        try
        {
            if (Proxy is not null) await Proxy.DisposeAsync();
        }
        finally
        {
            Redis.Dispose();
        }
    }
}
