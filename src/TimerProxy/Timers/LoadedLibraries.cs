using System.Text;

namespace RedisTimer.Proxy.Timers;

/// <summary>The libraries a <c>FUNCTION LIST WITHCODE</c> reply (RESP2) names, with their code, and what they
/// mean for timers: the proxy's own, code with the prelude, code that calls TIMER.* without it.</summary>
public sealed record LoadedLibrary(string Name, byte[] Code)
{
    public bool IsTimerLibrary => Name == TimerSchema.LibraryName;

    /// <summary>Loaded through the proxy (or restored from such a dump): its code may create timers at any time.</summary>
    public bool HasPrelude => LuaPrelude.HasPrelude(Code);

    /// <summary>Calls TIMER.* but was loaded straight into Redis: those calls fail there.</summary>
    public bool CallsTimersWithoutPrelude => !IsTimerLibrary && !HasPrelude && LuaPrelude.MentionsTimer(Code);

    /// <summary>Reads the reply; libraries whose fields it cannot find are left out.</summary>
    public static List<LoadedLibrary> Parse(ReadOnlySpan<byte> reply)
    {
        int at = 0;
        var libraries = new List<LoadedLibrary>();
        if (Read(reply, ref at) is not List<object?> list) return libraries;
        foreach (var item in list)
        {
            if (item is not List<object?> fields) continue;
            string? name = null;
            byte[]? code = null;
            for (int i = 0; i + 1 < fields.Count; i += 2)
            {
                if (fields[i] is not byte[] key) continue;
                if (key.AsSpan().SequenceEqual("library_name"u8) && fields[i + 1] is byte[] n) name = Encoding.UTF8.GetString(n);
                if (key.AsSpan().SequenceEqual("library_code"u8) && fields[i + 1] is byte[] c) code = c;
            }
            if (name is not null && code is not null) libraries.Add(new LoadedLibrary(name, code));
        }
        return libraries;
    }

    // Bulk and simple strings as byte[], arrays as lists, anything else as null.
    private static object? Read(ReadOnlySpan<byte> s, ref int at)
    {
        byte type = s[at];
        int end = at + s[at..].IndexOf("\r\n"u8);
        var line = s[(at + 1)..end];
        at = end + 2;
        switch (type)
        {
            case (byte)'$':
                int length = int.Parse(line);
                if (length < 0) return null;
                var bytes = s.Slice(at, length).ToArray();
                at += length + 2;
                return bytes;
            case (byte)'+':
                return line.ToArray();
            case (byte)'*':
                int count = int.Parse(line);
                var items = new List<object?>(Math.Max(count, 0));
                for (int i = 0; i < count; i++) items.Add(Read(s, ref at));
                return items;
            default:
                return null;
        }
    }
}
