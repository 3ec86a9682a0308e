using RedisTimer.Proxy.Tests.Infrastructure;
using static RedisTimer.Proxy.Tests.Server.PassThroughSupport;

namespace RedisTimer.Proxy.Tests.Server;

/// <summary>AUTH and ACL users act on the proxied client's own upstream connection, with Redis's own errors.</summary>
public class PassThroughAuthTests(ProxyFixture fx) : IClassFixture<ProxyFixture>
{
    private static string User() => "pt_user_" + Guid.NewGuid().ToString("N")[..12];

    // A user allowed GET/SET on keys under its own prefix, PING and ACL WHOAMI; nothing else.
    private static async Task<(string User, string KeyPrefix)> CreateUserAsync(RawClient admin, string password)
    {
        string user = User();
        string prefix = $"pt:acl:{user}:";
        Assert.Equal("+OK\r\n", await admin.CallAsync("ACL", "SETUSER", user, "on", ">" + password, $"~{prefix}*",
            "+get", "+set", "+ping", "+acl|whoami"));
        return (user, prefix);
    }

    [Fact]
    public async Task Acl_user_created_through_the_proxy_can_authenticate_and_is_limited_to_its_rights()
    {
        using var c = await fx.ConnectProxyAsync();
        var (user, prefix) = await CreateUserAsync(c, "s3cret");
        long id = await ClientIdAsync(c);
        Assert.Equal("$7\r\ndefault\r\n", await c.CallAsync("ACL", "WHOAMI"));
        Assert.Equal("+OK\r\n", await c.CallAsync("AUTH", user, "s3cret"));
        Assert.Equal(Bulk(user), await c.CallAsync("ACL", "WHOAMI"));
        Assert.Equal("+OK\r\n", await c.CallAsync("SET", prefix + "k", "v"));
        Assert.Equal("$1\r\nv\r\n", await c.CallAsync("GET", prefix + "k"));
        Assert.Equal("-NOPERM this user has no permissions to run the 'del' command\r\n", await c.CallAsync("DEL", prefix + "k"));
        Assert.Equal("-NOPERM this user has no permissions to access one of the keys used as arguments\r\n",
            await c.CallAsync("GET", "pt:not-mine"));

        // The user exists in Redis itself, and other proxied clients are still the default user.
        using var direct = await fx.ConnectRedisAsync();
        Assert.Contains($"user {user} on", await direct.CallAsync("ACL", "LIST"));
        using var other = await fx.ConnectProxyAsync();
        Assert.Equal("$7\r\ndefault\r\n", await other.CallAsync("ACL", "WHOAMI"));
        Assert.Contains($" user={user} ", await direct.CallAsync("CLIENT", "LIST", "ID", id));
    }

    [Fact]
    public async Task Auth_errors_match_direct_redis_exactly()
    {
        using var admin = await fx.ConnectRedisAsync();
        var (user, _) = await CreateUserAsync(admin, "right");
        var (direct, proxied) = await DifferentialAsync(fx, "auth-err", _ =>
        [
            ["AUTH", user, "wrong"], ["AUTH", "no-such-user", "x"], ["AUTH", "only-password"], ["AUTH"],
            ["AUTH", user, "right"], ["DEL", "x"], ["FLUSHALL"], ["ACL", "WHOAMI"],
        ]);
        Assert.Equal(direct, proxied);
        Assert.StartsWith("-WRONGPASS invalid username-password pair or user is disabled.\r\n", proxied);
        Assert.Contains("-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n", proxied);
        Assert.Contains("-NOPERM this user has no permissions to run the 'flushall' command\r\n", proxied);
    }

    [Fact]
    public async Task Failed_auth_keeps_the_previous_user()
    {
        using var c = await fx.ConnectProxyAsync();
        var (user, _) = await CreateUserAsync(c, "pw");
        Assert.Equal("-WRONGPASS invalid username-password pair or user is disabled.\r\n", await c.CallAsync("AUTH", user, "nope"));
        Assert.Equal("$7\r\ndefault\r\n", await c.CallAsync("ACL", "WHOAMI"));
    }

    [Fact]
    public async Task Hello_with_auth_authenticates_the_proxied_connection()
    {
        using var c = await fx.ConnectProxyAsync();
        var (user, _) = await CreateUserAsync(c, "hello-pw");
        Assert.Equal("-WRONGPASS invalid username-password pair or user is disabled.\r\n", await c.CallAsync("HELLO", "3", "AUTH", user, "bad"));
        string hello = await c.CallAsync("HELLO", "3", "AUTH", user, "hello-pw");
        Assert.StartsWith("%7\r\n", hello);
        Assert.Equal(Bulk(user), await c.CallAsync("ACL", "WHOAMI"));
    }

    [Fact]
    public async Task Acl_deluser_disconnects_a_proxied_client_authenticated_as_that_user()
    {
        using var admin = await fx.ConnectProxyAsync();
        using var c = await fx.ConnectProxyAsync();
        var (user, _) = await CreateUserAsync(admin, "pw");
        Assert.Equal("+OK\r\n", await c.CallAsync("AUTH", user, "pw"));
        Assert.Equal(":1\r\n", await admin.CallAsync("ACL", "DELUSER", user));
        // Redis closes that user's connections; through the proxy the client's connection ends too
        // (the proxy may first say why in one error line).
        string rest = await c.ReadToCloseAsync(Generous);
        Assert.True(rest == "" || (rest.StartsWith('-') && rest.EndsWith("\r\n") && rest.IndexOf("\r\n") == rest.Length - 2),
            $"unexpected bytes before close: {rest}");
    }
}
