using System.Text;

namespace RedisTimer.Testing;

/// <summary>Bytes for a failure message, shared by the test projects (linked into each).</summary>
internal static class ByteText
{
    /// <summary>Bytes as a C#-like literal, cut after <paramref name="max"/> bytes.</summary>
    public static string Show(ReadOnlySpan<byte> data, int max = 600)
    {
        var sb = new StringBuilder("\"");
        foreach (byte b in data[..Math.Min(data.Length, max)])
        {
            sb.Append(b switch
            {
                (byte)'\r' => "\\r",
                (byte)'\n' => "\\n",
                (byte)'"' => "\\\"",
                (byte)'\\' => "\\\\",
                < 32 or >= 127 => $"\\x{b:X2}",
                _ => ((char)b).ToString(),
            });
        }
        sb.Append('"');
        if (data.Length > max) sb.Append($"... ({data.Length} bytes)");
        return sb.ToString();
    }
}
