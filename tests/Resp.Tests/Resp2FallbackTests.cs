using System.Buffers;
using System.Text;
using static RedisTimer.Resp.Tests.Segments;

namespace RedisTimer.Resp.Tests;

/// <summary>A reply composed in RESP3 as Redis sends it to a RESP2 client (networking.c's addReply* fallbacks).</summary>
public class Resp2FallbackTests
{
    private static string? Fallback(string resp3, int splitAt = -1)
    {
        var bytes = Encoding.Latin1.GetBytes(resp3);
        var input = splitAt < 0 ? EveryByte(bytes) : SplitAt(bytes, splitAt);
        var output = new ArrayBufferWriter<byte>();
        return Resp2Fallback.TryWrite(input, output) ? Encoding.Latin1.GetString(output.WrittenSpan) : null;
    }

    [Theory]
    [InlineData("%2\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n#t\r\n", "*4\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n:1\r\n")]
    [InlineData("%0\r\n", "*0\r\n")]
    [InlineData("~2\r\n$1\r\nx\r\n#f\r\n", "*2\r\n$1\r\nx\r\n:0\r\n")]
    [InlineData("_\r\n", "$-1\r\n")]
    [InlineData(",3.25\r\n", "$4\r\n3.25\r\n")]
    [InlineData("$-1\r\n", "$-1\r\n")]
    [InlineData("$4\r\na\r\nb\r\n", "$4\r\na\r\nb\r\n")]   // a bulk string holding CRLF is read by its length
    [InlineData("$0\r\n\r\n", "$0\r\n\r\n")]
    [InlineData("*-1\r\n", "*-1\r\n")]
    [InlineData("+OK\r\n-ERR no\r\n:-5\r\n", "+OK\r\n-ERR no\r\n:-5\r\n")]
    [InlineData("*2\r\n$1\r\n0\r\n*1\r\n%1\r\n$2\r\nid\r\n_\r\n", "*2\r\n$1\r\n0\r\n*1\r\n*2\r\n$2\r\nid\r\n$-1\r\n")]
    public void Writes_the_RESP2_form(string resp3, string resp2)
    {
        Assert.Equal(resp2, Fallback(resp3));
        for (int at = 1; at < resp3.Length; at++) Assert.Equal(resp2, Fallback(resp3, at));
    }

    [Theory]
    [InlineData("", "")]
    [InlineData("%1\r\n", "*2\r\n")]   // a header alone: its elements are for the caller to write
    public void Writes_each_whole_value(string resp3, string resp2) => Assert.Equal(resp2, Fallback(resp3));

    [Theory]
    [InlineData("#x\r\n")]
    [InlineData("#tt\r\n")]
    [InlineData("_x\r\n")]
    [InlineData("$5\r\nabc\r\n")]
    [InlineData("$3\r\nabcd\r\n")]
    [InlineData("$x\r\n")]
    [InlineData("%-1\r\n")]
    [InlineData("*x\r\n")]
    [InlineData("=5\r\ntxt:a\r\n")]
    [InlineData(":1")]
    [InlineData("?\r\n")]
    public void Refuses_what_it_cannot_read(string resp3) => Assert.Null(Fallback(resp3));
}
