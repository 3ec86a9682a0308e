using System.Text;
using RedisTimer.Proxy.Tests.Infrastructure;
using static RedisTimer.Proxy.Tests.Server.PassThroughSupport;

namespace RedisTimer.Proxy.Tests.Server;

/// <summary>Large and binary values pass through byte for byte.</summary>
public class PassThroughValuesTests(ProxyFixture fx) : IClassFixture<ProxyFixture>
{
    private const int TenMegabytes = 10 * 1024 * 1024;

    // Deterministic bytes over the whole 0..255 range, dense in CR, LF, NUL and RESP type bytes.
    private static byte[] BinaryValue(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        ReadOnlySpan<byte> specials = "\r\n\0*$+-:\r\n"u8;
        for (int i = 0; i < length; i += 7) bytes[i] = specials[i % specials.Length];
        return bytes;
    }

    private static bool Same(byte[] expected, byte[]? actual) => actual is not null && expected.AsSpan().SequenceEqual(actual);

    private static async Task<byte[]> GetBytesAsync(RawClient c, string key)
    {
        await c.SendCommandAsync("GET", key);
        string reply = await c.ReadReplyAsync(TimeSpan.FromSeconds(30));
        int header = reply.IndexOf("\r\n", StringComparison.Ordinal);
        Assert.StartsWith("$", reply);
        int length = int.Parse(reply[1..header]);
        Assert.Equal(header + 2 + length + 2, reply.Length);
        Assert.EndsWith("\r\n", reply);
        return Encoding.Latin1.GetBytes(reply.Substring(header + 2, length));
    }

    [Theory]
    [InlineData(TenMegabytes)]
    [InlineData(TenMegabytes + 12_345)]
    [InlineData(24 * 1024 * 1024 + 1)]
    public async Task Large_value_set_then_get_is_byte_exact(int size)
    {
        string key = Key("big");
        var value = BinaryValue(size, size);
        using var c = await fx.ConnectProxyAsync();
        Assert.Equal("+OK\r\n", await c.CallAsync("SET", key, value));
        Assert.Equal($":{size}\r\n", await c.CallAsync("STRLEN", key));
        Assert.True(Same(value, await GetBytesAsync(c, key)), "value changed on the way");
        Assert.Equal("+PONG\r\n", await c.CallAsync("PING"));

        // And what Redis stored is what was sent (read over a direct connection).
        using var direct = await fx.ConnectRedisAsync();
        Assert.True(Same(value, await GetBytesAsync(direct, key)), "Redis stored different bytes");
    }

    [Fact]
    public async Task Large_value_pipelined_between_small_commands_keeps_reply_order()
    {
        string key = Key("big-pipe");
        var value = BinaryValue(TenMegabytes + 3, 7);
        using var c = await fx.ConnectProxyAsync();
        var request = new MemoryStream();
        request.Write(RawClient.Command("PING"));
        request.Write(RawClient.Command("SET", key, value));
        request.Write(RawClient.Command("STRLEN", key));
        request.Write(RawClient.Command("GET", key));
        request.Write(RawClient.Command("ECHO", "after"));
        var send = c.SendAsync(request.ToArray());
        Assert.Equal("+PONG\r\n", await c.ReadReplyAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal("+OK\r\n", await c.ReadReplyAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal($":{value.Length}\r\n", await c.ReadReplyAsync(TimeSpan.FromSeconds(30)));
        string get = await c.ReadReplyAsync(TimeSpan.FromSeconds(30));
        Assert.Equal($"${value.Length}\r\n" + Encoding.Latin1.GetString(value) + "\r\n", get);
        Assert.Equal("$5\r\nafter\r\n", await c.ReadReplyAsync());
        await send;
    }

    [Fact]
    public async Task Stackexchange_large_value_round_trip()
    {
        string key = Key("se-big");
        var value = BinaryValue(TenMegabytes + 99, 42);
        await using var mux = await fx.MultiplexerAsync("syncTimeout=60000,asyncTimeout=60000");
        var db = mux.GetDatabase();
        Assert.True(await db.StringSetAsync(key, value));
        byte[]? got = await db.StringGetAsync(key);
        Assert.NotNull(got);
        Assert.True(Same(value, got), "value changed on the way");
    }

    [Fact]
    public async Task Binary_values_and_keys_with_cr_lf_and_nul_round_trip_exactly()
    {
        // Values that look like RESP frames must stay data.
        byte[][] values =
        [
            [],
            [0],
            "\r\n"u8.ToArray(),
            "\r"u8.ToArray(),
            "\n"u8.ToArray(),
            "*1\r\n$4\r\nPING\r\n"u8.ToArray(),
            "a\0b\r\nc\nd\re"u8.ToArray(),
            Enumerable.Range(0, 256).Select(i => (byte)i).ToArray(),
            Enumerable.Repeat((byte)'\r', 1000).ToArray(),
        ];
        using var c = await fx.ConnectProxyAsync();
        using var direct = await fx.ConnectRedisAsync();
        string prefix = Key("bin");
        for (int i = 0; i < values.Length; i++)
        {
            byte[] key = [.. Encoding.ASCII.GetBytes(prefix), 13, 10, 0, (byte)i];
            Assert.Equal("+OK\r\n", await c.CallAsync("SET", key, values[i]));
            string expected = $"${values[i].Length}\r\n{Encoding.Latin1.GetString(values[i])}\r\n";
            Assert.Equal(expected, await c.CallAsync("GET", key));
            Assert.Equal(expected, await direct.CallAsync("GET", key));
            Assert.Equal($"*1\r\n{expected}", await c.CallAsync("MGET", key));
        }
    }

    [Fact]
    public async Task Binary_value_dribbled_one_byte_at_a_time_arrives_whole()
    {
        string key = Key("dribble-bin");
        var value = BinaryValue(3000, 3);
        using var c = await fx.ConnectProxyAsync();
        var command = RawClient.Command("SET", key, value);
        for (int i = 0; i < command.Length; i += 1 + i % 5)
            await c.SendAsync(command[i..Math.Min(command.Length, i + 1 + i % 5)]);
        Assert.Equal("+OK\r\n", await c.ReadReplyAsync());
        Assert.True(Same(value, await GetBytesAsync(c, key)));
    }

    [Fact]
    public async Task Values_and_hash_fields_with_binary_bytes_match_direct_redis()
    {
        byte[] odd = [0, 13, 10, (byte)'$', (byte)'-', (byte)'1', 13, 10, 255];
        var (direct, proxied) = await DifferentialAsync(fx, "bin-diff", key =>
        [
            ["HSET", key, odd, odd], ["HGETALL", key], ["HSTRLEN", key, odd],
            ["APPEND", key + ":s", odd], ["GETRANGE", key + ":s", "1", "5"], ["LPUSH", key + ":l", odd, odd], ["LRANGE", key + ":l", "0", "-1"],
        ]);
        Assert.Equal(direct, proxied);
        Assert.Contains("$9\r\n\0\r\n$-1\r\n\u00ff\r\n", proxied);
    }
}
