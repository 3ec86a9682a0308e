using RedisTimer.Proxy.Tests.Infrastructure;

namespace RedisTimer.Proxy.Tests.Upstream;

/// <summary>A configuration string with an ACL user, its password and a database drives both the clients'
/// connections and the scheduler's, against a Redis that requires authentication.</summary>
public class UpstreamConnectionStringTests
{
    [Fact]
    public async Task Clients_and_timers_use_the_strings_user_password_and_database()
    {
        using var redis = new RedisServer("--requirepass", "admin-pw");
        using (var admin = await RawClient.ConnectAsync(redis.Port))
        {
            Assert.Equal("+OK\r\n", await admin.CallAsync("AUTH", "admin-pw"));
            Assert.Equal("+OK\r\n", await admin.CallAsync("ACL", "SETUSER", "app", "on", ">app-pw", "allkeys", "allchannels", "+@all"));
            await TimerFixture.LoadTestLibraryAsync(admin);
        }
        await using var proxy = await InProcessProxy.StartAsync($"{redis.Endpoint},user=app,password=app-pw,defaultDatabase=5,abortConnect=false");

        using var c = await RawClient.ConnectAsync(proxy.Port);
        Assert.Equal("+PONG\r\n", await c.CallAsync("PING"));
        Assert.Equal("$3\r\napp\r\n", await c.CallAsync("ACL", "WHOAMI"));
        Assert.Equal("+OK\r\n", await c.CallAsync("SET", "cs:key", "in-five"));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", "cs:timer", "rt_log", "50", "1", "cs:arg-key", "cs-arg"));

        using var direct = await RawClient.ConnectAsync(redis.Port);
        Assert.Equal("+OK\r\n", await direct.CallAsync("AUTH", "admin-pw"));
        Assert.Equal("$-1\r\n", await direct.CallAsync("GET", "cs:key"));
        Assert.Equal("+OK\r\n", await direct.CallAsync("SELECT", "5"));
        Assert.Equal("$7\r\nin-five\r\n", await direct.CallAsync("GET", "cs:key"));

        // The scheduler signed in as the same user and fired the timer in database 5.
        await TimerFixture.WaitUntilAsync(async () => await direct.CallAsync("LLEN", "rt:log") == ":1\r\n", because: "the timer fired in db 5");
        Assert.Equal(":0\r\n", await direct.CallAsync("EXISTS", "cs:timer"));
        Assert.Contains("cs:arg-key", await direct.CallAsync("LINDEX", "rt:log", "0"));
        // Every connection but this one (the client's, the control plane's, the fire connection) is the string's user.
        var others = (await direct.CallAsync("CLIENT", "LIST")).Split('\n').Where(line => line.Contains(" user=") && !line.Contains(" cmd=client|list ")).ToList();
        Assert.True(others.Count >= 3, string.Join("\n", others));
        Assert.All(others, line => Assert.Contains(" user=app ", line));
    }
}
