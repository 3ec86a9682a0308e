using System.Net.Sockets;
using RedisTimer.Proxy.Tests.Infrastructure;

namespace RedisTimer.Proxy.Tests.Server;

/// <summary>
/// A client that sends its commands and at once closes its write side (`printf 'PING\r\n' | nc -N proxy 6380`)
/// must get its replies, as from Redis directly, even when its upstream connection is still being set up.
/// This class has its own Redis (with a password, so the upstream handshake has a step it can be held at).
/// </summary>
public class PassThroughHalfCloseTests
{
    [Fact]
    public async Task Client_half_closing_while_its_upstream_handshake_is_pending_still_gets_its_replies()
    {
        using var redis = new RedisServer("--requirepass", "half-close-pw");
        await using var proxy = await InProcessProxy.StartAsync(redis.Endpoint,
            new Dictionary<string, string?> { ["Proxy:UpstreamPassword"] = "half-close-pw" });

        using (var warmup = await RawClient.ConnectAsync(proxy.Port))
            Assert.Equal("+PONG\r\n", await warmup.CallAsync("PING"));

        // Hold Redis so the proxy's AUTH for the new client's upstream connection waits for its reply.
        Signals.Send(redis.Pid, Signals.SIGSTOP);
        try
        {
            using var c = await RawClient.ConnectAsync(proxy.Port);
            await c.SendAsync("PING\r\nECHO half-closed\r\n");
            c.Socket.Shutdown(SocketShutdown.Send);
            // Let the proxy see the client's FIN while the handshake is pending; then let Redis go on.
            await Task.Delay(200);
            Signals.Send(redis.Pid, Signals.SIGCONT);
            string got = await c.ReadToCloseAsync(TimeSpan.FromSeconds(10));
            Assert.True(got == "+PONG\r\n$11\r\nhalf-closed\r\n", $"through the proxy got: '{got}'");
        }
        finally
        {
            Signals.Send(redis.Pid, Signals.SIGCONT);
        }
    }
}
