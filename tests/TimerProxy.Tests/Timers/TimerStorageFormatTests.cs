using RedisTimer.Proxy.Scheduling;
using RedisTimer.Proxy.Tests.Infrastructure;

namespace RedisTimer.Proxy.Tests.Timers;

/// <summary>
/// The def field holds the MessagePack array docs/STORAGE.md describes, {fn, iv, loop, numkeys, keys.., args..}:
/// what Redis's own cmsgpack.pack writes, and what the scheduler's decoder reads back, at every size boundary
/// of the format.
/// </summary>
public class TimerStorageFormatTests(TimerFixture fx) : IClassFixture<TimerFixture>
{
    [Theory]
    [InlineData(0, 0, 1, false)]
    [InlineData(1, 1, 31, false)]     // longest fixstr
    [InlineData(1, 1, 32, false)]     // str8
    [InlineData(2, 3, 255, false)]
    [InlineData(1, 1, 256, false)]    // str16
    [InlineData(0, 1, 65535, false)]
    [InlineData(0, 1, 65536, false)]  // str32
    [InlineData(5, 6, 3, false)]      // 15 elements: longest fixarray
    [InlineData(6, 6, 3, false)]      // 16 elements: array16
    [InlineData(0, 65532, 1, false)]  // 65536 elements: array32
    [InlineData(2, 2, 40, true)]      // binary: NUL, CR, LF, 0xFF
    public async Task Def_is_what_cmsgpack_pack_writes(int keys, int args, int size, bool binary)
    {
        using var proxied = await fx.ConnectProxyAsync();
        using var direct = await fx.ConnectRedisAsync();
        string id = $"fmt:{keys}:{args}:{size}:{binary}";
        byte[] Value(int i)
        {
            var v = new byte[size];
            for (int j = 0; j < size; j++) v[j] = binary ? (byte)((i * 31 + j * 7) % 256) : (byte)('a' + (i + j) % 26);
            if (binary && size >= 4) { v[0] = 0; v[1] = (byte)'\r'; v[2] = (byte)'\n'; v[3] = 0xFF; }
            return v;
        }
        var tail = new List<object> { keys.ToString() };
        for (int i = 0; i < keys; i++) tail.Add(Value(i));
        for (int i = 0; i < args; i++) tail.Add(Value(keys + i));

        Assert.Equal(":1\r\n", await proxied.CallAsync(["TIMER.NEW", id, "rt_log", "600000", "LOOP", .. tail]));
        var stored = await direct.CallAsync("HGET", id, "def");
        var expected = await direct.CallAsync(["EVAL", "return cmsgpack.pack(ARGV)", "0", "rt_log", "600000", "1", .. tail]);
        Assert.Equal(expected.Length, stored.Length);
        Assert.True(expected == stored, "def differs from cmsgpack.pack of the same values");
        var decoded = ReadAll(BulkBytes(stored));
        byte[][] fields = ["rt_log"u8.ToArray(), "600000"u8.ToArray(), "1"u8.ToArray(), .. tail.Select(t => t as byte[] ?? System.Text.Encoding.ASCII.GetBytes((string)t))];
        Assert.Equal(fields.Length, decoded.Length);
        for (int i = 0; i < fields.Length; i++) Assert.True(fields[i].AsSpan().SequenceEqual(decoded[i]), $"field {i} decoded differently");
        Assert.Equal(":1\r\n", await proxied.CallAsync("TIMER.KILL", id));
    }

    // What the scheduler reads from the field, item by item.
    private static byte[][] ReadAll(byte[] data)
    {
        var reader = new MsgPackStrings.Reader(data);
        var items = new List<byte[]>();
        while (reader.TryRead(out var item)) items.Add(item.ToArray());
        Assert.Equal(reader.Count, items.Count);
        return [.. items];
    }

    // RawClient keeps a bulk reply's payload as Latin-1 text: one char per byte.
    private static byte[] BulkBytes(string reply)
    {
        int header = reply.IndexOf("\r\n", StringComparison.Ordinal);
        int length = int.Parse(reply.AsSpan(1, header - 1));
        return System.Text.Encoding.Latin1.GetBytes(reply.Substring(header + 2, length));
    }
}
