using RedisTimer.Proxy.Tests.Infrastructure;

namespace RedisTimer.Proxy.Tests.Upstream;

/// <summary>Redis down, refusing or dropping a session: a clear error naming the upstream, then service resumes.</summary>
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
            Assert.Equal(1, reply.Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Length);
        }

        using var redis = new RedisServer(port);
        using var late = await RawClient.ConnectAsync(proxy.Port);
        Assert.Equal("+PONG\r\n", await late.CallAsync("PING"));
    }

    [Fact]
    public async Task Session_killed_by_redis_gets_error_and_is_closed_others_continue()
    {
        using var redis = new RedisServer();
        await using var proxy = await InProcessProxy.StartAsync(redis.Endpoint);
        using var victim = await RawClient.ConnectAsync(proxy.Port);
        using var bystander = await RawClient.ConnectAsync(proxy.Port);
        string id = (await victim.CallAsync("CLIENT", "ID")).Trim(':', '\r', '\n');
        Assert.Equal("+PONG\r\n", await bystander.CallAsync("PING"));

        using var admin = await RawClient.ConnectAsync(redis.Port);
        Assert.Equal(":1\r\n", await admin.CallAsync("CLIENT", "KILL", "ID", id));

        Assert.Equal($"-ERR upstream {redis.Endpoint} unavailable: connection lost\r\n", await victim.ReadToCloseAsync());
        Assert.Equal("+PONG\r\n", await bystander.CallAsync("PING"));
    }

    [Fact]
    public async Task Redis_crash_and_restart_on_same_port()
    {
        using var redis = new RedisServer();
        await using var proxy = await InProcessProxy.StartAsync(redis.Endpoint);
        using var before = await RawClient.ConnectAsync(proxy.Port);
        Assert.Equal("+OK\r\n", await before.CallAsync("SET", "crash:k", "v"));

        redis.Stop(Signals.SIGKILL);
        Assert.Equal($"-ERR upstream {redis.Endpoint} unavailable: connection lost\r\n", await before.ReadToCloseAsync());

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
