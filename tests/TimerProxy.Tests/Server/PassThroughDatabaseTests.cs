using RedisTimer.Proxy.Tests.Infrastructure;
using static RedisTimer.Proxy.Tests.Server.PassThroughSupport;

namespace RedisTimer.Proxy.Tests.Server;

public class PassThroughDatabaseTests(ProxyFixture fx) : IClassFixture<ProxyFixture>
{
    [Fact]
    public async Task Key_set_after_select_3_is_in_db_3_and_not_in_db_0()
    {
        string key = Key("select");
        using var c = await fx.ConnectProxyAsync();
        Assert.Equal("+OK\r\n", await c.CallAsync("SELECT", "3"));
        Assert.Equal("+OK\r\n", await c.CallAsync("SET", key, "in-three"));

        using var direct = await fx.ConnectRedisAsync();
        Assert.Equal("$-1\r\n", await direct.CallAsync("GET", key));
        Assert.Equal(":0\r\n", await direct.CallAsync("EXISTS", key));
        Assert.Equal("+OK\r\n", await direct.CallAsync("SELECT", "3"));
        Assert.Equal(Bulk("in-three"), await direct.CallAsync("GET", key));
        // The proxied connection's own view of its db.
        Assert.Contains(" db=3 ", await c.CallAsync("CLIENT", "INFO"));
    }

    [Fact]
    public async Task Two_proxied_clients_keep_separate_selected_databases()
    {
        string key = Key("select-two");
        using var a = await fx.ConnectProxyAsync();
        using var b = await fx.ConnectProxyAsync();
        Assert.Equal("+OK\r\n", await a.CallAsync("SELECT", "5"));
        Assert.Equal("+OK\r\n", await a.CallAsync("SET", key, "a-in-5"));
        Assert.Equal("+OK\r\n", await b.CallAsync("SET", key, "b-in-0"));
        Assert.Equal(Bulk("a-in-5"), await a.CallAsync("GET", key));
        Assert.Equal(Bulk("b-in-0"), await b.CallAsync("GET", key));

        // A third proxied client starts in db 0 regardless of what the others selected.
        using var fresh = await fx.ConnectProxyAsync();
        Assert.Equal(Bulk("b-in-0"), await fresh.CallAsync("GET", key));

        using var direct = await fx.ConnectRedisAsync();
        Assert.Equal(Bulk("b-in-0"), await direct.CallAsync("GET", key));
        Assert.Equal("+OK\r\n", await direct.CallAsync("SELECT", "5"));
        Assert.Equal(Bulk("a-in-5"), await direct.CallAsync("GET", key));
    }

    [Fact]
    public async Task Select_errors_are_redis_own()
    {
        var (direct, proxied) = await DifferentialAsync(fx, "select-err", _ =>
            [["SELECT", "16"], ["SELECT", "x"], ["SELECT", "-1"], ["SELECT"]]);
        Assert.Equal(direct, proxied);
        Assert.StartsWith("-ERR DB index is out of range\r\n", proxied);
    }

    [Fact]
    public async Task Move_acts_on_the_proxied_clients_selected_db()
    {
        string key = Key("move");
        using var c = await fx.ConnectProxyAsync();
        Assert.Equal("+OK\r\n", await c.CallAsync("SELECT", "7"));
        Assert.Equal("+OK\r\n", await c.CallAsync("SET", key, "v"));
        Assert.Equal(":1\r\n", await c.CallAsync("MOVE", key, "8"));
        Assert.Equal("$-1\r\n", await c.CallAsync("GET", key));
        using var direct = await fx.ConnectRedisAsync();
        Assert.Equal("+OK\r\n", await direct.CallAsync("SELECT", "8"));
        Assert.Equal(Bulk("v"), await direct.CallAsync("GET", key));
    }
}
