using System.Buffers;
using static RedisTimer.Resp.Tests.Segments;

namespace RedisTimer.Resp.Tests;

public class RespFrameScannerTests
{
    // Complete reply frames, the type byte the scanner must report, and whether attributes lead the frame.
    public static TheoryData<string, char, bool> ValidFrames => new()
    {
        { "+OK\r\n", '+', false },
        { "+\r\n", '+', false },
        { "+PONG\r\n", '+', false },
        { "-ERR unknown command 'FOO'\r\n", '-', false },
        { "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", '-', false },
        { ":0\r\n", ':', false },
        { ":-42\r\n", ':', false },
        { ":007\r\n", ':', false },
        { ":9223372036854775807\r\n", ':', false },
        { ":-9223372036854775808\r\n", ':', false },
        { "$0\r\n\r\n", '$', false },
        { "$5\r\nhello\r\n", '$', false },
        { "$4\r\na\r\nb\r\n", '$', false },                 // CRLF inside a payload is data
        { "$3\r\n\0\xFF\r\r\n", '$', false },               // binary payload ending in CR
        { "$00000000000000000000003\r\nabc\r\n", '$', false }, // leading zeros do not overflow
        { "$-1\r\n", '$', false },
        { "*0\r\n", '*', false },
        { "*-1\r\n", '*', false },
        { "*2\r\n$3\r\nfoo\r\n:1\r\n", '*', false },
        { "*3\r\n*-1\r\n$-1\r\n*0\r\n", '*', false },
        { "*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n", '*', false },
        { "*2\r\n*2\r\n:1\r\n:2\r\n*2\r\n:3\r\n:4\r\n", '*', false },
        { "_\r\n", '_', false },
        { ",3.14\r\n", ',', false },
        { ",-inf\r\n", ',', false },
        { ",nan\r\n", ',', false },
        { "#t\r\n", '#', false },
        { "#f\r\n", '#', false },
        { "!21\r\nSYNTAX invalid syntax\r\n", '!', false },
        { "=15\r\ntxt:Some string\r\n", '=', false },
        { "(3492890328409238509324850943850943825024385\r\n", '(', false },
        { "%0\r\n", '%', false },
        { "%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n", '%', false },
        { "%1\r\n*2\r\n:1\r\n:2\r\n%1\r\n_\r\n#t\r\n", '%', false },
        { "~0\r\n", '~', false },
        { "~3\r\n:1\r\n:2\r\n:3\r\n", '~', false },
        { ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n", '>', false },
        { ">2\r\n$10\r\ninvalidate\r\n*1\r\n$3\r\nkey\r\n", '>', false }, // an element inside is an aggregate
        // The RESP3 spec's attribute example: the attribute belongs to the array that follows it.
        { "|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n*2\r\n:2039123\r\n:9543892\r\n", '*', true },
        { "|0\r\n:1\r\n", ':', true },
        { "|1\r\n+a\r\n+b\r\n|1\r\n+c\r\n+d\r\n$1\r\nx\r\n", '$', true },
        { "|1\r\n+a\r\n+b\r\n>2\r\n+x\r\n+y\r\n", '>', true },
        // Nested attribute: annotates an element and is not counted as one.
        { "*2\r\n*1\r\n|1\r\n+k\r\n+v\r\n:1\r\n%1\r\n*0\r\n~1\r\n_\r\n", '*', false },
        { "*1\r\n|1\r\n+k\r\n|0\r\n+v\r\n:1\r\n", '*', false },
    };

    public static TheoryData<string> InvalidFrames => new()
    {
        "?\r\n", "x", "\r\n", " +OK\r\n", ".\r\n", ";3\r\n",
        "$?\r\n", "*?\r\n",                    // RESP3 streaming: never sent by Redis
        "+OK\rX", "-ERR\r\r\n",
        ":\r\n", ":-\r\n", ":1-\r\n", ":+1\r\n", ":1 \r\n", ":12a\r\n", ":--1\r\n",
        ":9223372036854775808\r\n", ":-9223372036854775809\r\n", ":99999999999999999999999\r\n",
        ":18446744073709551620\r\n", "$18446744073709551620\r\nabcd\r\n", // would wrap to 4 in 64 bits
        "$\r\n", "$-2\r\n", "$-0\r\n", "$-\r\n", "$--1\r\n", "$1x\r\n",
        "$3\r\nabcd\r\n", "$3\r\nab\r\n\r\n", "$3\r\nabc\n\n", "$5\r\nhello\r\r",
        "=-1\r\n", "!-1\r\n", "%-1\r\n", "~-1\r\n", ">-1\r\n", "|-1\r\n", "*-2\r\n",
        "*1\n", "*1\r\r", "*\r\n",
        "#x\r\n", "#tt\r\n", "#\r\n", "#t\n",
        "_x\r\n", "_\n",
        "*2\r\n:1\r\nX", "%1\r\n+a\r\n?\r\n", "*1\r\n:1\rx", "|1\r\n+a\r\n+b\r\n\r\n",
    };

    [Theory]
    [MemberData(nameof(ValidFrames))]
    public void Scans_a_whole_frame_in_one_segment(string text, char type, bool hasAttributes)
    {
        var data = Bytes(text);
        var scanner = new RespFrameScanner();
        var reader = new SequenceReader<byte>(Single(data));

        Assert.Equal(RespFrameStatus.Complete, scanner.TryScan(ref reader, out var frame));
        Assert.Equal(data.Length, frame.Length);
        Assert.Equal((byte)type, frame.Type);
        Assert.Equal(hasAttributes, frame.HasAttributes);
        Assert.Equal(type == '>', frame.IsPush);
        Assert.Equal(data.Length, reader.Consumed);
    }

    [Theory]
    [MemberData(nameof(ValidFrames))]
    public void Stops_exactly_at_the_end_of_the_frame(string text, char type, bool hasAttributes)
    {
        _ = (type, hasAttributes);
        var data = Bytes(text);
        var scanner = new RespFrameScanner();
        var reader = new SequenceReader<byte>(Single([.. data, .. Bytes("+next\r\n")]));

        Assert.Equal(RespFrameStatus.Complete, scanner.TryScan(ref reader, out var frame));
        Assert.Equal(data.Length, frame.Length);
        Assert.Equal(data.Length, reader.Consumed);

        // The scanner is ready for the following frame at once.
        Assert.Equal(RespFrameStatus.Complete, scanner.TryScan(ref reader, out var next));
        Assert.Equal(7, next.Length);
        Assert.Equal((byte)'+', next.Type);
    }

    [Theory]
    [MemberData(nameof(ValidFrames))]
    public void Every_proper_prefix_needs_more_data(string text, char type, bool hasAttributes)
    {
        _ = (type, hasAttributes);
        var data = Bytes(text);
        for (int length = 0; length < data.Length; length++)
        {
            var scanner = new RespFrameScanner();
            var reader = new SequenceReader<byte>(Single(data[..length]));
            Assert.Equal(RespFrameStatus.NeedMoreData, scanner.TryScan(ref reader, out _));
            Assert.True(reader.End, $"prefix {length} not fully consumed");
            Assert.Equal(length, scanner.PendingLength);
        }
    }

    [Theory]
    [MemberData(nameof(ValidFrames))]
    public void Scans_a_frame_split_into_segments_at_every_position(string text, char type, bool hasAttributes)
    {
        var data = Bytes(text);
        for (int i = 0; i <= data.Length; i++)
        {
            for (int j = i; j <= data.Length; j++)
            {
                AssertComplete(SplitAt(data, i, j), $"split at {i},{j}");
            }
        }
        AssertComplete(EveryByte(data), "every byte");

        void AssertComplete(ReadOnlySequence<byte> sequence, string how)
        {
            var status = RespFrameScanner.TryScanFrame(sequence, out var frame);
            Assert.True(status == RespFrameStatus.Complete, $"{how}: {status}");
            Assert.Equal(data.Length, frame.Length);
            Assert.Equal((byte)type, frame.Type);
            Assert.Equal(hasAttributes, frame.HasAttributes);
        }
    }

    [Theory]
    [MemberData(nameof(ValidFrames))]
    public void Resumes_across_calls_split_at_every_position(string text, char type, bool hasAttributes)
    {
        _ = hasAttributes;
        var data = Bytes(text);
        for (int split = 1; split < data.Length; split++)
        {
            var scanner = new RespFrameScanner();
            var first = new SequenceReader<byte>(Single(data[..split]));
            Assert.Equal(RespFrameStatus.NeedMoreData, scanner.TryScan(ref first, out _));
            Assert.True(first.End);

            // Only the new bytes are offered: the scanner kept its place.
            var second = new SequenceReader<byte>(Single(data[split..]));
            Assert.Equal(RespFrameStatus.Complete, scanner.TryScan(ref second, out var frame));
            Assert.Equal(data.Length, frame.Length);
            Assert.Equal((byte)type, frame.Type);
            Assert.True(second.End);
        }
    }

    [Theory]
    [MemberData(nameof(ValidFrames))]
    public void Resumes_when_fed_one_byte_per_call(string text, char type, bool hasAttributes)
    {
        _ = hasAttributes;
        var data = Bytes(text);
        var scanner = new RespFrameScanner();
        for (int i = 0; i < data.Length; i++)
        {
            var reader = new SequenceReader<byte>(Single([data[i]]));
            var status = scanner.TryScan(ref reader, out var frame);
            if (i < data.Length - 1)
            {
                Assert.Equal(RespFrameStatus.NeedMoreData, status);
            }
            else
            {
                Assert.Equal(RespFrameStatus.Complete, status);
                Assert.Equal(data.Length, frame.Length);
                Assert.Equal((byte)type, frame.Type);
            }
        }
    }

    [Theory]
    [MemberData(nameof(InvalidFrames))]
    public void Rejects_malformed_input(string text)
    {
        var data = Bytes(text);
        Assert.Equal(RespFrameStatus.Invalid, RespFrameScanner.TryScanFrame(Single(data), out _));
    }

    [Theory]
    [MemberData(nameof(InvalidFrames))]
    public void Rejects_malformed_input_however_it_is_split(string text)
    {
        var data = Bytes(text);
        for (int split = 0; split <= data.Length; split++)
        {
            Assert.Equal(RespFrameStatus.Invalid, RespFrameScanner.TryScanFrame(SplitAt(data, split), out _));
        }

        // Fed a byte at a time: no Complete, and once Invalid it stays Invalid.
        var scanner = new RespFrameScanner();
        bool invalid = false;
        foreach (byte b in data)
        {
            var reader = new SequenceReader<byte>(Single([b]));
            var status = scanner.TryScan(ref reader, out _);
            Assert.NotEqual(RespFrameStatus.Complete, status);
            if (invalid) Assert.Equal(RespFrameStatus.Invalid, status);
            invalid |= status == RespFrameStatus.Invalid;
        }
        Assert.True(invalid);
    }

    [Theory]
    [InlineData("?", 0)]
    [InlineData("+OK\r\n:1x\r\n", 7)]   // the first frame is still reported Complete
    [InlineData("$3\r\nabcd\r\n", 7)]
    [InlineData("*2\r\n:1\r\nX", 8)]
    [InlineData("#x\r\n", 1)]
    public void Leaves_the_reader_at_the_offending_byte(string text, int offset)
    {
        var data = Bytes(text);
        var scanner = new RespFrameScanner();
        var reader = new SequenceReader<byte>(Single(data));
        var status = scanner.TryScan(ref reader, out var frame);
        if (status == RespFrameStatus.Complete)
        {
            Assert.Equal(5, frame.Length);
            status = scanner.TryScan(ref reader, out _);
        }
        Assert.Equal(RespFrameStatus.Invalid, status);
        Assert.Equal(offset, reader.Consumed);
    }

    [Fact]
    public void Invalid_is_sticky_until_reset()
    {
        var scanner = new RespFrameScanner();
        var bad = new SequenceReader<byte>(Single(Bytes("?")));
        Assert.Equal(RespFrameStatus.Invalid, scanner.TryScan(ref bad, out _));

        var good = new SequenceReader<byte>(Single(Bytes("+OK\r\n")));
        Assert.Equal(RespFrameStatus.Invalid, scanner.TryScan(ref good, out _));
        Assert.Equal(0, good.Consumed);

        scanner.Reset();
        Assert.Equal(RespFrameStatus.Complete, scanner.TryScan(ref good, out var frame));
        Assert.Equal(5, frame.Length);
    }

    [Fact]
    public void Reset_drops_a_partial_frame_and_keeps_the_limits()
    {
        var scanner = new RespFrameScanner(new RespFrameLimits { MaxBulkLength = 3 });
        var partial = new SequenceReader<byte>(Single(Bytes("*2\r\n:1\r\n")));
        Assert.Equal(RespFrameStatus.NeedMoreData, scanner.TryScan(ref partial, out _));

        scanner.Reset();
        Assert.Equal(0, scanner.PendingLength);
        var small = new SequenceReader<byte>(Single(Bytes("$3\r\nabc\r\n")));
        Assert.Equal(RespFrameStatus.Complete, scanner.TryScan(ref small, out var frame));
        Assert.Equal(9, frame.Length);
        var big = new SequenceReader<byte>(Single(Bytes("$4\r\n")));
        Assert.Equal(RespFrameStatus.Invalid, scanner.TryScan(ref big, out _));
    }

    [Fact]
    public void Scans_a_pipelined_stream_frame_by_frame_however_it_is_split()
    {
        string[] frames = ["+OK\r\n", ":1\r\n", ">2\r\n+a\r\n+b\r\n", "$-1\r\n", "|1\r\n+k\r\n+v\r\n*1\r\n_\r\n", "#f\r\n"];
        char[] types = ['+', ':', '>', '$', '*', '#'];
        var data = Bytes(string.Concat(frames));

        for (int split = 0; split <= data.Length; split++)
        {
            var scanner = new RespFrameScanner();
            var found = new List<(long Length, char Type)>();
            foreach (var chunk in Chunks(data, split))
            {
                var reader = new SequenceReader<byte>(Single(chunk));
                while (scanner.TryScan(ref reader, out var frame) == RespFrameStatus.Complete)
                {
                    found.Add((frame.Length, (char)frame.Type));
                }
                Assert.True(reader.End);
            }
            Assert.Equal(frames.Select((f, i) => ((long)f.Length, types[i])), found);
        }
    }

    [Fact]
    public void Large_bulk_payload_is_skipped_without_being_buffered()
    {
        // 1 MB payload in 4 KB reads: each read is consumed whole, nothing is rescanned.
        var header = Bytes("$1048576\r\n");
        var scanner = new RespFrameScanner();
        var h = new SequenceReader<byte>(Single(header));
        Assert.Equal(RespFrameStatus.NeedMoreData, scanner.TryScan(ref h, out _));
        var chunk = new byte[4096];
        Array.Fill(chunk, (byte)'\r');
        for (int i = 0; i < 256; i++)
        {
            var reader = new SequenceReader<byte>(Single(chunk));
            Assert.Equal(RespFrameStatus.NeedMoreData, scanner.TryScan(ref reader, out _));
            Assert.True(reader.End);
        }
        var end = new SequenceReader<byte>(Single(Bytes("\r\n")));
        Assert.Equal(RespFrameStatus.Complete, scanner.TryScan(ref end, out var frame));
        Assert.Equal(header.Length + 1048576 + 2, frame.Length);
    }

    [Theory]
    [InlineData("$2147483647\r\n")]      // RESPite's case: a huge length with no payload yet is not a crash
    [InlineData("$9223372036854775807\r\n")]
    [InlineData("*4611686018427387903\r\n:1\r\n")]
    public void Huge_lengths_within_the_limits_need_more_data(string text)
    {
        var limits = new RespFrameLimits { MaxBulkLength = long.MaxValue, MaxAggregateCount = long.MaxValue / 2 };
        Assert.Equal(RespFrameStatus.NeedMoreData, RespFrameScanner.TryScanFrame(Single(Bytes(text)), out _, limits));
    }

    [Theory]
    [InlineData("$2147483647\r\n", RespFrameStatus.Invalid)]  // above the 512 MB default
    [InlineData("$536870912\r\n", RespFrameStatus.NeedMoreData)]
    [InlineData("$536870913", RespFrameStatus.Invalid)]      // refused before the line even ends
    [InlineData("$9223372036854775808\r\n", RespFrameStatus.Invalid)]
    [InlineData("*18446744073709551617\r\n:1\r\n", RespFrameStatus.Invalid)] // would wrap to 1
    [InlineData("*4294967295\r\n", RespFrameStatus.NeedMoreData)]
    [InlineData("*4294967296\r\n", RespFrameStatus.Invalid)]
    [InlineData("%4294967295\r\n", RespFrameStatus.NeedMoreData)]
    [InlineData("%4294967296\r\n", RespFrameStatus.Invalid)]
    public void Default_limits(string text, RespFrameStatus expected)
    {
        Assert.Equal(expected, RespFrameScanner.TryScanFrame(Single(Bytes(text)), out _));

        // default(RespFrameScanner), as a zeroed field would be, applies the same defaults.
        RespFrameScanner zeroed = default;
        var reader = new SequenceReader<byte>(Single(Bytes(text)));
        Assert.Equal(expected, zeroed.TryScan(ref reader, out _));
    }

    [Theory]
    [InlineData("$5\r\nhello\r\n", RespFrameStatus.Complete)]
    [InlineData("$6\r\n", RespFrameStatus.Invalid)]
    [InlineData("$6", RespFrameStatus.Invalid)]
    [InlineData("=6\r\n", RespFrameStatus.Invalid)]
    [InlineData("!6\r\n", RespFrameStatus.Invalid)]
    [InlineData("*1\r\n$6\r\n", RespFrameStatus.Invalid)]
    [InlineData("+hello\r\n", RespFrameStatus.Complete)]
    [InlineData("+hello!", RespFrameStatus.Invalid)]          // line limit found without waiting for CRLF
    [InlineData("-ERR x!\r\n", RespFrameStatus.Invalid)]
    [InlineData(",1.2345\r\n", RespFrameStatus.Invalid)]
    [InlineData("*2\r\n:1\r\n:2\r\n", RespFrameStatus.Complete)]
    [InlineData("*3\r\n", RespFrameStatus.Invalid)]
    [InlineData("~3\r\n", RespFrameStatus.Invalid)]
    [InlineData(">3\r\n", RespFrameStatus.Invalid)]
    [InlineData("%2\r\n:1\r\n:2\r\n:3\r\n:4\r\n", RespFrameStatus.Complete)] // the count limit is on entries
    [InlineData("%3\r\n", RespFrameStatus.Invalid)]
    [InlineData("|3\r\n", RespFrameStatus.Invalid)]
    [InlineData("*1\r\n*2\r\n:1\r\n:2\r\n", RespFrameStatus.Complete)]
    [InlineData("*1\r\n*1\r\n*0\r\n", RespFrameStatus.Invalid)]     // third level, even though empty
    [InlineData("*1\r\n*1\r\n|0\r\n:1\r\n", RespFrameStatus.Invalid)] // attributes count as a level
    [InlineData("*2\r\n*1\r\n:1\r\n*1\r\n:2\r\n", RespFrameStatus.Complete)] // siblings do not add up
    [InlineData("|1\r\n+k\r\n*1\r\n:1\r\n*1\r\n:2\r\n", RespFrameStatus.Complete)]
    public void Configured_limits(string text, RespFrameStatus expected)
    {
        var limits = new RespFrameLimits { MaxBulkLength = 5, MaxAggregateCount = 2, MaxDepth = 2 };
        var data = Bytes(text);
        for (int split = 0; split <= data.Length; split++)
        {
            Assert.Equal(expected, RespFrameScanner.TryScanFrame(SplitAt(data, split), out _, limits));
        }
    }

    [Theory]
    [InlineData(128, RespFrameStatus.Complete)]
    [InlineData(129, RespFrameStatus.Invalid)]
    public void Default_depth_limit_is_128(int levels, RespFrameStatus expected)
    {
        var text = string.Concat(Enumerable.Repeat("*1\r\n", levels)) + ":1\r\n";
        Assert.Equal(expected, RespFrameScanner.TryScanFrame(Single(Bytes(text)), out _));
    }

    [Theory]
    [InlineData(129)]
    [InlineData(5000)]
    public void Nesting_beyond_the_inline_levels_is_followed_when_allowed(int levels)
    {
        var limits = new RespFrameLimits { MaxDepth = RespFrameLimits.MaxSupportedDepth };
        var text = string.Concat(Enumerable.Repeat("*2\r\n:7\r\n", levels)) + ":1\r\n";
        var data = Bytes(text);
        foreach (int split in new[] { 0, 1, data.Length / 3, data.Length / 2, data.Length - 1 })
        {
            Assert.Equal(RespFrameStatus.Complete, RespFrameScanner.TryScanFrame(SplitAt(data, split), out var frame, limits));
            Assert.Equal(data.Length, frame.Length);
        }
        // A scanner reused after a deep frame starts afresh.
        var scanner = new RespFrameScanner(limits);
        var reader = new SequenceReader<byte>(Single([.. data, .. data, .. Bytes("+OK\r\n")]));
        Assert.Equal(RespFrameStatus.Complete, scanner.TryScan(ref reader, out _));
        Assert.Equal(RespFrameStatus.Complete, scanner.TryScan(ref reader, out _));
        Assert.Equal(RespFrameStatus.Complete, scanner.TryScan(ref reader, out var last));
        Assert.Equal((byte)'+', last.Type);
    }

    [Fact]
    public void Nesting_beyond_the_most_supported_is_invalid()
    {
        var limits = new RespFrameLimits { MaxDepth = RespFrameLimits.MaxSupportedDepth };
        var text = string.Concat(Enumerable.Repeat("*1\r\n", RespFrameLimits.MaxSupportedDepth + 1)) + ":1\r\n";
        Assert.Equal(RespFrameStatus.Invalid, RespFrameScanner.TryScanFrame(Single(Bytes(text)), out _, limits));
    }

    [Fact]
    public void Limits_reject_values_they_cannot_honour()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new RespFrameLimits { MaxDepth = 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new RespFrameLimits { MaxDepth = RespFrameLimits.MaxSupportedDepth + 1 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new RespFrameLimits { MaxBulkLength = -1 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new RespFrameLimits { MaxAggregateCount = long.MaxValue / 2 + 1 });
        Assert.Throws<ArgumentException>(() => new RespFrameScanner(default(RespFrameLimits)));

        var limits = new RespFrameLimits();
        Assert.Equal(512L * 1024 * 1024, limits.MaxBulkLength);
        Assert.Equal(uint.MaxValue, limits.MaxAggregateCount);
        Assert.Equal(128, limits.MaxDepth);
    }

    [Theory]
    [InlineData(">1\r\n+a\r\n", true)]
    [InlineData(">0\r\n", true)]
    [InlineData("*1\r\n+a\r\n", false)]
    [InlineData("+>\r\n", false)]
    [InlineData("|1\r\n+a\r\n+b\r\n>1\r\n+x\r\n", true)]
    [InlineData("|1\r\n>1\r\n+a\r\n+b\r\n*1\r\n+x\r\n", false)] // a push inside the attribute does not count
    [InlineData("", false)]
    public void IsPush_looks_past_attributes(string text, bool expected)
    {
        var data = Bytes(text);
        Assert.Equal(expected, RespFrameScanner.IsPush(Single(data)));
        Assert.Equal(expected, RespFrameScanner.IsPush(EveryByte(data)));
    }

    [Fact]
    public void Consumed_position_overload_reports_where_the_frame_ends()
    {
        var data = SplitAt(Bytes(":1\r\n:2\r\n"), 3);
        var scanner = new RespFrameScanner();
        Assert.Equal(RespFrameStatus.Complete, scanner.TryScan(data, out var frame, out var consumed));
        Assert.Equal(4, frame.Length);
        Assert.Equal(":2\r\n"u8.ToArray(), data.Slice(consumed).ToArray());
    }

    [Fact]
    public void Scanning_does_not_allocate()
    {
        var data = SplitAt(Bytes("|1\r\n+k\r\n+v\r\n*3\r\n$5\r\nhello\r\n%1\r\n:1\r\n#t\r\n>1\r\n,1.5\r\n"), 7, 20);
        long Run()
        {
            long total = 0;
            for (int i = 0; i < 1000; i++)
            {
                var scanner = new RespFrameScanner();
                var reader = new SequenceReader<byte>(data);
                if (scanner.TryScan(ref reader, out var frame) == RespFrameStatus.Complete) total += frame.Length;
            }
            return total;
        }
        Assert.Equal(1000 * data.Length, Run());
        Assert.Equal(0, AllocationMeter.FewestBytes(() => Run()));
    }
}
