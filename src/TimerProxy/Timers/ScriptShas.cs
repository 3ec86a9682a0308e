using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace RedisTimer.Proxy.Timers;

/// <summary>
/// Scripts that got the prelude are cached by Redis under the SHA1 of the script with it; the client knows the SHA1
/// of what it sent. This maps the one to the other for the scripts this proxy has rewritten (EVAL, SCRIPT LOAD), so
/// that EVALSHA and SCRIPT EXISTS of the client's SHA1 work, and replies show it. The map is a pure function of the
/// script (and the prelude's version), so one map serves every session. A SHA1 it does not know (after a restart,
/// or a script rewritten by another proxy) goes to Redis as it is: NOSCRIPT, and the client sends the script again.
/// </summary>
public static class ScriptShas
{
    private static readonly ConcurrentDictionary<string, byte[]> Stored = new();
    private static readonly ConcurrentDictionary<string, byte[]>.AlternateLookup<ReadOnlySpan<char>> ByChars =
        Stored.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>No script was rewritten yet: EVALSHA and SCRIPT EXISTS need no look.</summary>
    public static bool IsEmpty => Stored.IsEmpty;

    /// <summary>The SHA1 (40 lower-case hex digits) of a script.</summary>
    public static byte[] Of(ReadOnlySpan<byte> script)
    {
        Span<byte> hash = stackalloc byte[20];
        SHA1.HashData(script, hash);
        return Encoding.ASCII.GetBytes(Convert.ToHexStringLower(hash));
    }

    /// <summary>Records a rewrite; returns the client's SHA1 and the stored one.</summary>
    public static (byte[] User, byte[] Stored) Remember(ReadOnlySpan<byte> sent, ReadOnlySpan<byte> rewritten)
    {
        var user = Of(sent);
        var stored = Of(rewritten);
        Stored[Encoding.ASCII.GetString(user)] = stored;
        return (user, stored);
    }

    /// <summary>The stored SHA1 for a client's (any case, as Redis takes it), or null.</summary>
    public static byte[]? Find(ReadOnlySpan<byte> sha)
    {
        if (sha.Length != 40 || Stored.IsEmpty) return null;
        Span<char> chars = stackalloc char[40];
        for (int i = 0; i < 40; i++) chars[i] = (char)(sha[i] is >= (byte)'A' and <= (byte)'Z' ? sha[i] + 32 : sha[i]);
        return ByChars.TryGetValue(chars, out var stored) ? stored : null;
    }
}
