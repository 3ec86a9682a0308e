using System.Buffers;
using static RedisTimer.Resp.Tests.Segments;

namespace RedisTimer.Resp.Tests;

public class RespWriterTests
{
    private static string Written(Action<IBufferWriter<byte>> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        write(buffer);
        var bytes = buffer.WrittenSpan.ToArray();

        // Whatever the writer emits must be exactly one reply frame, or a header the caller completes.
        var status = RespFrameScanner.TryScanFrame(Single(bytes), out var frame);
        Assert.NotEqual(RespFrameStatus.Invalid, status);
        if (status == RespFrameStatus.Complete) Assert.Equal(bytes.Length, frame.Length);
        return System.Text.Encoding.Latin1.GetString(bytes);
    }

    [Theory]
    [InlineData("OK", "+OK\r\n")]
    [InlineData("", "+\r\n")]
    [InlineData("a\r\nb", "+a  b\r\n")]   // Redis maps CR and LF to spaces (addReplyStatusFormat)
    public void Simple_string(string value, string expected)
        => Assert.Equal(expected, Written(w => RespWriter.WriteSimpleString(w, Bytes(value))));

    [Theory]
    [InlineData("ERR unknown command", "-ERR unknown command\r\n")]
    [InlineData("ERR line1\nline2\r", "-ERR line1 line2 \r\n")]
    public void Error(string message, string expected)
        => Assert.Equal(expected, Written(w => RespWriter.WriteError(w, Bytes(message))));

    [Theory]
    [InlineData(0L, ":0\r\n")]
    [InlineData(7L, ":7\r\n")]
    [InlineData(-1L, ":-1\r\n")]
    [InlineData(1234567890123L, ":1234567890123\r\n")]
    [InlineData(long.MaxValue, ":9223372036854775807\r\n")]
    [InlineData(long.MinValue, ":-9223372036854775808\r\n")]
    public void Integer(long value, string expected)
        => Assert.Equal(expected, Written(w => RespWriter.WriteInteger(w, value)));

    [Theory]
    [InlineData("", "$0\r\n\r\n")]
    [InlineData("hello", "$5\r\nhello\r\n")]
    [InlineData("a\r\nb", "$4\r\na\r\nb\r\n")]   // a bulk string carries CRLF unchanged
    [InlineData("\0\xFF", "$2\r\n\0\xFF\r\n")]
    public void Bulk_string(string value, string expected)
    {
        Assert.Equal(expected, Written(w => RespWriter.WriteBulkString(w, Bytes(value))));
        Assert.Equal(expected, Written(w => RespWriter.WriteBulkString(w, EveryByte(Bytes(value)))));
    }

    [Fact]
    public void Large_bulk_string_is_written_through_small_spans()
    {
        // A writer that never offers more than 100 bytes at once, as a pipe's segments may.
        var payload = new byte[10_000];
        new Random(42).NextBytes(payload);
        var writer = new SmallSpanWriter(100);
        RespWriter.WriteBulkString(writer, payload);

        byte[] expected = [.. Bytes("$10000\r\n"), .. payload, .. Bytes("\r\n")];
        Assert.Equal(expected, writer.Written.ToArray());
    }

    [Theory]
    [InlineData(true, "_\r\n")]
    [InlineData(false, "$-1\r\n")]
    public void Null(bool resp3, string expected)
        => Assert.Equal(expected, Written(w => RespWriter.WriteNull(w, resp3)));

    [Fact]
    public void Null_array() => Assert.Equal("*-1\r\n", Written(RespWriter.WriteNullArray));

    [Theory]
    [InlineData(0, "*0\r\n")]
    [InlineData(3, "*3\r\n")]
    [InlineData(int.MaxValue, "*2147483647\r\n")]
    public void Array_header(int count, string expected)
        => Assert.Equal(expected, Written(w => RespWriter.WriteArrayHeader(w, count)));

    [Theory]
    [InlineData(2, true, "%2\r\n")]
    [InlineData(0, true, "%0\r\n")]
    [InlineData(2, false, "*4\r\n")]   // RESP2 flattens a map, as addReplyMapLen
    [InlineData(int.MaxValue, false, "*4294967294\r\n")]
    public void Map_header(int count, bool resp3, string expected)
        => Assert.Equal(expected, Written(w => RespWriter.WriteMapHeader(w, count, resp3)));

    [Theory]
    [InlineData(true, true, "#t\r\n")]
    [InlineData(false, true, "#f\r\n")]
    [InlineData(true, false, ":1\r\n")]   // RESP2 has no boolean: addReplyBool sends an integer
    [InlineData(false, false, ":0\r\n")]
    public void Boolean(bool value, bool resp3, string expected)
        => Assert.Equal(expected, Written(w => RespWriter.WriteBoolean(w, value, resp3)));

    [Fact]
    public void Negative_counts_are_refused()
    {
        var writer = new ArrayBufferWriter<byte>();
        Assert.Throws<ArgumentOutOfRangeException>(() => RespWriter.WriteArrayHeader(writer, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => RespWriter.WriteMapHeader(writer, -1, true));
        Assert.Equal(0, writer.WrittenCount);
    }

    [Fact]
    public void A_composed_reply_is_one_frame()
    {
        var buffer = new ArrayBufferWriter<byte>();
        RespWriter.WriteMapHeader(buffer, 2, resp3: true);
        RespWriter.WriteBulkString(buffer, "function"u8);
        RespWriter.WriteBulkString(buffer, "myfunc"u8);
        RespWriter.WriteBulkString(buffer, "loop"u8);
        RespWriter.WriteBoolean(buffer, true, resp3: true);

        const string expected = "%2\r\n$8\r\nfunction\r\n$6\r\nmyfunc\r\n$4\r\nloop\r\n#t\r\n";
        Assert.Equal(Bytes(expected), buffer.WrittenSpan.ToArray());
        Assert.Equal(RespFrameStatus.Complete, RespFrameScanner.TryScanFrame(Single(Bytes(expected)), out var frame));
        Assert.Equal(expected.Length, frame.Length);
    }

    [Fact]
    public void Writing_does_not_allocate()
    {
        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        void Run()
        {
            for (int i = 0; i < 100; i++)
            {
                buffer.ResetWrittenCount();
                RespWriter.WriteArrayHeader(buffer, 7);
                RespWriter.WriteSimpleString(buffer, "OK"u8);
                RespWriter.WriteError(buffer, "ERR x"u8);
                RespWriter.WriteInteger(buffer, -123456789);
                RespWriter.WriteBulkString(buffer, "value"u8);
                RespWriter.WriteNull(buffer, resp3: false);
                RespWriter.WriteMapHeader(buffer, 0, resp3: true);
                RespWriter.WriteBoolean(buffer, true, resp3: true);
            }
        }
        Assert.Equal(0, AllocationMeter.FewestBytes(Run));
        Assert.Equal("*7\r\n+OK\r\n-ERR x\r\n:-123456789\r\n$5\r\nvalue\r\n$-1\r\n%0\r\n#t\r\n",
            System.Text.Encoding.Latin1.GetString(buffer.WrittenSpan));
    }

    private sealed class SmallSpanWriter(int maxSpan) : IBufferWriter<byte>
    {
        private readonly ArrayBufferWriter<byte> _inner = new();

        public ReadOnlySpan<byte> Written => _inner.WrittenSpan;

        public void Advance(int count)
        {
            Assert.InRange(count, 0, maxSpan);
            _inner.Advance(count);
        }

        // At most maxSpan bytes, unless the caller asks for more (a size hint must be honoured).
        public Memory<byte> GetMemory(int sizeHint = 0) => _inner.GetMemory(Math.Max(sizeHint, maxSpan))[..Math.Max(sizeHint, maxSpan)];

        public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;
    }
}
