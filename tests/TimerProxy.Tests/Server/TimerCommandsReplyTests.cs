using System.Buffers;
using System.Text;
using RedisTimer.Proxy.Server.Replies;

namespace RedisTimer.Proxy.Tests.Server;

/// <summary>Redis's COMMAND INFO / DOCS reply with the TIMER.* entries added, and left alone when it is not what was asked.</summary>
public class TimerCommandsReplyTests
{
    private static byte[][] Names(params string[] names) => [.. names.Select(Encoding.ASCII.GetBytes)];

    private static string Write(string reply, bool docs, out bool written, params string[] names)
    {
        var output = new ArrayBufferWriter<byte>();
        written = TimerCommandsReply.TryWrite(new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(reply)), Names(names), docs, output);
        return Encoding.ASCII.GetString(output.WrittenSpan);
    }

    [Theory]
    [InlineData("-ERR unknown subcommand\r\n", false)]    // an error
    [InlineData("*1\r\n$-1\r\n", false)]                   // fewer elements than names
    [InlineData("*2\r\n$-1\r\n$-1\r\n:1\r\n", false)]      // more than one reply
    [InlineData("%1\r\n$3\r\nget\r\n", true)]              // a doc cut short
    [InlineData("*3\r\n$3\r\nget\r\n%0\r\n", true)]        // an odd flat map
    public void A_reply_that_is_not_the_answer_to_these_names_writes_nothing(string reply, bool docs)
    {
        Assert.Equal("", Write(reply, docs, out bool written, "get", "timer.new"));
        Assert.False(written);
    }

    [Fact]
    public void A_timer_name_that_redis_answered_itself_keeps_redis_answer()
    {
        // Only a null takes a timer entry: whatever Redis answered itself stays.
        string reply = Write("*1\r\n*1\r\n:7\r\n", docs: false, out bool written, "timer.new");
        Assert.True(written);
        Assert.Equal("*1\r\n*1\r\n:7\r\n", reply);
    }

    [Fact]
    public void Docs_keep_redis_entries_in_order_around_unknown_names_and_add_the_timer_ones_where_asked()
    {
        string reply = Write("%2\r\n$3\r\nget\r\n%0\r\n$4\r\necho\r\n%0\r\n", docs: true, out bool written, "GET", "x", "timer.kill", "ECHO");
        Assert.True(written);
        Assert.StartsWith("%3\r\n$3\r\nget\r\n%0\r\n$10\r\ntimer.kill\r\n%4\r\n", reply);
        Assert.EndsWith("$4\r\necho\r\n%0\r\n", reply);
    }
}
