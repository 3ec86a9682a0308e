using System.Text;
using RedisTimer.Proxy.Tests.Infrastructure;
using static RedisTimer.Proxy.Tests.Server.PassThroughSupport;

namespace RedisTimer.Proxy.Tests.Server;

public class PassThroughPipelineTests(ProxyFixture fx) : IClassFixture<ProxyFixture>
{
    private const int Count = 12_000;

    // SET k:i v-i, GET k:i, INCR counter, repeated: the replies are all known in advance.
    private static (byte[] Request, string Expected) BuildPipeline(string prefix, int count = Count)
    {
        var request = new MemoryStream();
        var expected = new StringBuilder();
        string counter = prefix + ":counter";
        long incr = 0;
        for (int i = 0; i < count; i++)
        {
            string key = $"{prefix}:{(i - i % 3) % 500}";
            switch (i % 3)
            {
                case 0:
                    request.Write(RawClient.Command("SET", key, $"v-{i}"));
                    expected.Append("+OK\r\n");
                    break;
                case 1:
                    request.Write(RawClient.Command("GET", key));
                    expected.Append(Bulk($"v-{i - 1}"));
                    break;
                default:
                    request.Write(RawClient.Command("INCR", counter));
                    expected.Append($":{++incr}\r\n");
                    break;
            }
        }
        return (request.ToArray(), expected.ToString());
    }

    private static async Task<string> ReadRepliesAsync(RawClient c, int count)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < count; i++) sb.Append(await c.ReadReplyAsync());
        return sb.ToString();
    }

    [Fact]
    public async Task Twelve_thousand_commands_in_one_write_get_all_replies_in_order()
    {
        var (request, expected) = BuildPipeline(Key("pipe"));
        using var c = await fx.ConnectProxyAsync();
        // One write; the replies are read concurrently, as a real pipelining client would.
        var send = c.SendAsync(request);
        var replies = ReadRepliesAsync(c, Count);
        await send;
        Assert.Equal(expected, await replies);
        Assert.Equal("+PONG\r\n", await c.CallAsync("PING"));
    }

    [Fact]
    public async Task Pipeline_in_one_write_gives_the_same_bytes_as_direct_redis()
    {
        string dk = Key("pipe-diff"), pk = Key("pipe-diff");
        using var direct = await fx.ConnectRedisAsync();
        using var proxied = await fx.ConnectProxyAsync();
        var (dreq, _) = BuildPipeline(dk);
        var (preq, _) = BuildPipeline(pk);
        var dsend = direct.SendAsync(dreq);
        var dreplies = ReadRepliesAsync(direct, Count);
        var psend = proxied.SendAsync(preq);
        var preplies = ReadRepliesAsync(proxied, Count);
        await Task.WhenAll(dsend, psend);
        Assert.Equal(await dreplies, await preplies);
    }

    [Fact]
    public async Task Pipeline_dribbled_in_small_uneven_chunks_still_answers_every_command_in_order()
    {
        // Frame boundaries fall anywhere: inside a length, between CR and LF, inside a payload.
        const int commands = 600;
        var (request, expected) = BuildPipeline(Key("dribble"), commands);
        using var c = await fx.ConnectProxyAsync();
        var replies = ReadRepliesAsync(c, commands);
        var random = new Random(12345);
        for (int offset = 0; offset < request.Length;)
        {
            int n = Math.Min(random.Next(1, 17), request.Length - offset);
            await c.SendAsync(request[offset..(offset + n)]);
            offset += n;
        }
        string got = await replies;
        Assert.Equal(expected, got);
    }

    [Fact]
    public async Task Inline_and_multibulk_commands_mixed_in_one_write_are_answered_in_order()
    {
        string key = Key("mixed");
        using var c = await fx.ConnectProxyAsync();
        var request = new MemoryStream();
        request.Write(Encoding.ASCII.GetBytes($"SET {key} one\r\n"));
        request.Write(RawClient.Command("APPEND", key, "-two"));
        request.Write(Encoding.ASCII.GetBytes($"GET {key}\r\nPING\r\n"));
        request.Write(RawClient.Command("STRLEN", key));
        await c.SendAsync(request.ToArray());
        var sb = new StringBuilder();
        for (int i = 0; i < 5; i++) sb.Append(await c.ReadReplyAsync());
        Assert.Equal("+OK\r\n:7\r\n$7\r\none-two\r\n+PONG\r\n:7\r\n", sb.ToString());
    }
}
