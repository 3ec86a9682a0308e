using System.Buffers;
using System.Reflection;
using System.Text;

namespace RedisTimer.Proxy.Timers;

/// <summary>
/// The prelude the proxy puts into user code that calls TIMER.* (timer-prelude.lua after timer-core.lua, the core
/// the redistimer library is built from too), so that such code runs as it does with the module. It goes on the
/// code's first line of Lua (after a <c>#!lua</c> line), so every line of the user's keeps its number in errors.
/// </summary>
public static class LuaPrelude
{
    private const string Begin = "--[[RedisTimer prelude ";
    private const string End = "--[[/RedisTimer prelude]] ";

    /// <summary>The one-line prelude, between markers that let the proxy find it again (code read back with
    /// FUNCTION LIST WITHCODE and loaded once more gets the current prelude, not a second one).</summary>
    public static readonly string Text =
        $"{Begin}{TimerSchema.Version}: TIMER.* inside this code, see docs/LUA.md]] local redis = (function() "
        + OneLine(ReadResource("timer-core.lua")) + " " + OneLine(ReadResource("timer-prelude.lua"))
        + $" end)(); {End}";

    private static readonly byte[] TextBytes = Encoding.UTF8.GetBytes(Text);
    private static readonly byte[] BeginBytes = Encoding.ASCII.GetBytes(Begin);
    private static readonly byte[] EndBytes = Encoding.ASCII.GetBytes(End);

    /// <summary>Whether code mentions TIMER. in any case: the test for a library or script to get the prelude.</summary>
    public static bool MentionsTimer(in ReadOnlySequence<byte> code)
    {
        if (code.IsSingleSegment) return MentionsTimer(code.FirstSpan);
        return MentionsTimer((ReadOnlySpan<byte>)code.ToArray());
    }

    public static bool MentionsTimer(ReadOnlySpan<byte> code)
    {
        for (int at = code.IndexOf((byte)'.'); at >= 0; )
        {
            if (at >= 5 && Ascii.EqualsIgnoreCase(code.Slice(at - 5, 5), "timer"u8)) return true;
            int next = code[(at + 1)..].IndexOf((byte)'.');
            at = next < 0 ? -1 : at + 1 + next;
        }
        return false;
    }

    /// <summary>Whether code carries a prelude (of any version).</summary>
    public static bool HasPrelude(ReadOnlySpan<byte> code) => code.IndexOf(BeginBytes) >= 0;

    /// <summary>The code with the current prelude: after the first line when that is a <c>#!</c> line (a
    /// library's always is; a script's may be), else before everything. A prelude already there is replaced.</summary>
    public static byte[] AddTo(ReadOnlySpan<byte> code)
    {
        code = Without(code);
        int at = 0;
        bool needsNewline = false; // a "#!lua name=..." with nothing after it
        if (code.StartsWith("#!"u8))
        {
            int newline = code.IndexOf((byte)'\n');
            needsNewline = newline < 0;
            at = needsNewline ? code.Length : newline + 1;
        }
        var result = new byte[code.Length + TextBytes.Length + (needsNewline ? 1 : 0)];
        code[..at].CopyTo(result);
        int pos = at;
        if (needsNewline) result[pos++] = (byte)'\n';
        TextBytes.CopyTo(result, pos);
        code[at..].CopyTo(result.AsSpan(pos + TextBytes.Length));
        return result;
    }

    /// <summary>The code without a prelude of any version (as the user wrote it).</summary>
    private static ReadOnlySpan<byte> Without(ReadOnlySpan<byte> code)
    {
        int begin = code.IndexOf(BeginBytes);
        if (begin < 0) return code;
        int end = code[begin..].IndexOf(EndBytes);
        if (end < 0) return code;
        byte[] without = [.. code[..begin], .. code[(begin + end + EndBytes.Length)..]];
        return without;
    }

    /// <summary>Lua source on one line: comments dropped, line breaks and runs of blanks made one space. Valid
    /// Lua 5.1 never starts a line with '(' after an expression (Redis's Lua refuses that as ambiguous), so
    /// joining lines keeps the meaning. Long strings and long comments are not supported (none in our sources).</summary>
    internal static string OneLine(string lua)
    {
        var sb = new StringBuilder(lua.Length);
        for (int i = 0; i < lua.Length; i++)
        {
            char c = lua[i];
            if (c is '\'' or '"')
            {
                int start = i++;
                while (i < lua.Length && lua[i] != c)
                {
                    if (lua[i] == '\\') i++;
                    if (i < lua.Length && lua[i] == '\n') throw new InvalidDataException("a string spans lines");
                    i++;
                }
                sb.Append(lua, start, i - start + 1);
                continue;
            }
            if (c == '[' && i + 1 < lua.Length && lua[i + 1] is '[' or '=') throw new InvalidDataException("long strings are not supported");
            if (c == '-' && i + 1 < lua.Length && lua[i + 1] == '-')
            {
                if (i + 2 < lua.Length && lua[i + 2] == '[') throw new InvalidDataException("long comments are not supported");
                while (i < lua.Length && lua[i] != '\n') i++;
                c = ' ';
            }
            if (char.IsWhiteSpace(c))
            {
                if (sb.Length > 0 && sb[^1] != ' ') sb.Append(' ');
                continue;
            }
            sb.Append(c);
        }
        return sb.ToString().Trim();
    }

    internal static string ReadResource(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"{name} is not embedded");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
