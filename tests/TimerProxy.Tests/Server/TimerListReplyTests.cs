using System.Buffers;
using System.Text;
using RedisTimer.Proxy.Server.Replies;

namespace RedisTimer.Proxy.Tests.Server;

/// <summary>TIMER.LIST's reply as the proxy composes it from the library's rows (msgpack, as cmsgpack.pack writes them).</summary>
public class TimerListReplyTests
{
    private static byte[] Pack(params object[] items)
    {
        var b = new List<byte> { 0xdc, (byte)(items.Length >> 8), (byte)items.Length };
        foreach (var item in items)
        {
            var bytes = item as byte[] ?? Encoding.UTF8.GetBytes((string)item);
            b.Add(0xd9);
            b.Add((byte)bytes.Length);
            b.AddRange(bytes);
        }
        return [.. b];
    }

    private static byte[] Def(string function, string interval, string loop) => Pack(function, interval, loop, "0");

    private static string Write(byte[] rows, bool resp3, out bool written)
    {
        var output = new ArrayBufferWriter<byte>();
        written = TimerListReply.TryWrite(rows, resp3, output);
        return Encoding.UTF8.GetString(output.WrittenSpan);
    }

    private const string Head = "*2\r\n$3\r\n384\r\n*1\r\n";

    [Fact]
    public void A_timer_that_has_not_run_has_nulls_for_its_last_run_in_either_protocol()
    {
        var rows = Pack("384", "1000.250", "job:a", "1500.900", Def("f", "600", "0"), "", "", "", "", "");
        string body = "$2\r\nid\r\n$5\r\njob:a\r\n$8\r\nfunction\r\n$1\r\nf\r\n$8\r\ninterval\r\n:600\r\n$4\r\nloop\r\n{0}" +
            "$9\r\nremaining\r\n:500\r\n$7\r\nruns_ok\r\n:0\r\n$11\r\nruns_failed\r\n:0\r\n$8\r\nlast_run\r\n{1}" +
            "$13\r\nlast_lateness\r\n{1}$10\r\nlast_error\r\n{1}";
        Assert.Equal(Head + "%10\r\n" + string.Format(body, "#f\r\n", "_\r\n"), Write(rows, resp3: true, out bool w3));
        Assert.Equal(Head + "*20\r\n" + string.Format(body, ":0\r\n", "$-1\r\n"), Write(rows, resp3: false, out bool w2));
        Assert.True(w3 && w2);
    }

    [Fact]
    public void A_loop_timer_shows_its_counters_its_last_run_and_error_and_never_a_negative_remaining()
    {
        var rows = Pack("384", "2000", "job:b", "1999.5", Def("g", "50", "1"), "7", "2", "1990", "3", "ERR boom");
        string reply = Write(rows, resp3: true, out bool written);
        Assert.True(written);
        Assert.Contains("$4\r\nloop\r\n#t\r\n$9\r\nremaining\r\n:0\r\n$7\r\nruns_ok\r\n:7\r\n$11\r\nruns_failed\r\n:2\r\n", reply);
        Assert.EndsWith("$8\r\nlast_run\r\n:1990\r\n$13\r\nlast_lateness\r\n:3\r\n$10\r\nlast_error\r\n$8\r\nERR boom\r\n", reply);
    }

    [Fact]
    public void Counters_edited_by_hand_to_something_else_than_a_number_show_as_zero_and_null()
    {
        var rows = Pack("0", "0", "t", "10", Def("f", "10", "0"), "x", "1.5", "abc", "2.5", "");
        string reply = Write(rows, resp3: false, out bool written);
        Assert.True(written);
        Assert.Contains("$7\r\nruns_ok\r\n:0\r\n$11\r\nruns_failed\r\n:2\r\n$8\r\nlast_run\r\n$-1\r\n$13\r\nlast_lateness\r\n:2\r\n", reply);
    }

    [Fact]
    public void An_empty_page_is_the_cursor_and_an_empty_array()
    {
        Assert.Equal("*2\r\n$1\r\n0\r\n*0\r\n", Write(Pack("0", "5"), resp3: true, out bool written));
        Assert.True(written);
    }

    public static TheoryData<byte[]> Malformed => new()
    {
        Pack("0"),                                                                // no time
        Pack("0", "later"),                                                       // time not a number
        Pack("0", "5", "t", "10", Def("f", "10", "0"), "", "", "", ""),           // a value short
        Pack("0", "5", "t", "10", Pack("f", "10"), "", "", "", "", ""),           // def without loop
        Pack("0", "5", "t", "10", Def("f", "1e3", "0"), "", "", "", "", ""),      // interval not an integer
        Pack("0", "5", "t", "soon", Def("f", "10", "0"), "", "", "", "", ""),     // due not a number
        Pack("0", "5", "t", "10", new byte[] { 0xc0 }, "", "", "", "", ""),                    // def not msgpack
        new byte[] { 0xdc, 0x00, 0x05, 0xa1, (byte)'0' },                                 // cut short
        new byte[] { 0x93, 0xc3, 0xc3, 0xc3 },                                            // not strings
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void A_payload_not_from_the_library_writes_nothing(byte[] rows)
    {
        Assert.Equal("", Write(rows, resp3: true, out bool written));
        Assert.False(written);
    }
}
