using System.Text;
using RedisTimer.Proxy.Tests.Infrastructure;
using static RedisTimer.Proxy.Tests.Server.PassThroughSupport;

namespace RedisTimer.Proxy.Tests.Server;

/// <summary>
/// Odd but legal request bytes and malformed ones: through the proxy the client sees exactly what Redis itself
/// answers, and the connection stays open or closes exactly as Redis's does.
/// </summary>
public class PassThroughProtocolTests(ProxyFixture fx) : IClassFixture<ProxyFixture>
{
    // Each input is answered by exactly `replies` replies and the connection stays open (a PING proves it).
    [Theory]
    [InlineData("*0\r\n*1\r\n$4\r\nPING\r\n", 1)]
    [InlineData("*-1\r\n*1\r\n$4\r\nPING\r\n", 1)]
    [InlineData("*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\r\n", 2)]           // Redis skips the 2 bytes after a bulk unchecked
    [InlineData("*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", 1)]
    [InlineData("*1\r\n$4\r\nping\r\n\r\n\r\n*1\r\n$4\r\nPING\r\n", 2)] // empty inline lines between frames
    [InlineData("PING\rPING\r\n", 1)]                                   // a lone CR splits inline arguments
    [InlineData("*2\r\n$4\r\nECHO\r\n$3\r\na\nb\r\nECHO x\n", 2)]
    [InlineData("*3\r\n$3\r\nSET\r\n$14\r\npt:proto:space\r\n$1\r\n \r\nGET pt:proto:space\r\n", 2)]
    public async Task Legal_request_bytes_get_the_same_replies_as_direct_redis(string input, int replies)
    {
        using var direct = await fx.ConnectRedisAsync();
        using var proxied = await fx.ConnectProxyAsync();
        var bytes = Encoding.Latin1.GetBytes(input);
        await direct.SendAsync(bytes);
        await proxied.SendAsync(bytes);
        for (int i = 0; i < replies; i++)
            Assert.Equal(await direct.ReadReplyAsync(), await proxied.ReadReplyAsync());
        Assert.Equal("+PONG\r\n", await direct.CallAsync("PING"));
        Assert.Equal("+PONG\r\n", await proxied.CallAsync("PING"));
    }

    // Each input ends the connection with Redis's own protocol error, after the replies of what came before it.
    [Theory]
    [InlineData("PING\r\n*1\r\nPING\r\n")]               // expected '$'
    [InlineData("PING\r\n*1\r\n$-1\r\n")]                // invalid bulk length
    [InlineData("PING\r\n*1\r\n$x\r\n")]
    [InlineData("PING\r\n*x\r\n")]                       // invalid multibulk length
    [InlineData("PING\r\n*3000000000\r\n")]
    [InlineData("PING\r\n*1\r\n$600000000\r\n")]         // above proto-max-bulk-len
    [InlineData("PING\r\nECHO \"a\"b\r\n")]              // closing quote followed by a non-space
    [InlineData("PING\r\nECHO 'a\r\n")]
    public async Task Malformed_requests_get_redis_own_error_and_close(string input)
    {
        using var direct = await fx.ConnectRedisAsync();
        using var proxied = await fx.ConnectProxyAsync();
        var bytes = Encoding.Latin1.GetBytes(input);
        await direct.SendAsync(bytes);
        await proxied.SendAsync(bytes);
        string expected = await direct.ReadToCloseAsync(Generous);
        Assert.StartsWith("+PONG\r\n-ERR Protocol error: ", expected);
        Assert.Equal(expected, await proxied.ReadToCloseAsync(Generous));
    }

    [Fact]
    public async Task Long_inline_line_under_the_limit_works_and_over_the_limit_is_refused_as_redis_does()
    {
        string arg = new('x', 60_000);
        using (var direct = await fx.ConnectRedisAsync())
        using (var proxied = await fx.ConnectProxyAsync())
        {
            await direct.SendAsync($"ECHO {arg}\r\n");
            await proxied.SendAsync($"ECHO {arg}\r\n");
            string expected = await direct.ReadReplyAsync();
            Assert.Equal($"$60000\r\n{arg}\r\n", expected);
            Assert.Equal(expected, await proxied.ReadReplyAsync());
        }
        using (var direct = await fx.ConnectRedisAsync())
        using (var proxied = await fx.ConnectProxyAsync())
        {
            var huge = Encoding.ASCII.GetBytes("ECHO " + new string('y', 70_000));
            await direct.SendAsync(huge);
            await proxied.SendAsync(huge);
            string expected = await direct.ReadToCloseAsync(Generous);
            Assert.Equal("-ERR Protocol error: too big inline request\r\n", expected);
            Assert.Equal(expected, await proxied.ReadToCloseAsync(Generous));
        }
    }

    [Fact]
    public async Task Client_that_closes_its_write_side_still_gets_every_reply()
    {
        // `printf 'SET k v\r\nGET k\r\n' | nc -N host port`: the client half-closes after its last command and
        // reads until the server closes. Redis answers everything it received, then closes.
        string key = Key("halfclose");
        var request = Encoding.ASCII.GetBytes($"SET {key} v\r\nINCR {key}:n\r\nGET {key}\r\n");
        using var direct = await fx.ConnectRedisAsync();
        await direct.SendAsync(request);
        direct.Socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        string expected = await direct.ReadToCloseAsync(Generous);
        Assert.Equal("+OK\r\n:1\r\n$1\r\nv\r\n", expected);

        using var proxied = await fx.ConnectProxyAsync();
        await proxied.SendAsync(request);
        proxied.Socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        string got = await proxied.ReadToCloseAsync(Generous);
        Assert.True(got == "+OK\r\n:2\r\n$1\r\nv\r\n", $"through the proxy got: {got}");
    }

    [Fact]
    public async Task Client_that_closes_its_write_side_after_a_round_trip_still_gets_every_reply()
    {
        string key = Key("halfclose-later");
        using var proxied = await fx.ConnectProxyAsync();
        Assert.Equal("+PONG\r\n", await proxied.CallAsync("PING")); // the upstream connection is surely open
        await proxied.SendAsync(Encoding.ASCII.GetBytes($"SET {key} v\r\nINCR {key}:n\r\nGET {key}\r\n"));
        proxied.Socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        Assert.Equal("+OK\r\n:1\r\n$1\r\nv\r\n", await proxied.ReadToCloseAsync(Generous));
    }

    [Fact]
    public async Task Each_proxied_client_is_one_upstream_connection_and_closing_it_frees_it_in_redis()
    {
        using var direct = await fx.ConnectRedisAsync();
        var ids = new List<long>();
        var clients = new List<RawClient>();
        for (int i = 0; i < 4; i++)
        {
            var c = await fx.ConnectProxyAsync();
            clients.Add(c);
            ids.Add(await ClientIdAsync(c));
        }
        // A blocked client too: closing it must unblock and free its upstream connection.
        await clients[3].SendCommandAsync("BLPOP", Key("never"), "0");
        await WaitUntilBlockedAsync(fx, ids[3]);
        foreach (var c in clients) c.Dispose();
        foreach (var id in ids)
            await WaitUntilAsync(async () => await direct.CallAsync("CLIENT", "LIST", "ID", id) == "$0\r\n\r\n",
                $"Redis dropped client {id}");
    }
}
