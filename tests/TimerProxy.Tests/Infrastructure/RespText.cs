using System.Globalization;

namespace RedisTimer.Proxy.Tests.Infrastructure;

/// <summary>
/// A reply as RawClient returns it, read into plain values: bulk and simple strings as string, integers as long,
/// RESP3 booleans as bool, nulls as null, arrays and sets as List&lt;object?&gt;, maps as a list of key/value pairs
/// in the order sent, errors as <see cref="Error"/>. Strict: anything else, or bytes left over, fails the test.
/// </summary>
public static class RespText
{
    public sealed record Error(string Text);

    public static object? Parse(string reply)
    {
        int at = 0;
        var value = Read(reply, ref at);
        if (at != reply.Length) throw new FormatException($"{reply.Length - at} characters after the reply");
        return value;
    }

    private static object? Read(string s, ref int at)
    {
        char type = s[at];
        int end = s.IndexOf("\r\n", at, StringComparison.Ordinal);
        string line = s[(at + 1)..end];
        at = end + 2;
        switch (type)
        {
            case '+': return line;
            case '-': return new Error(line);
            case ':': return long.Parse(line, CultureInfo.InvariantCulture);
            case '_': return null;
            case '#': return line == "t" ? true : line == "f" ? false : throw new FormatException("boolean " + line);
            case '$':
                int length = int.Parse(line, CultureInfo.InvariantCulture);
                if (length < 0) return null;
                string text = s.Substring(at, length);
                if (s.Substring(at + length, 2) != "\r\n") throw new FormatException("bulk string not ended by CRLF");
                at += length + 2;
                return text;
            case '*' or '~':
                int count = int.Parse(line, CultureInfo.InvariantCulture);
                if (count < 0) return null;
                var items = new List<object?>(count);
                for (int i = 0; i < count; i++) items.Add(Read(s, ref at));
                return items;
            case '%':
                int pairs = int.Parse(line, CultureInfo.InvariantCulture);
                var map = new List<KeyValuePair<object?, object?>>(pairs);
                for (int i = 0; i < pairs; i++)
                {
                    var key = Read(s, ref at);
                    map.Add(new(key, Read(s, ref at)));
                }
                return map;
            default: throw new FormatException($"type '{type}'");
        }
    }
}
