using RedisTimer.Proxy.Tests.Infrastructure;

namespace RedisTimer.Proxy.Tests.Upstream;

/// <summary>
/// Redis down or refusing a new session: a clear error naming the upstream. Redis closing a session: the client gets
/// what Redis sent and then the close, as from Redis directly. Service resumes once Redis is back.
/// </summary>
public class UpstreamTroubleTests
{
    [Fact]
    public async Task Redis_not_started_gives_error_then_clients_are_served_once_it_is_up()
    {
        int port = FreePort.Next();
        await using var proxy = await InProcessProxy.StartAsync($"127.0.0.1:{port}");

        using (var early = await RawClient.ConnectAsync(proxy.Port))
        {
            await early.SendCommandAsync("PING");
            string reply = await early.ReadToCloseAsync();
            Assert.StartsWith($"-ERR upstream 127.0.0.1:{port} unavailable: ", reply);
            Assert.EndsWith("\r\n", reply);
            Assert.Single(reply.Split("\r\n", StringSplitOptions.RemoveEmptyEntries));
        }

        using var redis = new RedisServer(port);
        using var late = await RawClient.ConnectAsync(proxy.Port);
        Assert.Equal("+PONG\r\n", await late.CallAsync("PING"));
    }

    [Fact]
    public async Task Timer_commands_fail_at_once_with_the_reason_when_redis_refuses_the_proxys_own_connection()
    {
        // Clients sign in themselves; the proxy's own connection (the library, the scheduler) has no credentials.
        using var redis = new RedisServer("--requirepass", "own-pw");
        await using var proxy = await InProcessProxy.StartAsync(redis.Endpoint);
        using var c = await RawClient.ConnectAsync(proxy.Port);
        Assert.Equal("+OK\r\n", await c.CallAsync("AUTH", "own-pw"));

        var took = System.Diagnostics.Stopwatch.StartNew();
        await c.SendCommandAsync("TIMER.NEW", "refused:t", "f", "10000", "0");
        string reply = await c.ReadToCloseAsync();
        took.Stop();

        Assert.StartsWith($"-ERR upstream {redis.Endpoint} unavailable: timer library could not be loaded: Redis refuses the proxy's own connection (", reply);
        Assert.Contains("NOAUTH Authentication required.", reply);
        Assert.Contains("--upstream-password", reply);
        Assert.Single(reply.Split("\r\n", StringSplitOptions.RemoveEmptyEntries));
        // Not the 20 s that waiting for a connection that cannot succeed took (a margin for a loaded machine).
        Assert.True(took.Elapsed < TimeSpan.FromSeconds(10), $"the error took {took.Elapsed}");

        using var other = await RawClient.ConnectAsync(proxy.Port);
        Assert.Equal("+OK\r\n", await other.CallAsync("AUTH", "own-pw"));
        Assert.Equal("+PONG\r\n", await other.CallAsync("PING"));
    }

    [Fact]
    public async Task Session_killed_by_redis_is_closed_with_nothing_added_others_continue()
    {
        using var redis = new RedisServer();
        await using var proxy = await InProcessProxy.StartAsync(redis.Endpoint);
        using var victim = await RawClient.ConnectAsync(proxy.Port);
        using var bystander = await RawClient.ConnectAsync(proxy.Port);
        string id = (await victim.CallAsync("CLIENT", "ID")).Trim(':', '\r', '\n');
        Assert.Equal("+PONG\r\n", await bystander.CallAsync("PING"));

        using var admin = await RawClient.ConnectAsync(redis.Port);
        Assert.Equal(":1\r\n", await admin.CallAsync("CLIENT", "KILL", "ID", id));

        Assert.Equal("", await victim.ReadToCloseAsync()); // closed, nothing added: as from Redis directly
        Assert.Equal("+PONG\r\n", await bystander.CallAsync("PING"));
    }

    [Fact]
    public async Task A_client_killing_its_own_connection_gets_the_reply_then_the_close_exactly_as_directly()
    {
        using var redis = new RedisServer();
        await using var proxy = await InProcessProxy.StartAsync(redis.Endpoint);
        foreach (int port in new[] { redis.Port, proxy.Port })
        {
            // As Redis's own test "CLIENT KILL SKIPME YES/NO will kill all clients": the killing client is among
            // the killed, and its pipelined PING meets the close, not a reply.
            using var c = await RawClient.ConnectAsync(port);
            string id = (await c.CallAsync("CLIENT", "ID")).Trim(':', '\r', '\n');
            await c.SendAsync([.. RawClient.Command("CLIENT", "KILL", "ID", id, "SKIPME", "no"), .. RawClient.Command("PING")]);
            Assert.Equal(":1\r\n", await c.ReadToCloseAsync());
        }
    }

    [Fact]
    public async Task Redis_crash_and_restart_on_same_port()
    {
        using var redis = new RedisServer();
        await using var proxy = await InProcessProxy.StartAsync(redis.Endpoint);
        using var before = await RawClient.ConnectAsync(proxy.Port);
        Assert.Equal("+OK\r\n", await before.CallAsync("SET", "crash:k", "v"));

        redis.Stop(Signals.SIGKILL);
        Assert.Equal("", await before.ReadToCloseAsync());

        using (var whileDown = await RawClient.ConnectAsync(proxy.Port))
        {
            await whileDown.SendCommandAsync("PING");
            Assert.StartsWith($"-ERR upstream {redis.Endpoint} unavailable: ", await whileDown.ReadToCloseAsync());
        }

        redis.Start(redis.Port);
        using var after = await RawClient.ConnectAsync(proxy.Port);
        Assert.Equal("+PONG\r\n", await after.CallAsync("PING"));
    }

    [Fact]
    public async Task Proxy_started_while_redis_is_down_logs_and_keeps_trying()
    {
        int port = FreePort.Next();
        using var proxy = new ProxyProcess($"127.0.0.1:{port}");
        await proxy.WaitForLogAsync($"Upstream 127.0.0.1:{port} is not reachable yet", TimeSpan.FromSeconds(30));
        await proxy.WaitListeningAsync();

        using var redis = new RedisServer(port);
        await proxy.WaitForLogAsync($"Upstream 127.0.0.1:{port} is reachable", TimeSpan.FromSeconds(30));
        using var client = await RawClient.ConnectAsync(proxy.Port);
        Assert.Equal("+PONG\r\n", await client.CallAsync("PING"));
    }
}
