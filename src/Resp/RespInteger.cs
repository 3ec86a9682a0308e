using System.Buffers;

namespace RedisTimer.Resp;

/// <summary>Integer parsing exactly as Redis's string2ll: no '+', no spaces, no leading zeros, no overflow.</summary>
public static class RespInteger
{
    public static bool TryParse(ReadOnlySpan<byte> s, out long value)
    {
        value = 0;
        if (s.IsEmpty || s.Length > 20) return false;
        if (s.Length == 1 && s[0] == (byte)'0') return true;
        int i = 0;
        bool negative = false;
        if (s[0] == (byte)'-')
        {
            negative = true;
            i = 1;
            if (s.Length == 1) return false;
        }
        // First digit 1-9: Redis refuses leading zeros (and "-0").
        if (s[i] < (byte)'1' || s[i] > (byte)'9') return false;
        ulong v = (ulong)(s[i] - '0');
        for (i++; i < s.Length; i++)
        {
            uint d = (uint)(s[i] - '0');
            if (d > 9) return false;
            if (v > (ulong.MaxValue - d) / 10) return false;
            v = v * 10 + d;
        }
        if (negative)
        {
            if (v > (ulong)long.MaxValue + 1) return false;
            value = (long)(0 - v);
        }
        else
        {
            if (v > long.MaxValue) return false;
            value = (long)v;
        }
        return true;
    }

    public static bool TryParse(in ReadOnlySequence<byte> s, out long value)
    {
        if (s.IsSingleSegment) return TryParse(s.FirstSpan, out value);
        if (s.Length > 20) { value = 0; return false; }
        Span<byte> tmp = stackalloc byte[20];
        s.CopyTo(tmp);
        return TryParse(tmp[..(int)s.Length], out value);
    }
}
