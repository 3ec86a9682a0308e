using RedisTimer.Proxy.Tests.Infrastructure;
using StackExchange.Redis;
using static RedisTimer.Proxy.Tests.Server.PassThroughSupport;

namespace RedisTimer.Proxy.Tests.Server;

public class PassThroughPubSubTests(ProxyFixture fx) : IClassFixture<ProxyFixture>
{
    [Fact]
    public async Task Subscribe_receives_messages_published_by_another_client_byte_exact()
    {
        string channel = Key("chan");
        using var sub = await fx.ConnectProxyAsync();
        using var pub = await fx.ConnectProxyAsync();
        Assert.Equal($"*3\r\n$9\r\nsubscribe\r\n{Bulk(channel)}:1\r\n", await sub.CallAsync("SUBSCRIBE", channel));

        Assert.Equal(":1\r\n", await pub.CallAsync("PUBLISH", channel, "hello"));
        Assert.Equal($"*3\r\n$7\r\nmessage\r\n{Bulk(channel)}$5\r\nhello\r\n", await sub.ReadReplyAsync(Generous));

        // A binary payload with CR, LF and NUL arrives intact.
        var payload = new byte[] { (byte)'a', 13, 10, 0, (byte)'*', (byte)'1', 13, 10, (byte)'z' };
        Assert.Equal(":1\r\n", await pub.CallAsync("PUBLISH", channel, payload));
        Assert.Equal($"*3\r\n$7\r\nmessage\r\n{Bulk(channel)}$9\r\na\r\n\0*1\r\nz\r\n", await sub.ReadReplyAsync(Generous));

        // In subscribe mode a RESP2 PING answers as an array.
        Assert.Equal("*2\r\n$4\r\npong\r\n$0\r\n\r\n", await sub.CallAsync("PING"));

        Assert.Equal($"*3\r\n$11\r\nunsubscribe\r\n{Bulk(channel)}:0\r\n", await sub.CallAsync("UNSUBSCRIBE", channel));
        Assert.Equal(":0\r\n", await pub.CallAsync("PUBLISH", channel, "after"));
        Assert.Equal("+PONG\r\n", await sub.CallAsync("PING"));
    }

    [Fact]
    public async Task Messages_from_a_direct_publisher_reach_a_proxied_subscriber_in_publish_order()
    {
        string channel = Key("order");
        using var sub = await fx.ConnectProxyAsync();
        using var pub = await fx.ConnectRedisAsync();
        await sub.CallAsync("SUBSCRIBE", channel);
        for (int i = 0; i < 200; i++) await pub.SendCommandAsync("PUBLISH", channel, $"m{i}");
        for (int i = 0; i < 200; i++) Assert.Equal(":1\r\n", await pub.ReadReplyAsync());
        for (int i = 0; i < 200; i++)
            Assert.Equal($"*3\r\n$7\r\nmessage\r\n{Bulk(channel)}{Bulk($"m{i}")}", await sub.ReadReplyAsync(Generous));
    }

    [Fact]
    public async Task Psubscribe_receives_pmessage_and_punsubscribe_confirms()
    {
        string prefix = Key("pat");
        string pattern = prefix + ":*", channel = prefix + ":news";
        using var sub = await fx.ConnectProxyAsync();
        using var pub = await fx.ConnectProxyAsync();
        Assert.Equal($"*3\r\n$10\r\npsubscribe\r\n{Bulk(pattern)}:1\r\n", await sub.CallAsync("PSUBSCRIBE", pattern));
        Assert.Equal(":1\r\n", await pub.CallAsync("PUBLISH", channel, "item"));
        Assert.Equal($"*4\r\n$8\r\npmessage\r\n{Bulk(pattern)}{Bulk(channel)}$4\r\nitem\r\n", await sub.ReadReplyAsync(Generous));
        Assert.Equal($"*3\r\n$12\r\npunsubscribe\r\n{Bulk(pattern)}:0\r\n", await sub.CallAsync("PUNSUBSCRIBE", pattern));
        Assert.Equal(":0\r\n", await pub.CallAsync("PUBLISH", channel, "gone"));
    }

    [Fact]
    public async Task Ssubscribe_receives_smessage_from_spublish()
    {
        string channel = Key("shard");
        using var sub = await fx.ConnectProxyAsync();
        using var pub = await fx.ConnectProxyAsync();
        Assert.Equal($"*3\r\n$10\r\nssubscribe\r\n{Bulk(channel)}:1\r\n", await sub.CallAsync("SSUBSCRIBE", channel));
        Assert.Equal(":1\r\n", await pub.CallAsync("SPUBLISH", channel, "sharded"));
        Assert.Equal($"*3\r\n$8\r\nsmessage\r\n{Bulk(channel)}$7\r\nsharded\r\n", await sub.ReadReplyAsync(Generous));
        Assert.Equal($"*3\r\n$12\r\nsunsubscribe\r\n{Bulk(channel)}:0\r\n", await sub.CallAsync("SUNSUBSCRIBE", channel));
        Assert.Equal(":0\r\n", await pub.CallAsync("SPUBLISH", channel, "gone"));
    }

    [Fact]
    public async Task Subscribe_to_several_channels_confirms_each_and_commands_outside_pubsub_are_refused()
    {
        string a = Key("multi-a"), b = Key("multi-b");
        using var direct = await fx.ConnectRedisAsync();
        using var proxied = await fx.ConnectProxyAsync();
        foreach (var c in new[] { direct, proxied })
        {
            await c.SendCommandAsync("SUBSCRIBE", a, b);
        }
        string Expected(string verb, string ch, int n) => $"*3\r\n${verb.Length}\r\n{verb}\r\n{Bulk(ch)}:{n}\r\n";
        foreach (var c in new[] { direct, proxied })
        {
            Assert.Equal(Expected("subscribe", a, 1), await c.ReadReplyAsync());
            Assert.Equal(Expected("subscribe", b, 2), await c.ReadReplyAsync());
        }
        string directError = await direct.CallAsync("GET", a);
        Assert.StartsWith("-ERR", directError);
        Assert.Equal(directError, await proxied.CallAsync("GET", a));

        // UNSUBSCRIBE with no arguments drops every channel, one confirmation each.
        await proxied.SendCommandAsync("UNSUBSCRIBE");
        string first = await proxied.ReadReplyAsync(), second = await proxied.ReadReplyAsync();
        // Redis walks its channel dictionary, so the order of the two is Redis's choice.
        bool aFirst = first == Expected("unsubscribe", a, 1);
        Assert.Equal(aFirst ? Expected("unsubscribe", a, 1) : Expected("unsubscribe", b, 1), first);
        Assert.Equal(aFirst ? Expected("unsubscribe", b, 0) : Expected("unsubscribe", a, 0), second);
        Assert.Equal("+PONG\r\n", await proxied.CallAsync("PING"));
    }

    [Fact]
    public async Task Stackexchange_pubsub_through_the_proxy_delivers_messages()
    {
        string channel = Key("se-chan");
        await using var subscriberMux = await fx.MultiplexerAsync();
        await using var publisherMux = await fx.MultiplexerAsync();
        var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var subscriber = subscriberMux.GetSubscriber();
        await subscriber.SubscribeAsync(RedisChannel.Literal(channel), (_, message) => received.TrySetResult(message!));

        Assert.Equal(1, await publisherMux.GetSubscriber().PublishAsync(RedisChannel.Literal(channel), "via-proxy"));
        Assert.Equal("via-proxy", await received.Task.WaitAsync(Generous));

        // A pattern subscription through a channel queue.
        var queue = await subscriber.SubscribeAsync(RedisChannel.Pattern(channel + "*"));
        Assert.Equal(2, await publisherMux.GetSubscriber().PublishAsync(RedisChannel.Literal(channel), "second"));
        var message = await queue.ReadAsync().AsTask().WaitAsync(Generous);
        Assert.Equal("second", (string?)message.Message);
        Assert.Equal(channel, (string?)message.Channel);
        await subscriber.UnsubscribeAllAsync();
    }
}
