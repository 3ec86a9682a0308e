using static RedisTimer.Resp.Tests.Segments;

namespace RedisTimer.Resp.Tests;

public class RespIntegerTests
{
    public static TheoryData<string, long> Valid => new()
    {
        { "0", 0 },
        { "1", 1 },
        { "-1", -1 },
        { "10", 10 },
        { "42", 42 },
        { "-42", -42 },
        { "536870912", 536870912 },
        { "2147483648", 2147483648 },
        { "9223372036854775807", long.MaxValue },
        { "-9223372036854775808", long.MinValue },
        { "-9223372036854775807", long.MinValue + 1 },
    };

    public static TheoryData<string> Invalid => new()
    {
        "", "+1", "01", "00", "-0", "-01", "-", "--1", " 1", "1 ", "1.0", "1e3", "0x10", "abc", "1a", "a1",
        "9223372036854775808", "-9223372036854775809",
        "18446744073709551615",             // fits in 64 bits unsigned, not signed
        "18446744073709551616",             // wraps to 0 in 64 bits
        "99999999999999999999",             // 20 digits
        "123456789012345678901",            // 21 bytes: longer than Redis ever reads
        "-00000000000000000001",
        "1\0", "\01", "\xB9",                // NUL, and a superscript one
    };

    [Theory]
    [MemberData(nameof(Valid))]
    public void Parses_like_string2ll(string text, long expected)
    {
        Assert.True(RespInteger.TryParse(Bytes(text), out long value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Refuses_what_string2ll_refuses(string text)
    {
        Assert.False(RespInteger.TryParse(Bytes(text), out long value));
        Assert.Equal(0, value);
    }

    [Theory]
    [MemberData(nameof(Valid))]
    public void Parses_a_sequence_split_at_every_position(string text, long expected)
    {
        var data = Bytes(text);
        for (int i = 0; i <= data.Length; i++)
        {
            Assert.True(RespInteger.TryParse(SplitAt(data, i), out long value), $"split at {i}");
            Assert.Equal(expected, value);
        }
        Assert.True(RespInteger.TryParse(EveryByte(data), out long each));
        Assert.Equal(expected, each);
    }

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Refuses_a_sequence_split_at_every_position(string text)
    {
        var data = Bytes(text);
        for (int i = 0; i <= data.Length; i++)
            Assert.False(RespInteger.TryParse(SplitAt(data, i), out _), $"split at {i}");
        Assert.False(RespInteger.TryParse(EveryByte(data), out _));
    }
}
