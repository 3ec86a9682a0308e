using System.Text.RegularExpressions;
using RedisTimer.Proxy.Tests.Infrastructure;
using static RedisTimer.Proxy.Tests.Server.PassThroughSupport;

namespace RedisTimer.Proxy.Tests.Server;

public class PassThroughResp3Tests(ProxyFixture fx) : IClassFixture<ProxyFixture>
{
    // HELLO's reply carries the connection id; everything else must match direct Redis.
    private static string WithoutId(string hello) => Regex.Replace(hello, @"\$2\r\nid\r\n:\d+\r\n", "$2\r\nid\r\n:<id>\r\n");

    [Fact]
    public async Task Hello_3_answers_with_a_seven_entry_map_with_proto_3()
    {
        using var c = await fx.ConnectProxyAsync();
        long id = await ClientIdAsync(c);
        string hello = await c.CallAsync("HELLO", "3");
        Assert.StartsWith("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n", hello);
        Assert.Contains("$5\r\nproto\r\n:3\r\n", hello);
        Assert.Contains($"$2\r\nid\r\n:{id}\r\n", hello);
        Assert.EndsWith("$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n", hello);

        using var direct = await fx.ConnectRedisAsync();
        Assert.Equal(WithoutId(await direct.CallAsync("HELLO", "3")), WithoutId(hello));
    }

    [Fact]
    public async Task Hello_2_answers_with_a_flat_array_with_proto_2()
    {
        using var c = await fx.ConnectProxyAsync();
        string hello = await c.CallAsync("HELLO", "2");
        Assert.StartsWith("*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n", hello);
        Assert.Contains("$5\r\nproto\r\n:2\r\n", hello);
        using var direct = await fx.ConnectRedisAsync();
        Assert.Equal(WithoutId(await direct.CallAsync("HELLO", "2")), WithoutId(hello));

        // And back: HELLO 3 then HELLO 2 switches replies back to RESP2.
        Assert.StartsWith("%7\r\n", await c.CallAsync("HELLO", "3"));
        Assert.Equal("_\r\n", await c.CallAsync("GET", Key("nil")));
        Assert.StartsWith("*14\r\n", await c.CallAsync("HELLO", "2"));
        Assert.Equal("$-1\r\n", await c.CallAsync("GET", Key("nil")));
    }

    [Fact]
    public async Task Hello_errors_are_redis_own()
    {
        var (direct, proxied) = await DifferentialAsync(fx, "hello-err", _ => [["HELLO", "4"], ["HELLO", "x"], ["PING"]]);
        Assert.Equal(direct, proxied);
        Assert.StartsWith("-NOPROTO", proxied);
    }

    [Fact]
    public async Task Resp3_replies_map_double_null_set_and_boolean_pass_through_unchanged()
    {
        string hash = Key("h"), zset = Key("z"), set = Key("s");
        using var c = await fx.ConnectProxyAsync();
        await c.CallAsync("HELLO", "3");
        Assert.Equal(":2\r\n", await c.CallAsync("HSET", hash, "a", "1", "b", "2"));
        Assert.Equal("%2\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n", await c.CallAsync("HGETALL", hash));
        Assert.Equal(":1\r\n", await c.CallAsync("ZADD", zset, "1.5", "m"));
        Assert.Equal(",1.5\r\n", await c.CallAsync("ZSCORE", zset, "m"));
        Assert.Equal("*1\r\n*2\r\n$1\r\nm\r\n,1.5\r\n", await c.CallAsync("ZRANGE", zset, "0", "-1", "WITHSCORES"));
        Assert.Equal("_\r\n", await c.CallAsync("GET", Key("missing")));
        Assert.Equal("_\r\n", await c.CallAsync("ZSCORE", zset, "nobody"));
        Assert.Equal(":1\r\n", await c.CallAsync("SADD", set, "only"));
        Assert.Equal("~1\r\n$4\r\nonly\r\n", await c.CallAsync("SMEMBERS", set));
        Assert.Equal("#t\r\n", await c.CallAsync("EVAL", "redis.setresp(3); return true", "0"));
        Assert.Equal("#f\r\n", await c.CallAsync("EVAL", "redis.setresp(3); return false", "0"));
        Assert.Equal(",3.25\r\n", await c.CallAsync("EVAL", "redis.setresp(3); return {double=3.25}", "0"));
    }

    [Fact]
    public async Task Resp3_transcript_matches_direct_redis()
    {
        var (direct, proxied) = await DifferentialAsync(fx, "resp3-diff", key =>
        [
            ["HELLO", "3", "SETNAME", "pt-resp3"],
            ["HSET", key, "f1", "v1", "f2", "2"], ["HGETALL", key], ["HRANDFIELD", key, "0"],
            ["CONFIG", "GET", "maxmemory-policy"], ["CLIENT", "GETNAME"],
            ["MULTI"], ["HGETALL", key], ["GET", key + ":none"], ["EXEC"],
            ["XINFO", "HELP"], ["OBJECT", "FREQ", key], ["DEBUG", "PROTOCOL", "bignum"], ["DEBUG", "PROTOCOL", "verbatim"],
            ["DEBUG", "PROTOCOL", "attrib"], ["DEBUG", "PROTOCOL", "true"], ["DEBUG", "PROTOCOL", "double"],
        ]);
        Assert.Equal(WithoutId(direct), WithoutId(proxied));
        Assert.Contains("(1234567999999999999999999999999999999\r\n", proxied);
        Assert.Contains("\r\n=", proxied);
        Assert.Contains("\r\n|1\r\n", proxied);
    }

    [Fact]
    public async Task Client_tracking_sends_an_invalidation_push_when_another_client_changes_a_tracked_key()
    {
        string key = Key("tracked");
        using var tracker = await fx.ConnectProxyAsync();
        using var writer = await fx.ConnectProxyAsync();
        Assert.Equal("+OK\r\n", await writer.CallAsync("SET", key, "v1"));
        Assert.StartsWith("%7\r\n", await tracker.CallAsync("HELLO", "3"));
        Assert.Equal("+OK\r\n", await tracker.CallAsync("CLIENT", "TRACKING", "ON"));
        Assert.Equal("$2\r\nv1\r\n", await tracker.CallAsync("GET", key));

        Assert.Equal("+OK\r\n", await writer.CallAsync("SET", key, "v2"));
        Assert.Equal($">2\r\n$10\r\ninvalidate\r\n*1\r\n{Bulk(key)}", await tracker.ReadReplyAsync(Generous));

        // The tracking connection keeps working, and a write of its own also invalidates (no NOLOOP).
        Assert.Equal("$2\r\nv2\r\n", await tracker.CallAsync("GET", key));
        await tracker.SendCommandAsync("DEL", key);
        string first = await tracker.ReadReplyAsync(), second = await tracker.ReadReplyAsync();
        Assert.Equal(new[] { $">2\r\n$10\r\ninvalidate\r\n*1\r\n{Bulk(key)}", ":1\r\n" }.Order(), new[] { first, second }.Order());
        Assert.Equal("+OK\r\n", await tracker.CallAsync("CLIENT", "TRACKING", "OFF"));
    }

    [Fact]
    public async Task Client_tracking_with_redirect_sends_invalidations_to_a_resp2_subscriber()
    {
        string key = Key("redirect");
        using var sink = await fx.ConnectProxyAsync();
        using var tracker = await fx.ConnectProxyAsync();
        using var writer = await fx.ConnectRedisAsync();
        long sinkId = await ClientIdAsync(sink);
        Assert.Equal("*3\r\n$9\r\nsubscribe\r\n$20\r\n__redis__:invalidate\r\n:1\r\n", await sink.CallAsync("SUBSCRIBE", "__redis__:invalidate"));
        Assert.Equal("+OK\r\n", await tracker.CallAsync("CLIENT", "TRACKING", "ON", "REDIRECT", sinkId));
        Assert.Equal("$-1\r\n", await tracker.CallAsync("GET", key));
        Assert.Equal("+OK\r\n", await writer.CallAsync("SET", key, "x"));
        Assert.Equal($"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n{Bulk(key)}", await sink.ReadReplyAsync(Generous));
    }

    [Fact]
    public async Task Resp3_subscriber_gets_push_messages_and_ordinary_replies_interleaved()
    {
        string channel = Key("r3chan"), key = Key("r3key");
        using var sub = await fx.ConnectProxyAsync();
        using var pub = await fx.ConnectRedisAsync();
        await sub.CallAsync("HELLO", "3");
        Assert.Equal($">3\r\n$9\r\nsubscribe\r\n{Bulk(channel)}:1\r\n", await sub.CallAsync("SUBSCRIBE", channel));
        Assert.Equal(":1\r\n", await pub.CallAsync("PUBLISH", channel, "one"));
        Assert.Equal($">3\r\n$7\r\nmessage\r\n{Bulk(channel)}$3\r\none\r\n", await sub.ReadReplyAsync(Generous));
        // RESP3 allows ordinary commands while subscribed.
        Assert.Equal("+OK\r\n", await sub.CallAsync("SET", key, "v"));
        Assert.Equal("$1\r\nv\r\n", await sub.CallAsync("GET", key));
        Assert.Equal("+PONG\r\n", await sub.CallAsync("PING"));
    }
}
