using RedisTimer.Proxy.Tests.Infrastructure;
using static RedisTimer.Proxy.Tests.Server.PassThroughSupport;

namespace RedisTimer.Proxy.Tests.Server;

/// <summary>CLIENT subcommands see and change the proxied client's own upstream connection.</summary>
public class PassThroughClientCommandTests(ProxyFixture fx) : IClassFixture<ProxyFixture>
{
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(250);

    [Fact]
    public async Task Setname_and_getname_round_trip_and_show_in_client_list_over_a_direct_connection()
    {
        string name = "pt-name-" + Guid.NewGuid().ToString("N")[..8];
        using var c = await fx.ConnectProxyAsync();
        Assert.Equal("$-1\r\n", await c.CallAsync("CLIENT", "GETNAME"));
        Assert.Equal("+OK\r\n", await c.CallAsync("CLIENT", "SETNAME", name));
        Assert.Equal(Bulk(name), await c.CallAsync("CLIENT", "GETNAME"));
        long id = await ClientIdAsync(c);

        using var direct = await fx.ConnectRedisAsync();
        string list = await direct.CallAsync("CLIENT", "LIST");
        var line = list.Split('\n').Single(l => l.Contains($" name={name} "));
        Assert.StartsWith($"$", list);
        Assert.Contains($"id={id} ", line);
        Assert.Contains(" cmd=client|id ", line);

        Assert.Equal("-ERR Client names cannot contain spaces, newlines or special characters.\r\n",
            await c.CallAsync("CLIENT", "SETNAME", "has space"));
    }

    [Fact]
    public async Task Each_proxied_client_has_its_own_distinct_client_id()
    {
        var clients = new List<RawClient>();
        try
        {
            for (int i = 0; i < 5; i++) clients.Add(await fx.ConnectProxyAsync());
            var ids = new List<long>();
            foreach (var c in clients) ids.Add(await ClientIdAsync(c));
            Assert.Equal(ids.Count, ids.Distinct().Count());
            // Stable per connection.
            Assert.Equal(ids[2], await ClientIdAsync(clients[2]));

            using var direct = await fx.ConnectRedisAsync();
            foreach (var id in ids)
                Assert.StartsWith($"$", await direct.CallAsync("CLIENT", "LIST", "ID", id));
            string listed = await direct.CallAsync("CLIENT", "LIST", "ID", ids[0], ids[4]);
            Assert.Contains($"id={ids[0]} ", listed);
            Assert.Contains($"id={ids[4]} ", listed);
        }
        finally
        {
            foreach (var c in clients) c.Dispose();
        }
    }

    [Fact]
    public async Task Client_kill_of_one_proxied_client_from_another_ends_the_killed_connection()
    {
        using var victim = await fx.ConnectProxyAsync();
        using var killer = await fx.ConnectProxyAsync();
        long victimId = await ClientIdAsync(victim);
        Assert.Equal(":1\r\n", await killer.CallAsync("CLIENT", "KILL", "ID", victimId));

        string rest = await victim.ReadToCloseAsync(Generous);
        Assert.True(rest == "" || (rest.StartsWith('-') && rest.IndexOf("\r\n") == rest.Length - 2),
            $"unexpected bytes before close: {rest}");
        Assert.Equal("+PONG\r\n", await killer.CallAsync("PING"));

        using var direct = await fx.ConnectRedisAsync();
        await WaitUntilAsync(async () => await direct.CallAsync("CLIENT", "LIST", "ID", victimId) == "$0\r\n\r\n",
            "the killed connection is gone from CLIENT LIST");
    }

    [Fact]
    public async Task Client_kill_by_addr_of_a_proxied_upstream_ends_that_client()
    {
        using var victim = await fx.ConnectProxyAsync();
        using var killer = await fx.ConnectProxyAsync();
        long victimId = await ClientIdAsync(victim);
        using var direct = await fx.ConnectRedisAsync();
        string info = await direct.CallAsync("CLIENT", "LIST", "ID", victimId);
        string addr = info.Split(' ').Single(f => f.StartsWith("addr="))["addr=".Length..];
        Assert.Equal("+OK\r\n", await killer.CallAsync("CLIENT", "KILL", addr));
        string rest = await victim.ReadToCloseAsync(Generous);
        Assert.True(rest == "" || (rest.StartsWith('-') && rest.IndexOf("\r\n") == rest.Length - 2),
            $"unexpected bytes before close: {rest}");
    }

    [Fact]
    public async Task Client_reply_off_suppresses_replies_until_on()
    {
        string key = Key("reply-off");
        using var c = await fx.ConnectProxyAsync();
        await c.SendCommandAsync("CLIENT", "REPLY", "OFF");
        await c.SendCommandAsync("SET", key, "1");
        await c.SendCommandAsync("INCR", key);
        await c.SendCommandAsync("GET", key);
        Assert.True(await c.NothingArrivesWithinAsync(Quiet), "a reply arrived while CLIENT REPLY OFF");
        // The first bytes after ON are ON's own +OK: nothing was queued for the silenced commands.
        Assert.Equal("+OK\r\n", await c.CallAsync("CLIENT", "REPLY", "ON"));
        Assert.Equal("$1\r\n2\r\n", await c.CallAsync("GET", key));
    }

    [Fact]
    public async Task Client_reply_off_and_on_in_one_write_answers_only_what_follows_on()
    {
        string key = Key("reply-off-pipe");
        using var c = await fx.ConnectProxyAsync();
        var request = new MemoryStream();
        request.Write(RawClient.Command("CLIENT", "REPLY", "OFF"));
        for (int i = 0; i < 100; i++) request.Write(RawClient.Command("INCR", key));
        request.Write(RawClient.Command("CLIENT", "REPLY", "ON"));
        request.Write(RawClient.Command("GET", key));
        await c.SendAsync(request.ToArray());
        Assert.Equal("+OK\r\n", await c.ReadReplyAsync());
        Assert.Equal("$3\r\n100\r\n", await c.ReadReplyAsync());
        Assert.True(await c.NothingArrivesWithinAsync(Quiet));
    }

    [Fact]
    public async Task Client_reply_skip_suppresses_exactly_the_next_reply()
    {
        string key = Key("reply-skip");
        using var c = await fx.ConnectProxyAsync();
        await c.SendCommandAsync("CLIENT", "REPLY", "SKIP");
        await c.SendCommandAsync("SET", key, "skipped-reply");
        await c.SendCommandAsync("GET", key);
        Assert.Equal(Bulk("skipped-reply"), await c.ReadReplyAsync());
        Assert.Equal("+PONG\r\n", await c.CallAsync("PING"));
        Assert.True(await c.NothingArrivesWithinAsync(Quiet));
    }

    [Fact]
    public async Task Client_info_and_no_evict_match_direct_redis_shape()
    {
        using var c = await fx.ConnectProxyAsync();
        string info = await c.CallAsync("CLIENT", "INFO");
        Assert.StartsWith("$", info);
        Assert.Contains(" cmd=client|info ", info);
        Assert.Contains(" resp=2", info);
        var (direct, proxied) = await DifferentialAsync(fx, "client-misc", _ =>
            [["CLIENT", "NO-EVICT", "ON"], ["CLIENT", "NO-EVICT", "maybe"], ["CLIENT", "NOSUCH"], ["CLIENT", "UNPAUSE"]]);
        Assert.Equal(direct, proxied);
    }
}
