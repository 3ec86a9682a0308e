using System.Text;

namespace RedisTimer.Resp.Tests.Fuzzing;

/// <summary>A generated reply frame and what a scanner must report for it.</summary>
internal readonly record struct GeneratedReply(byte[] Bytes, byte Type, bool HasAttributes);

/// <summary>A generated request frame: its bytes and what RequestScanner must report for it.</summary>
internal sealed record GeneratedRequest(byte[] Bytes, bool Inline, byte[]? Name, long ArgumentCount, List<byte[]>? InlineArguments, int NameAt);

/// <summary>Random valid RESP2/RESP3 replies and client requests, and mutations of them.</summary>
internal static class RespGenerators
{
    private static byte[] Ascii(string s) => Encoding.Latin1.GetBytes(s);

    // ---- replies ----

    /// <summary>One top-level reply of any RESP2/RESP3 type, nested up to <paramref name="maxDepth"/> aggregates.</summary>
    public static GeneratedReply Reply(Random rng, int maxDepth = 5)
    {
        var o = new List<byte>();
        int budget = rng.Next(1, 40);
        bool attributes = rng.Next(12) == 0;
        if (attributes) Attribute(rng, o, 0, maxDepth, ref budget);
        byte type = Value(rng, o, attributes ? 1 : 0, maxDepth, ref budget, allowAttribute: false);
        return new GeneratedReply(o.ToArray(), type, attributes);
    }

    /// <summary>A reply nested exactly <paramref name="depth"/> aggregates deep (attributes count as levels).</summary>
    public static byte[] DeepReply(Random rng, int depth)
    {
        var o = new List<byte>();
        for (int i = 0; i < depth; i++) o.AddRange(Ascii(rng.Next(4) switch { 0 => "*1\r\n", 1 => "~1\r\n", 2 => ">1\r\n", _ => "%1\r\n+k\r\n" }));
        o.AddRange(Ascii(":1\r\n"));
        return o.ToArray();
    }

    private static void Attribute(Random rng, List<byte> o, int depth, int maxDepth, ref int budget)
    {
        int pairs = rng.Next(0, 3);
        o.AddRange(Ascii($"|{pairs}\r\n"));
        for (int i = 0; i < pairs * 2; i++) Value(rng, o, depth + 1, maxDepth, ref budget, allowAttribute: false);
    }

    // Writes one value; returns its type byte. depth counts the aggregates open around it.
    private static byte Value(Random rng, List<byte> o, int depth, int maxDepth, ref int budget, bool allowAttribute = true)
    {
        budget--;
        if (allowAttribute && depth + 1 < maxDepth && rng.Next(25) == 0) Attribute(rng, o, depth, maxDepth, ref budget);
        bool aggregate = depth < maxDepth && budget > 0 && rng.Next(3) == 0;
        if (aggregate)
        {
            char t = "*%~>"[rng.Next(4)];
            if (t == '*' && rng.Next(10) == 0)
            {
                o.AddRange(Ascii("*-1\r\n"));
                return (byte)'*';
            }
            int n = rng.Next(0, Math.Min(6, budget + 1));
            o.AddRange(Ascii($"{t}{n}\r\n"));
            for (int i = 0; i < (t == '%' ? 2 * n : n); i++) Value(rng, o, depth + 1, maxDepth, ref budget);
            return (byte)t;
        }
        switch (rng.Next(12))
        {
            case 0: o.Add((byte)'+'); o.AddRange(LineText(rng)); o.AddRange("\r\n"u8); return (byte)'+';
            case 1: o.Add((byte)'-'); o.AddRange(Ascii("ERR ")); o.AddRange(LineText(rng)); o.AddRange("\r\n"u8); return (byte)'-';
            case 2: o.AddRange(Ascii($":{Integer(rng)}\r\n")); return (byte)':';
            case 3:
                if (rng.Next(8) == 0) { o.AddRange(Ascii("$-1\r\n")); return (byte)'$'; }
                Blob(rng, o, '$', Payload(rng));
                return (byte)'$';
            case 4: o.AddRange(Ascii("_\r\n")); return (byte)'_';
            case 5: o.AddRange(Ascii($",{new[] { "3.14", "-0.5", "inf", "-inf", "nan", "1e300", "0" }[rng.Next(7)]}\r\n")); return (byte)',';
            case 6: o.AddRange(Ascii(rng.Next(2) == 0 ? "#t\r\n" : "#f\r\n")); return (byte)'#';
            case 7: Blob(rng, o, '!', [.. Ascii("SYNTAX "), .. Payload(rng)]); return (byte)'!';
            case 8: Blob(rng, o, '=', [.. Ascii("txt:"), .. Payload(rng)]); return (byte)'=';
            case 9: o.AddRange(Ascii($"({(rng.Next(2) == 0 ? "-" : "")}{BigDigits(rng)}\r\n")); return (byte)'(';
            default: Blob(rng, o, '$', Payload(rng)); return (byte)'$';
        }
    }

    private static void Blob(Random rng, List<byte> o, char type, byte[] payload)
    {
        // Leading zeros are legal in a reply's length (the scanner reads them; Redis never sends them).
        string zeros = rng.Next(20) == 0 ? "00" : "";
        o.AddRange(Ascii($"{type}{zeros}{payload.Length}\r\n"));
        o.AddRange(payload);
        o.AddRange("\r\n"u8);
    }

    private static string Integer(Random rng) => rng.Next(6) switch
    {
        0 => "0",
        1 => long.MaxValue.ToString(),
        2 => long.MinValue.ToString(),
        3 => "-" + rng.Next(1, 1000),
        4 => "007",
        _ => rng.NextInt64().ToString(),
    };

    private static string BigDigits(Random rng)
    {
        var sb = new StringBuilder();
        sb.Append((char)('1' + rng.Next(9)));
        for (int i = rng.Next(0, 60); i > 0; i--) sb.Append((char)('0' + rng.Next(10)));
        return sb.ToString();
    }

    // Content of a + - line: anything but CR (an LF inside is data to the scanner).
    private static byte[] LineText(Random rng)
    {
        var b = new byte[rng.Next(0, 30)];
        for (int i = 0; i < b.Length; i++)
        {
            byte c = (byte)rng.Next(256);
            b[i] = c == (byte)'\r' ? (byte)'r' : c;
        }
        return b;
    }

    // A bulk payload: binary, with CR, LF and CRLF inside, sometimes long.
    public static byte[] Payload(Random rng)
    {
        int length = rng.Next(10) switch { 0 => 0, 1 => rng.Next(100, 3000), _ => rng.Next(1, 40) };
        var b = new byte[length];
        for (int i = 0; i < length; i++)
            b[i] = rng.Next(6) == 0 ? "\r\n\0$*"u8[rng.Next(5)] : (byte)rng.Next(256);
        return b;
    }

    // ---- requests ----

    /// <summary>One client request: multibulk (binary arguments, names over 64 bytes), inline (quoted, escaped), or empty.</summary>
    public static GeneratedRequest Request(Random rng)
    {
        switch (rng.Next(10))
        {
            case 0:
                {
                    // Requests Redis ignores: *0, a negative count, an empty or blank line.
                    string text = new[] { "*0\r\n", "*-1\r\n", "*-7\r\n", "\r\n", "\n", " \t \r\n" }[rng.Next(6)];
                    return new GeneratedRequest(Ascii(text), text[0] != '*', null, 0, null, -1);
                }
            case 1:
            case 2:
                return InlineRequest(rng);
            default:
                return MultibulkRequest(rng);
        }
    }

    private static GeneratedRequest MultibulkRequest(Random rng)
    {
        int count = rng.Next(1, 7);
        var o = new List<byte>(Ascii($"*{count}\r\n"));
        byte[]? name = null;
        int nameAt = 0;
        for (int i = 0; i < count; i++)
        {
            byte[] arg = i == 0 ? CommandName(rng) : Payload(rng);
            o.AddRange(Ascii($"${arg.Length}\r\n"));
            if (i == 0)
            {
                // A name up to 64 bytes is reported once it is whole, a longer one as soon as its header is read.
                bool copied = arg.Length <= RequestScanner.MaxNameLength;
                name = copied ? arg : [];
                nameAt = copied ? o.Count + arg.Length + 2 : o.Count;
            }
            o.AddRange(arg);
            o.AddRange("\r\n"u8);
        }
        return new GeneratedRequest(o.ToArray(), false, name, count, null, nameAt);
    }

    private static byte[] CommandName(Random rng) => rng.Next(8) switch
    {
        0 => new byte[rng.Next(65, 200)].Select(_ => (byte)'N').ToArray(),
        1 => Payload(rng),
        _ => Ascii(new[] { "GET", "SET", "PING", "ECHO", "TIMER.NEW", "hset", "MULTI", "x" }[rng.Next(8)]),
    };

    private static GeneratedRequest InlineRequest(Random rng)
    {
        int count = rng.Next(1, 6);
        var args = new List<byte[]>();
        var o = new List<byte>();
        if (rng.Next(4) == 0) o.AddRange(Ascii(" \t"[..rng.Next(1, 3)]));
        for (int i = 0; i < count; i++)
        {
            if (i > 0) o.AddRange(Ascii(new[] { " ", "  ", "\t", " \t " }[rng.Next(4)]));
            byte[] arg = InlineArgument(rng, out byte[] encoded);
            // A line starting with '*' is a multibulk request.
            if (o.Count == 0 && encoded[0] == (byte)'*') o.Add((byte)' ');
            args.Add(arg);
            o.AddRange(encoded);
        }
        if (rng.Next(4) == 0) o.AddRange(Ascii("  "));
        o.AddRange(Ascii(rng.Next(5) == 0 ? "\n" : "\r\n"));
        byte[] name = args[0].Length <= RequestScanner.MaxNameLength ? args[0] : [];
        return new GeneratedRequest(o.ToArray(), true, name, count, args, o.Count);
    }

    private const string QuotedBytes = "abc xyz\"\\\t$*:'";
    private const string BareBytes = "abcdefghijklmnopqrstuvwxyzABCXYZ0123456789:._-{}$*+\xE9";

    // An inline argument and how it is written: bare, "double quoted" with escapes, or 'single quoted'.
    private static byte[] InlineArgument(Random rng, out byte[] encoded)
    {
        int style = rng.Next(3);
        int length = rng.Next(style == 0 ? 1 : 0, rng.Next(20) == 0 ? 100 : 12);
        var arg = new byte[length];
        for (int i = 0; i < length; i++)
        {
            arg[i] = style switch
            {
                // Bare: no blank, no quote, no NUL, no control byte that sdssplitargs treats as a separator.
                0 => (byte)BareBytes[rng.Next(BareBytes.Length)],
                1 => (byte)rng.Next(256),
                _ => (byte)QuotedBytes[rng.Next(QuotedBytes.Length)],
            };
        }
        var e = new List<byte>();
        switch (style)
        {
            case 0:
                e.AddRange(arg);
                break;
            case 1:
                e.Add((byte)'"');
                foreach (byte b in arg)
                {
                    if (b is (byte)'"' or (byte)'\\') e.AddRange(new[] { (byte)'\\', b });
                    else if (b == (byte)'\n') e.AddRange(Ascii("\\n"));
                    else if (b == (byte)'\r') e.AddRange(Ascii("\\r"));
                    else if (b == (byte)'\t') e.AddRange(Ascii("\\t"));
                    else if (b < 32 || b >= 127) e.AddRange(Ascii($"\\x{b:x2}"));
                    else e.Add(b);
                }
                e.Add((byte)'"');
                break;
            default:
                e.Add((byte)'\'');
                foreach (byte b in arg)
                {
                    if (b == (byte)'\'') e.AddRange(Ascii("\\'"));
                    else e.Add(b);
                }
                e.Add((byte)'\'');
                break;
        }
        // In single quotes only \' is an escape: a backslash before the closing quote would escape it.
        if (style == 2 && arg.Length > 0 && arg[^1] == (byte)'\\')
        {
            arg = arg[..^1];
            return InlineArgumentFallback(arg, out encoded);
        }
        encoded = e.ToArray();
        return arg;
    }

    private static byte[] InlineArgumentFallback(byte[] arg, out byte[] encoded)
    {
        encoded = [(byte)'\'', .. arg.SelectMany(b => b == (byte)'\'' ? Ascii("\\'") : [b]), (byte)'\''];
        // The shortened argument may end in a backslash again: drop those too.
        if (arg.Length > 0 && arg[^1] == (byte)'\\') return InlineArgumentFallback(arg[..^1], out encoded);
        return arg;
    }

    // ---- mutations ----

    private static readonly byte[] Interesting = Ascii("\r\n$*:+-%~>|_#,(!=0123456789tf?x \"'\\\0\xFF");

    private static readonly string[] InterestingNumbers =
    [
        "2147483647", "2147483648", "4294967295", "4294967296", "536870912", "536870913", "9223372036854775807",
        "9223372036854775808", "18446744073709551615", "18446744073709551620", "99999999999999999999", "-1", "-2",
        "-0", "0", "00", "01", "-", "", "1x", "65536", "-9223372036854775808", "-9223372036854775809",
    ];

    /// <summary>Applies one to four random mutations: bit flips, RESP bytes, insertions, deletions, truncation,
    /// huge, negative or broken lengths, deep nesting, duplicated ranges.</summary>
    public static byte[] Mutate(Random rng, byte[] data)
    {
        var d = new List<byte>(data);
        int n = rng.Next(1, 5);
        for (int m = 0; m < n; m++)
        {
            int at = d.Count == 0 ? 0 : rng.Next(d.Count);
            switch (rng.Next(9))
            {
                case 0:
                    if (d.Count > 0) d[at] ^= (byte)(1 << rng.Next(8));
                    break;
                case 1:
                    if (d.Count > 0) d[at] = Interesting[rng.Next(Interesting.Length)];
                    break;
                case 2:
                    d.Insert(at, Interesting[rng.Next(Interesting.Length)]);
                    break;
                case 3:
                    if (d.Count > 0) d.RemoveRange(at, Math.Min(d.Count - at, rng.Next(1, 5)));
                    break;
                case 4:
                    if (d.Count > 0) d.RemoveRange(at, d.Count - at);
                    break;
                case 5:
                    ReplaceNumber(rng, d);
                    break;
                case 6:
                    {
                        // Nesting around the limits (128 by default) and far beyond.
                        int depth = new[] { 127, 128, 129, 200, 1000 }[rng.Next(5)];
                        string open = new[] { "*1\r\n", ">1\r\n", "~1\r\n", "%1\r\n+k\r\n" }[rng.Next(4)];
                        var prefix = Enumerable.Repeat(Ascii(open), depth).SelectMany(b => b);
                        d.InsertRange(rng.Next(2) == 0 ? 0 : at, prefix);
                        break;
                    }
                case 7:
                    if (d.Count > 0)
                    {
                        int length = Math.Min(d.Count - at, rng.Next(1, 64));
                        d.InsertRange(rng.Next(d.Count), d.GetRange(at, length));
                    }
                    break;
                default:
                    d.InsertRange(at, Ascii(new[] { "\r\n", "*", "$", "*1\r\n", "$-1\r\n", "\r", "\0", "*2147483647\r\n", "$2147483647\r\n" }[rng.Next(9)]));
                    break;
            }
        }
        return d.ToArray();
    }

    // Replaces the digits after a random type byte with an interesting number.
    private static void ReplaceNumber(Random rng, List<byte> d)
    {
        var starts = new List<int>();
        for (int i = 0; i + 1 < d.Count; i++)
            if (d[i] is (byte)'$' or (byte)'*' or (byte)':' or (byte)'%' or (byte)'~' or (byte)'>' or (byte)'|' or (byte)'!' or (byte)'=')
                starts.Add(i + 1);
        if (starts.Count == 0) return;
        int from = starts[rng.Next(starts.Count)];
        int to = from;
        while (to < d.Count && (d[to] is >= (byte)'0' and <= (byte)'9' || d[to] == (byte)'-')) to++;
        d.RemoveRange(from, to - from);
        d.InsertRange(from, Ascii(InterestingNumbers[rng.Next(InterestingNumbers.Length)]));
    }
}
