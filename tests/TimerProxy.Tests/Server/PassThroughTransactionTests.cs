using RedisTimer.Proxy.Tests.Infrastructure;
using StackExchange.Redis;
using static RedisTimer.Proxy.Tests.Server.PassThroughSupport;

namespace RedisTimer.Proxy.Tests.Server;

public class PassThroughTransactionTests(ProxyFixture fx) : IClassFixture<ProxyFixture>
{
    [Fact]
    public async Task Multi_exec_queues_commands_and_returns_their_replies_as_one_array()
    {
        string key = Key("multi");
        using var c = await fx.ConnectProxyAsync();
        Assert.Equal("+OK\r\n", await c.CallAsync("MULTI"));
        Assert.Equal("+QUEUED\r\n", await c.CallAsync("SET", key, "10"));
        Assert.Equal("+QUEUED\r\n", await c.CallAsync("INCRBY", key, "5"));
        Assert.Equal("+QUEUED\r\n", await c.CallAsync("GET", key));
        Assert.Equal("*3\r\n+OK\r\n:15\r\n$2\r\n15\r\n", await c.CallAsync("EXEC"));
    }

    [Fact]
    public async Task Multi_exec_transcript_matches_direct_redis_including_execabort()
    {
        var (direct, proxied) = await DifferentialAsync(fx, "multi-diff", key =>
        [
            ["MULTI"], ["SET", key, "a"], ["LPUSH", key, "x"], ["GET", key], ["EXEC"],
            ["MULTI"], ["SET", key], ["EXEC"],
            ["EXEC"], ["DISCARD"],
            ["MULTI"], ["MULTI"], ["DISCARD"],
        ]);
        Assert.Equal(direct, proxied);
        Assert.Contains("-WRONGTYPE", proxied);
        Assert.Contains("-EXECABORT Transaction discarded because of previous errors.\r\n", proxied);
        Assert.Contains("-ERR EXEC without MULTI\r\n", proxied);
    }

    [Fact]
    public async Task Discard_drops_the_queued_commands()
    {
        string key = Key("discard");
        using var c = await fx.ConnectProxyAsync();
        Assert.Equal("+OK\r\n", await c.CallAsync("MULTI"));
        Assert.Equal("+QUEUED\r\n", await c.CallAsync("SET", key, "v"));
        Assert.Equal("+OK\r\n", await c.CallAsync("DISCARD"));
        Assert.Equal("$-1\r\n", await c.CallAsync("GET", key));
        Assert.Equal("-ERR DISCARD without MULTI\r\n", await c.CallAsync("DISCARD"));
    }

    [Fact]
    public async Task Watch_aborts_exec_with_null_array_when_another_client_modifies_the_key()
    {
        string key = Key("watch");
        using var c = await fx.ConnectProxyAsync();
        using var other = await fx.ConnectProxyAsync();
        Assert.Equal("+OK\r\n", await c.CallAsync("SET", key, "original"));
        Assert.Equal("+OK\r\n", await c.CallAsync("WATCH", key));
        Assert.Equal("+OK\r\n", await other.CallAsync("SET", key, "changed-by-other"));
        Assert.Equal("+OK\r\n", await c.CallAsync("MULTI"));
        Assert.Equal("+QUEUED\r\n", await c.CallAsync("SET", key, "from-transaction"));
        Assert.Equal("*-1\r\n", await c.CallAsync("EXEC"));
        Assert.Equal(Bulk("changed-by-other"), await c.CallAsync("GET", key));

        // Unmodified watch: EXEC runs.
        Assert.Equal("+OK\r\n", await c.CallAsync("WATCH", key));
        Assert.Equal("+OK\r\n", await c.CallAsync("MULTI"));
        Assert.Equal("+QUEUED\r\n", await c.CallAsync("SET", key, "from-transaction"));
        Assert.Equal("*1\r\n+OK\r\n", await c.CallAsync("EXEC"));
        Assert.Equal(Bulk("from-transaction"), await other.CallAsync("GET", key));
    }

    [Fact]
    public async Task Watch_by_one_proxied_client_is_not_disturbed_by_unwatch_of_another()
    {
        string key = Key("watch-separate");
        using var a = await fx.ConnectProxyAsync();
        using var b = await fx.ConnectProxyAsync();
        Assert.Equal("+OK\r\n", await a.CallAsync("WATCH", key));
        Assert.Equal("+OK\r\n", await b.CallAsync("UNWATCH"));
        using var direct = await fx.ConnectRedisAsync();
        Assert.Equal("+OK\r\n", await direct.CallAsync("SET", key, "x"));
        Assert.Equal("+OK\r\n", await a.CallAsync("MULTI"));
        Assert.Equal("+QUEUED\r\n", await a.CallAsync("GET", key));
        Assert.Equal("*-1\r\n", await a.CallAsync("EXEC"));
    }

    [Fact]
    public async Task Stackexchange_transaction_with_condition_commits_or_aborts_as_redis_decides()
    {
        string key = Key("se-tran"), guard = Key("se-guard");
        await using var mux = await fx.MultiplexerAsync();
        var db = mux.GetDatabase();

        var first = db.CreateTransaction();
        first.AddCondition(Condition.KeyNotExists(guard));
        _ = first.StringSetAsync(key, "committed");
        _ = first.StringSetAsync(guard, "1");
        Assert.True(await first.ExecuteAsync());
        Assert.Equal("committed", (string?)await db.StringGetAsync(key));

        var second = db.CreateTransaction();
        second.AddCondition(Condition.KeyNotExists(guard));
        var set = second.StringSetAsync(key, "must-not-happen");
        Assert.False(await second.ExecuteAsync());
        Assert.True(set.IsCanceled);
        Assert.Equal("committed", (string?)await db.StringGetAsync(key));

        var third = db.CreateTransaction();
        third.AddCondition(Condition.StringEqual(guard, "1"));
        var incr = third.StringIncrementAsync(guard);
        Assert.True(await third.ExecuteAsync());
        Assert.Equal(2, await incr);
    }
}
