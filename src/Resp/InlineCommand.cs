namespace RedisTimer.Resp;

/// <summary>
/// Splits an inline command line the way Redis's sdssplitargs does: whitespace separates arguments,
/// "double quotes" understand \n \r \t \b \a \xHH and \c, 'single quotes' understand only \',
/// a closing quote must be followed by whitespace or the end, and a NUL byte ends the line (C string).
/// </summary>
public static class InlineCommand
{
    /// <summary>Returns the arguments, or null for unbalanced quotes.</summary>
    public static List<byte[]>? Split(ReadOnlySpan<byte> line)
    {
        var args = new List<byte[]>();
        var current = new List<byte>();
        int p = 0;
        // Reading past the end behaves like C's terminating NUL.
        byte At(ReadOnlySpan<byte> s, int i) => i < s.Length ? s[i] : (byte)0;
        var l = line;
        while (true)
        {
            while (At(l, p) != 0 && IsSpace(At(l, p))) p++;
            if (At(l, p) == 0) return args;

            bool inDouble = false, inSingle = false, done = false;
            current.Clear();
            while (!done)
            {
                byte c = At(l, p);
                if (inDouble)
                {
                    if (c == '\\' && At(l, p + 1) == 'x' && IsHex(At(l, p + 2)) && IsHex(At(l, p + 3)))
                    {
                        current.Add((byte)(HexValue(At(l, p + 2)) * 16 + HexValue(At(l, p + 3))));
                        p += 3;
                    }
                    else if (c == '\\' && At(l, p + 1) != 0)
                    {
                        p++;
                        current.Add(At(l, p) switch
                        {
                            (byte)'n' => (byte)'\n',
                            (byte)'r' => (byte)'\r',
                            (byte)'t' => (byte)'\t',
                            (byte)'b' => (byte)'\b',
                            (byte)'a' => (byte)'\a',
                            var other => other,
                        });
                    }
                    else if (c == '"')
                    {
                        if (At(l, p + 1) != 0 && !IsSpace(At(l, p + 1))) return null;
                        done = true;
                    }
                    else if (c == 0) return null;
                    else current.Add(c);
                }
                else if (inSingle)
                {
                    if (c == '\\' && At(l, p + 1) == '\'')
                    {
                        p++;
                        current.Add((byte)'\'');
                    }
                    else if (c == '\'')
                    {
                        if (At(l, p + 1) != 0 && !IsSpace(At(l, p + 1))) return null;
                        done = true;
                    }
                    else if (c == 0) return null;
                    else current.Add(c);
                }
                else
                {
                    switch (c)
                    {
                        case (byte)' ': case (byte)'\n': case (byte)'\r': case (byte)'\t': case 0:
                            done = true; break;
                        case (byte)'"': inDouble = true; break;
                        case (byte)'\'': inSingle = true; break;
                        default: current.Add(c); break;
                    }
                }
                if (At(l, p) != 0) p++;
            }
            args.Add(current.ToArray());
        }
    }

    // C isspace: space, \t, \n, \v, \f, \r.
    private static bool IsSpace(byte c) => c == ' ' || (c >= 9 && c <= 13);
    private static bool IsHex(byte c) => (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    private static int HexValue(byte c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}
