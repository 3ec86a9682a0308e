using System.Buffers;
using System.Text;
using static RedisTimer.Resp.Tests.Segments;

namespace RedisTimer.Resp.Tests;

/// <summary>
/// Byte-level cases for <see cref="RequestScanner"/>. Each run is recorded as a list of events with the absolute
/// position of the reader, driven the way ClientSession.ForwardFrames drives the scanner: a NeedMoreData before
/// the frame's name is known rewinds to the frame's start (Reset), any other resumes from the reader's position.
/// The outcomes were checked against redis-server 7.0 where Redis shows them on the wire.
/// </summary>
public class RequestScannerTests
{
    private const int K64 = 64 * 1024;

    // Complete (or, at the end, partial) request streams and the events they must produce.
    public static TheoryData<string, string[]> ValidRequests => new()
    {
        { "*1\r\n$4\r\nPING\r\n", [Name("PING", 1, 14), End(1, 14), Need(14)] },
        { "*1\r\n$4\r\nping\r\n", [Name("ping", 1, 14), End(1, 14), Need(14)] },   // the name as sent
        { "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n", [Name("GET", 2, 13), End(2, 22), Need(22)] },
        { "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n", [Name("SET", 3, 13), End(3, 31), Need(31)] },
        { "*5\r\n$4\r\nMSET\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n", [Name("MSET", 5, 14), End(5, 42), Need(42)] },
        { "*2\r\n$4\r\nECHO\r\n$12\r\nhello world!\r\n", [Name("ECHO", 2, 14), End(2, 33), Need(33)] },
        { "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", [Name("ECHO", 2, 14), End(2, 20), Need(20)] },   // empty bulk
        { "*1\r\n$0\r\n\r\n", [Name("", 1, 10), End(1, 10), Need(10)] },                    // empty name
        { "*2\r\n$4\r\nECHO\r\n$4\r\n\0\r\n\xFF\r\n", [Name("ECHO", 2, 14), End(2, 24), Need(24)] }, // payload is data
        { "*2\r\n$4\r\nECHO\r\n$3\r\na\0b\r\n", [Name("ECHO", 2, 14), End(2, 23), Need(23)] },
        // Redis skips the two bytes after a payload, and the byte after a header's CR, without looking at them.
        { "*1\r\n$4\r\nPINGxx", [Name("PING", 1, 14), End(1, 14), Need(14)] },
        { "*1\rx$4\rxPING\r\n", [Name("PING", 1, 14), End(1, 14), Need(14)] },
        { "*1\r\0$4\r\0PING\0\0", [Name("PING", 1, 14), End(1, 14), Need(14)] },
        // Redis treats *0 and negative counts as an empty request: nothing runs.
        { "*0\r\n", [End(0, 4), Need(4)] },
        { "*-1\r\n", [End(0, 5), Need(5)] },
        { "*-5\r\n", [End(0, 5), Need(5)] },
        // Names: up to 64 bytes are copied, longer ones are reported empty as soon as their header is read.
        { $"*1\r\n$64\r\n{new string('A', 64)}\r\n", [Name(new string('A', 64), 1, 75), End(1, 75), Need(75)] },
        { $"*1\r\n$65\r\n{new string('A', 65)}\r\n", [Name("", 1, 9), End(1, 76), Need(76)] },
        { $"*2\r\n$100\r\n{new string('x', 100)}\r\n$1\r\nv\r\n", [Name("", 2, 10), End(2, 119), Need(119)] },
        // Inline commands.
        { "PING\r\n", [Inline(["PING"], 6), End(1, 6), Need(6)] },
        { "PING\n", [Inline(["PING"], 5), End(1, 5), Need(5)] },
        { "PING\r\r\n", [Inline(["PING"], 7), End(1, 7), Need(7)] },   // one CR is stripped, the other ends a token
        { "  get   k \r\n", [Inline(["get", "k"], 12), End(2, 12), Need(12)] },
        { "SET k \"a b\"\r\n", [Inline(["SET", "k", "a b"], 13), End(3, 13), Need(13)] },
        { "ECHO 'it\\'s'\r\n", [Inline(["ECHO", "it's"], 14), End(2, 14), Need(14)] },
        { "ECHO \"\\x41\\n\"\r\n", [Inline(["ECHO", "A\n"], 15), End(2, 15), Need(15)] },
        { "ECHO \"\"\r\n", [Inline(["ECHO", ""], 9), End(2, 9), Need(9)] },
        { "\"\"\r\n", [Inline([""], 4), End(1, 4), Need(4)] },
        { $"{new string('A', 65)}\r\n", [Inline([new string('A', 65)], 67, name: ""), End(1, 67), Need(67)] },
        // Redis ignores empty and blank lines.
        { "\r\n", [End(0, 2), Need(2)] },
        { "\n", [End(0, 1), Need(1)] },
        { "   \t\r\n", [End(0, 6), Need(6)] },
        // Pipelines.
        {
            "*1\r\n$4\r\nPING\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$0\r\n\r\n*0\r\n\r\n*1\r\n$4\r\nQUIT\r\n",
            [
                Name("PING", 1, 14), End(1, 14),
                Inline(["PING"], 20), End(1, 20),
                Name("ECHO", 2, 34), End(2, 40),
                End(0, 44),
                End(0, 46),
                Name("QUIT", 1, 60), End(1, 60),
                Need(60),
            ]
        },
        { "PING\r\nPING\r\nPING\r\n", [Inline(["PING"], 6), End(1, 6), Inline(["PING"], 12), End(1, 12), Inline(["PING"], 18), End(1, 18), Need(18)] },
        // A stream ending inside a frame: a frame with its name streams on, one without waits whole.
        { "*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$3\r\nk", [Name("PING", 1, 14), End(1, 14), Name("GET", 2, 27), Need(32)] },
        { "*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$3\r\n", [Name("PING", 1, 14), End(1, 14), Name("GET", 2, 27), Need(31)] },
        { "*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$3", [Name("PING", 1, 14), End(1, 14), Name("GET", 2, 27), Need(27)] },
        { "*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGE", [Name("PING", 1, 14), End(1, 14), Need(14)] },
        { "*1\r\n$4\r\nPING\r\n*2\r", [Name("PING", 1, 14), End(1, 14), Need(14)] },
        { "PING\r\nECH", [Inline(["PING"], 6), End(1, 6), Need(6)] },
        { "PING\r", [Need(0)] },
        { "*1\r\n$4\r", [Need(0)] },
        { "*1\r\n$4\r\nPING\r", [Need(0)] },
        { "*1\r\n$536870912\r\n", [Name("", 1, 16), Need(16)] },   // exactly proto-max-bulk-len: waits for data
        { "*2\r\n$3\r\nSET\r\n$536870912\r\nabc", [Name("SET", 2, 13), Need(28)] },
        { "*2147483647\r\n$4\r\nPING\r\n", [Name("PING", 2147483647, 23), Need(23)] },
        // A NUL hides the CR or LF behind it (Redis's strchr on a C string): Redis waits.
        { "*1\0\r\n$4\r\nPING\r\n", [Need(0)] },
        { "*1\r\n$4\0\r\nPING\r\n", [Need(0)] },
        { "PING\0\r\nPING\r\n", [Need(0)] },
        { "\0PING\r\n", [Need(0)] },
        { "*1\r\n$4\r\nPING\r\n\0\r\n", [Name("PING", 1, 14), End(1, 14), Need(14)] },
    };

    // Streams too large to list literally, built by name.
    public static TheoryData<string> LargeRequests => new()
    {
        "set 100000-byte value", "70000-byte name then inline", "200 frames", "empty frames",
    };

    private static (byte[] Data, string[] Events) Large(string name)
    {
        switch (name)
        {
            case "set 100000-byte value":
            {
                var data = Concat("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100000\r\n", Fill('v', 100_000), "\r\n");
                return (data, [Name("SET", 3, 13), End(3, 100_031), Need(100_031)]);
            }
            case "70000-byte name then inline":
            {
                var data = Concat("*1\r\n$70000\r\n", Fill('n', 70_000), "\r\nPING\r\n");
                return (data, [Name("", 1, 12), End(1, 70_014), Inline(["PING"], 70_020), End(1, 70_020), Need(70_020)]);
            }
            case "200 frames":
            {
                var bytes = new List<byte>();
                var events = new List<string>();
                for (int i = 0; i < 200; i++)
                {
                    string value = new('x', i * 7);
                    if (i % 3 == 2)
                    {
                        bytes.AddRange(Bytes($"ECHO {(value.Length == 0 ? "\"\"" : value)}\r\n"));
                        events.Add(Inline(["ECHO", value], bytes.Count));
                        events.Add(End(2, bytes.Count));
                    }
                    else
                    {
                        bytes.AddRange(Bytes($"*2\r\n$4\r\nECHO\r\n${value.Length}\r\n"));
                        long nameAt = bytes.Count - value.Length.ToString().Length - 3; // before "$<len>\r\n"
                        bytes.AddRange(Bytes(value + "\r\n"));
                        events.Add(Name("ECHO", 2, nameAt));
                        events.Add(End(2, bytes.Count));
                    }
                }
                events.Add(Need(bytes.Count));
                return (bytes.ToArray(), events.ToArray());
            }
            case "empty frames":
            {
                var bytes = new List<byte>();
                var events = new List<string>();
                for (int i = 0; i < 300; i++)
                {
                    bytes.AddRange(Bytes((i % 3) switch { 0 => "*0\r\n", 1 => "\r\n", _ => "*-1\r\n" }));
                    events.Add(End(0, bytes.Count));
                }
                events.Add(Need(bytes.Count));
                return (bytes.ToArray(), events.ToArray());
            }
            default: throw new ArgumentOutOfRangeException(nameof(name));
        }
    }

    // Malformed streams: the events before the error, the error, and where the malformed frame starts.
    public static TheoryData<string, string[], int> MalformedRequests => new()
    {
        { "*x\r\n", [Error(ProtocolError.InvalidMultibulkLength)], 0 },
        // Around the longest count read without the general integer parser (18 digits): above the limits either way.
        { "*100000000000000000\r\n", [Error(ProtocolError.InvalidMultibulkLength)], 0 },
        { "*1000000000000000000\r\n", [Error(ProtocolError.InvalidMultibulkLength)], 0 },
        { "*9223372036854775808\r\n", [Error(ProtocolError.InvalidMultibulkLength)], 0 },
        { "*1\r\n$999999999999999999\r\n", [Error(ProtocolError.InvalidBulkLength)], 0 },
        { "*1\r\n$9999999999999999999\r\n", [Error(ProtocolError.InvalidBulkLength)], 0 },
        { "*1\r\n$99999999999999999999\r\n", [Error(ProtocolError.InvalidBulkLength)], 0 },
        { "*1\r\n$1x\r\n", [Error(ProtocolError.InvalidBulkLength)], 0 },
        { "*\r\n", [Error(ProtocolError.InvalidMultibulkLength)], 0 },
        { "*-0\r\n", [Error(ProtocolError.InvalidMultibulkLength)], 0 },
        { "*01\r\n", [Error(ProtocolError.InvalidMultibulkLength)], 0 },
        { "*+1\r\n", [Error(ProtocolError.InvalidMultibulkLength)], 0 },
        { "*1 \r\n", [Error(ProtocolError.InvalidMultibulkLength)], 0 },
        { "*2147483648\r\n", [Error(ProtocolError.InvalidMultibulkLength)], 0 },            // above INT_MAX
        { "*99999999999999999999999\r\n", [Error(ProtocolError.InvalidMultibulkLength)], 0 },
        { "*1\r\n$x\r\n", [Error(ProtocolError.InvalidBulkLength)], 0 },
        { "*1\r\n$-1\r\n", [Error(ProtocolError.InvalidBulkLength)], 0 },
        { "*1\r\n$\r\n", [Error(ProtocolError.InvalidBulkLength)], 0 },
        { "*1\r\n$01\r\n", [Error(ProtocolError.InvalidBulkLength)], 0 },
        { "*1\r\n$-0\r\n", [Error(ProtocolError.InvalidBulkLength)], 0 },
        { "*1\r\n$+1\r\n", [Error(ProtocolError.InvalidBulkLength)], 0 },
        { "*1\r\n$1 \r\n", [Error(ProtocolError.InvalidBulkLength)], 0 },
        // Above proto-max-bulk-len: refused at the header, before any payload is waited for.
        { "*1\r\n$536870913\r\n", [Error(ProtocolError.InvalidBulkLength)], 0 },
        { "*1\r\n$2147483647\r\n", [Error(ProtocolError.InvalidBulkLength)], 0 },
        { "*2\r\n$3\r\nSET\r\n$536870913\r\n", [Name("SET", 2, 13), Error(ProtocolError.InvalidBulkLength)], 0 },
        { "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$-1\r\n", [Name("SET", 3, 13), Error(ProtocolError.InvalidBulkLength)], 0 },
        { "*1\r\n:1\r\n", [Error(ProtocolError.ExpectedDollar, (byte)':')], 0 },
        { "*1\r\n*1\r\n", [Error(ProtocolError.ExpectedDollar, (byte)'*')], 0 },
        { "*2\r\n$3\r\nGET\r\n:1\r\n", [Name("GET", 2, 13), Error(ProtocolError.ExpectedDollar, (byte)':')], 0 },
        { "\"abc\r\n", [Error(ProtocolError.UnbalancedQuotes)], 0 },
        { "\"a\"b\r\n", [Error(ProtocolError.UnbalancedQuotes)], 0 },
        { "SET k 'v\r\n", [Error(ProtocolError.UnbalancedQuotes)], 0 },
        // What came before the malformed frame is complete and reported.
        { "PING\r\n*x\r\n", [Inline(["PING"], 6), End(1, 6), Error(ProtocolError.InvalidMultibulkLength)], 6 },
        { "*1\r\n$4\r\nPING\r\n\"x\n", [Name("PING", 1, 14), End(1, 14), Error(ProtocolError.UnbalancedQuotes)], 14 },
        { "*0\r\n*1\r\n$4\r\nPING\r\n*1\r\n$-1\r\n", [End(0, 4), Name("PING", 1, 18), End(1, 18), Error(ProtocolError.InvalidBulkLength)], 18 },
    };

    // Streams that hit the 64 KiB line limits, built by name: the events and where the malformed frame starts.
    public static TheoryData<string> OversizedRequests => new()
    {
        "mbulk count 64K+1", "bulk count 64K+1", "bulk count 64K+1 after name", "inline 64K+1",
        "mbulk count NUL 64K+1", "bulk count NUL 64K+1", "inline NUL 64K+1",
        "mbulk count 64K", "bulk count 64K", "inline 64K", "inline NUL 64K",
    };

    private static (byte[] Data, string[] Events, int FrameStart) Oversized(string name) => name switch
    {
        // Redis errs once more than 64 KiB lie unread without a CR (or LF, inline) before a NUL or the end.
        "mbulk count 64K+1" => (Concat("*", Fill('1', K64)), [Error(ProtocolError.TooBigMultibulkCountString)], 0),
        "bulk count 64K+1" => (Concat("*1\r\n$", Fill('1', K64)), [Error(ProtocolError.TooBigBulkCountString)], 0),
        "bulk count 64K+1 after name" => (Concat("*2\r\n$3\r\nSET\r\n$", Fill('1', K64)), [Name("SET", 2, 13), Error(ProtocolError.TooBigBulkCountString)], 0),
        "inline 64K+1" => (Fill('a', K64 + 1), [Error(ProtocolError.TooBigInlineRequest)], 0),
        "mbulk count NUL 64K+1" => (Concat("*1\0\r\n", Fill('1', K64 - 4)), [Error(ProtocolError.TooBigMultibulkCountString)], 0),
        "bulk count NUL 64K+1" => (Concat("*1\r\n$1\0\r\n", Fill('1', K64 - 3)), [Error(ProtocolError.TooBigBulkCountString)], 0),
        "inline NUL 64K+1" => (Concat("PING\0\r\n", Fill('a', K64 - 6)), [Error(ProtocolError.TooBigInlineRequest)], 0),
        // Exactly 64 KiB is still waited on.
        "mbulk count 64K" => (Concat("*", Fill('1', K64 - 1)), [Need(0)], -1),
        "bulk count 64K" => (Concat("*1\r\n$", Fill('1', K64 - 1)), [Need(0)], -1),
        "inline 64K" => (Fill('a', K64), [Need(0)], -1),
        "inline NUL 64K" => (Concat("PING\0\r\n", Fill('a', K64 - 7)), [Need(0)], -1),
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    // ---- valid streams ----

    [Theory]
    [MemberData(nameof(ValidRequests))]
    public void Reports_names_and_ends_in_one_segment(string text, string[] expected)
    {
        Assert.Equal(expected, ScanWhole(Single(Bytes(text))));
    }

    [Theory]
    [MemberData(nameof(ValidRequests))]
    public void Reports_the_same_when_split_into_segments_at_every_position(string text, string[] expected)
    {
        var data = Bytes(text);
        for (int i = 0; i <= data.Length; i++)
        {
            Assert.True(expected.SequenceEqual(ScanWhole(SplitAt(data, i))), $"split at {i}");
            for (int j = i; j <= data.Length; j++)
                Assert.True(expected.SequenceEqual(ScanWhole(SplitAt(data, i, j))), $"split at {i},{j}");
        }
        Assert.Equal(expected, ScanWhole(EveryByte(data)));
    }

    [Theory]
    [MemberData(nameof(ValidRequests))]
    public void Reports_the_same_when_fed_in_two_parts_split_at_every_position(string text, string[] expected)
    {
        var data = Bytes(text);
        for (int i = 0; i <= data.Length; i++)
            Assert.True(expected.SequenceEqual(ScanArriving(data, [i])), $"arrived in parts at {i}: {string.Join(" ", ScanArriving(data, [i]))}");
    }

    [Theory]
    [MemberData(nameof(ValidRequests))]
    public void Reports_the_same_when_fed_one_byte_at_a_time(string text, string[] expected)
    {
        var data = Bytes(text);
        Assert.Equal(expected, ScanArriving(data, Enumerable.Range(0, data.Length)));
    }

    [Theory]
    [MemberData(nameof(LargeRequests))]
    public void Large_streams_report_the_same_whole_split_and_fed_in_parts(string name)
    {
        var (data, expected) = Large(name);
        Assert.Equal(expected, ScanWhole(Single(data)));
        foreach (int i in SomeCuts(data.Length))
        {
            Assert.True(expected.SequenceEqual(ScanWhole(SplitAt(data, i))), $"split at {i}");
            Assert.True(expected.SequenceEqual(ScanArriving(data, [i])), $"arrived in parts at {i}");
        }
        Assert.Equal(expected, ScanArriving(data, Enumerable.Range(0, data.Length / 1013).Select(i => i * 1013)));
        Assert.Equal(expected, ScanArriving(data, Enumerable.Range(0, 400)));
    }

    [Fact]
    public void Large_value_passes_through_without_waiting_for_it_whole()
    {
        var data = Concat("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100000\r\n", Fill('v', 100_000), "\r\n");
        var scanner = new RequestScanner();
        var events = new List<string>();

        Assert.True(Forward(scanner, Single(data[..50_000]), 0, events, out long consumed, out _));
        Assert.Equal([Name("SET", 3, 13)], events);
        Assert.Equal(50_000, consumed);  // the payload so far is released, not held back
        Assert.False(scanner.AtFrameStart);

        Assert.True(Forward(scanner, Single(data[50_000..]), 50_000, events, out consumed, out _));
        Assert.Equal([Name("SET", 3, 13), End(3, data.Length)], events);
        Assert.Equal(data.Length - 50_000, consumed);
        Assert.True(scanner.AtFrameStart);
    }

    [Fact]
    public void Name_argument_count_and_inline_arguments_are_exposed()
    {
        var scanner = new RequestScanner();
        var reader = new SequenceReader<byte>(Single(Bytes("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\nset k \"v w\"\r\n")));

        Assert.Equal(RequestEvent.Name, scanner.Next(ref reader));
        Assert.True(scanner.NameKnown);
        Assert.False(scanner.AtFrameStart);
        Assert.Equal("SET"u8.ToArray(), scanner.Name.ToArray());
        Assert.Equal(3, scanner.ArgumentCount);
        Assert.Null(scanner.InlineArguments);
        Assert.Equal(RequestEvent.End, scanner.Next(ref reader));
        Assert.True(scanner.AtFrameStart);

        Assert.Equal(RequestEvent.Name, scanner.Next(ref reader));
        Assert.Equal("set"u8.ToArray(), scanner.Name.ToArray());
        Assert.Equal(3, scanner.ArgumentCount);
        Assert.NotNull(scanner.InlineArguments);
        Assert.Equal(["set", "k", "v w"], scanner.InlineArguments.Select(Latin1).ToArray());
        Assert.Equal(RequestEvent.End, scanner.Next(ref reader));
        Assert.Equal(RequestEvent.NeedMoreData, scanner.Next(ref reader));
        Assert.True(reader.End);
    }

    // ---- malformed streams ----

    [Theory]
    [MemberData(nameof(MalformedRequests))]
    public void Reports_protocol_errors_in_Redis_words(string text, string[] expected, int frameStart)
    {
        Assert.Equal(expected, ScanWhole(Single(Bytes(text)), errorFrameStart: frameStart));
    }

    [Theory]
    [MemberData(nameof(MalformedRequests))]
    public void Reports_the_same_error_split_or_fed_in_parts(string text, string[] expected, int frameStart)
    {
        _ = frameStart;
        var data = Bytes(text);
        for (int i = 0; i <= data.Length; i++)
        {
            Assert.True(expected.SequenceEqual(ScanWhole(SplitAt(data, i))), $"split at {i}");
            Assert.True(expected.SequenceEqual(ScanArriving(data, [i])), $"arrived in parts at {i}");
        }
        Assert.Equal(expected, ScanWhole(EveryByte(data)));
        Assert.Equal(expected, ScanArriving(data, Enumerable.Range(0, data.Length)));
    }

    [Theory]
    [MemberData(nameof(OversizedRequests))]
    public void Enforces_the_64KiB_line_limits(string name)
    {
        var (data, expected, frameStart) = Oversized(name);
        Assert.Equal(expected, ScanWhole(Single(data), errorFrameStart: frameStart));
        foreach (int i in SomeCuts(data.Length))
        {
            Assert.True(expected.SequenceEqual(ScanWhole(SplitAt(data, i))), $"split at {i}");
            Assert.True(expected.SequenceEqual(ScanArriving(data, [i])), $"arrived in parts at {i}");
        }
        Assert.Equal(expected, ScanArriving(data, Enumerable.Range(0, data.Length / 4096).Select(i => i * 4096)));
    }

    [Theory]
    [InlineData("*x\r\n", 0, false)]
    [InlineData("*2147483648\r\n", 0, false)]                       // refused by the limit after the line was read
    [InlineData("\"abc\r\n", 0, false)]
    [InlineData("PING\r\n*-\r\n", 6, false)]
    [InlineData("*1\r\n$-1\r\n", 4, true)]
    [InlineData("*1\r\n:1\r\n", 4, true)]
    [InlineData("*2\r\n$3\r\nSET\r\n$536870913\r\n", 13, true)]
    [InlineData("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$x\r\n", 20, true)]
    public void An_error_leaves_the_reader_at_the_malformed_line(string text, int at, bool bulkHeader)
    {
        // What a proxy forwards before making Redis refuse the same line itself (ClientSession).
        var scanner = new RequestScanner();
        var reader = new SequenceReader<byte>(EveryByte(Bytes(text)));
        RequestEvent e;
        while ((e = scanner.Next(ref reader)) is RequestEvent.Name or RequestEvent.End) { }

        Assert.Equal(RequestEvent.Error, e);
        Assert.Equal(at, reader.Consumed);
        Assert.Equal(bulkHeader, RequestScanner.IsBulkHeaderError(scanner.Error));
    }

    [Fact]
    public void A_CR_as_type_byte_is_expected_dollar_got_CR()
    {
        // Redis replies "expected '$', got ' '": its reply writer turns CR/LF into spaces.
        var scanner = new RequestScanner();
        var reader = new SequenceReader<byte>(Single(Bytes("*1\r\n\r\n")));

        Assert.Equal(RequestEvent.Error, scanner.Next(ref reader));
        Assert.Equal(ProtocolError.ExpectedDollar, scanner.Error);
        Assert.Equal((byte)'\r', scanner.ErrorByte);
    }

    [Theory]
    [InlineData("*", ProtocolError.InvalidMultibulkLength)]
    [InlineData("*1\r\n$", ProtocolError.InvalidBulkLength)]
    public void A_count_line_over_64KiB_whose_CR_has_arrived_waits_for_the_LF(string prefix, ProtocolError onceComplete)
    {
        // Redis only checks the 64 KiB limit when strchr finds no CR; with a CR but no LF yet it waits,
        // and the overlong number is then refused by string2ll.
        var line = Concat(prefix, Fill('1', 70_000), "\r");
        Assert.Equal([Need(0)], ScanWhole(Single(line)));
        Assert.Equal([Error(onceComplete)], ScanWhole(Single(Concat(line, "\n")), errorFrameStart: 0));
    }

    [Fact]
    public void An_inline_line_over_64KiB_whose_LF_has_arrived_is_a_command()
    {
        var data = Concat("ECHO ", Fill('a', 70_000), "\r\n");
        string[] expected = [Inline(["ECHO", new string('a', 70_000)], data.Length), End(2, data.Length), Need(data.Length)];
        Assert.Equal(expected, ScanWhole(Single(data)));
    }

    // ---- limits ----

    [Fact]
    public void A_bulk_header_above_the_limit_is_refused_before_its_payload()
    {
        var scanner = new RequestScanner();
        var reader = new SequenceReader<byte>(Single(Bytes("*2\r\n$3\r\nSET\r\n$536870913\r\n")));

        Assert.Equal(RequestEvent.Name, scanner.Next(ref reader));
        Assert.Equal(RequestEvent.Error, scanner.Next(ref reader));
        Assert.Equal(ProtocolError.InvalidBulkLength, scanner.Error);
        Assert.Equal("ERR Protocol error: invalid bulk length", ProtocolErrors.Message(scanner.Error));
    }

    [Theory]
    [InlineData("*2\r\n$4\r\nECHO\r\n$10\r\n", 10, 0, 0, false)]
    [InlineData("*2\r\n$4\r\nECHO\r\n$11\r\n", 10, 0, 0, true)]
    [InlineData("*3\r\n", 0, 3, 0, false)]
    [InlineData("*4\r\n", 0, 3, 0, true)]
    [InlineData("PINGPING", 0, 0, 8, false)]
    [InlineData("PINGPINGP", 0, 0, 8, true)]
    [InlineData("*1111111", 0, 0, 8, false)]
    [InlineData("*11111111", 0, 0, 8, true)]
    public void Configured_limits_are_applied(string text, long maxBulk, long maxMultibulk, int maxInline, bool fails)
    {
        var limits = RespLimits.Default with
        {
            MaxBulkLength = maxBulk > 0 ? maxBulk : RespLimits.Default.MaxBulkLength,
            MaxMultibulkLength = maxMultibulk > 0 ? maxMultibulk : RespLimits.Default.MaxMultibulkLength,
            MaxInlineLength = maxInline > 0 ? maxInline : RespLimits.Default.MaxInlineLength,
        };
        var events = ScanWhole(Single(Bytes(text)), limits);
        Assert.Equal(fails, events[^1].StartsWith("Error ", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("*1\r\n$2147483647\r\n", "", 17)]
    [InlineData("*2\r\n$3\r\nSET\r\n$2147483647\r\n", "SET", 26)]
    [InlineData("*1\r\n$9223372036854775807\r\n", "", 26)]
    [InlineData("*2\r\n$3\r\nSET\r\n$9223372036854775805\r\n", "SET", 35)]
    [InlineData("*2\r\n$3\r\nSET\r\n$9223372036854775807\r\n", "SET", 35)]
    public void A_huge_bulk_under_a_raised_limit_needs_more_data(string header, string name, int headerEnd)
    {
        var limits = new RespLimits { MaxBulkLength = long.MaxValue, MaxMultibulkLength = long.MaxValue };
        var data = Concat(header, Fill('v', 1000));
        string nameEvent = Name(name, name.Length == 0 ? 1 : 2, name.Length == 0 ? headerEnd : 13);

        Assert.Equal([nameEvent, Need(data.Length)], ScanWhole(Single(data), limits));
        Assert.Equal([nameEvent, Need(headerEnd)], ScanWhole(Single(Bytes(header)), limits));
        Assert.Equal([nameEvent, Need(data.Length)], ScanArriving(data, Enumerable.Range(0, 60), limits));
    }

    // ---- driver ----

    /// <summary>One pass of ClientSession.ForwardFrames over <paramref name="buffer"/>, whose first byte is at
    /// <paramref name="offset"/> of the stream. Returns false on a protocol error.</summary>
    private static bool Forward(RequestScanner scanner, ReadOnlySequence<byte> buffer, long offset, List<string> events,
        out long consumed, out long errorFrameStart)
    {
        var reader = new SequenceReader<byte>(buffer);
        long frameStart = 0;
        for (int guard = 0; guard < 1_000_000; guard++)
        {
            if (scanner.AtFrameStart) frameStart = reader.Consumed;
            switch (scanner.Next(ref reader))
            {
                case RequestEvent.Name:
                    Assert.True(scanner.NameKnown);
                    events.Add(Describe(scanner, offset + reader.Consumed));
                    break;
                case RequestEvent.End:
                    Assert.True(scanner.AtFrameStart);
                    events.Add(End(scanner.ArgumentCount, offset + reader.Consumed));
                    break;
                case RequestEvent.NeedMoreData:
                    consumed = reader.Consumed;
                    if (!scanner.AtFrameStart && !scanner.NameKnown)
                    {
                        scanner.Reset();
                        consumed = frameStart;
                    }
                    errorFrameStart = -1;
                    return true;
                case RequestEvent.Error:
                    events.Add(Error(scanner.Error, scanner.ErrorByte));
                    consumed = 0;
                    errorFrameStart = offset + frameStart;
                    return false;
                default:
                    throw new InvalidOperationException("unknown event");
            }
        }
        throw new InvalidOperationException("the scanner does not progress");
    }

    /// <summary>All of <paramref name="buffer"/> at once. Checks where an error's frame starts when asked.</summary>
    private static List<string> ScanWhole(ReadOnlySequence<byte> buffer, RespLimits? limits = null, int errorFrameStart = -1)
    {
        var events = new List<string>();
        if (Forward(new RequestScanner(limits), buffer, 0, events, out long consumed, out long frameStart))
            events.Add(Need(consumed));
        else if (errorFrameStart >= 0)
            Assert.Equal(errorFrameStart, frameStart);
        return events;
    }

    /// <summary>
    /// The stream arriving in parts, cut at <paramref name="arrivals"/>: after each part the scanner sees what it
    /// has not released yet (the bytes kept from before, then the new part, as two segments), as through a pipe.
    /// </summary>
    private static List<string> ScanArriving(byte[] data, IEnumerable<int> arrivals, RespLimits? limits = null)
    {
        var scanner = new RequestScanner(limits);
        var events = new List<string>();
        int released = 0, arrived = 0;
        foreach (int upTo in arrivals.Append(data.Length))
        {
            if (upTo < arrived) continue;
            var buffer = SplitAt(data[released..upTo], arrived - released);
            arrived = upTo;
            if (!Forward(scanner, buffer, released, events, out long consumed, out _)) return events;
            released += (int)consumed;
        }
        events.Add(Need(released));
        return events;
    }

    private static IEnumerable<int> SomeCuts(int length)
        => Enumerable.Range(0, Math.Min(length, 80) + 1)
            .Concat(Enumerable.Range(Math.Max(0, length - 80), Math.Min(length, 80) + 1))
            .Concat(Enumerable.Range(0, length / 3001).Select(i => i * 3001))
            .Distinct().Order();

    private static string Describe(RequestScanner scanner, long at)
    {
        string name = Latin1(scanner.Name.ToArray());
        return scanner.InlineArguments is { } args
            ? $"Name '{name}' n={scanner.ArgumentCount} [{string.Join(",", args.Select(Latin1))}] @{at}"
            : $"Name '{name}' n={scanner.ArgumentCount} @{at}";
    }

    private static string Name(string name, long count, long at) => $"Name '{name}' n={count} @{at}";

    private static string Inline(string[] args, long at, string? name = null)
        => $"Name '{name ?? args[0]}' n={args.Length} [{string.Join(",", args)}] @{at}";

    private static string End(long count, long at) => $"End n={count} @{at}";

    private static string Need(long at) => $"Need @{at}";

    private static string Error(ProtocolError error, byte got = 0) => "Error " + ProtocolErrors.Message(error, got);

    private static string Latin1(byte[] bytes) => Encoding.Latin1.GetString(bytes);

    private static byte[] Fill(char c, int count) => Bytes(new string(c, count));

    private static byte[] Concat(params object[] parts)
        => parts.SelectMany(p => p switch { string s => Bytes(s), byte[] b => b, _ => throw new ArgumentException() }).ToArray();
}
