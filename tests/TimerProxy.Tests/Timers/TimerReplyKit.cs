using System.Text;
using System.Text.RegularExpressions;
using RedisTimer.Proxy.Tests.Infrastructure;

namespace RedisTimer.Proxy.Tests.Timers;

/// <summary>
/// Expected replies of TIMER.* as the module writes them (shared/TIMER_SEMANTICS.md sections 1 and 2), as the
/// latin1 text RawClient returns, and small helpers for the TimerReply* tests.
/// </summary>
internal static partial class TimerReplyKit
{
    public const string WrongType = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    public const string InvalidInterval = "-ERR invalid interval\r\n";
    public const string InvalidNumkeys = "-ERR invalid numkeys\r\n";
    public const string ModuleWrongType = "-ERR wrong type\r\n";

    public static string Arity(string lowerName) => $"-ERR wrong number of arguments for '{lowerName}' command\r\n";

    public static string Bulk(string latin1) => $"${latin1.Length}\r\n{latin1}\r\n";
    public static string Bulk(byte[] bytes) => Bulk(Encoding.Latin1.GetString(bytes));
    public static string Int(long n) => $":{n}\r\n";
    public static string Nil(int protocol) => protocol == 3 ? "_\r\n" : "$-1\r\n";
    public static string NullArray(int protocol) => protocol == 3 ? "_\r\n" : "*-1\r\n";

    /// <summary>A byte string as RawClient prints it (latin1: one char per byte).</summary>
    public static string L1(byte[] bytes) => Encoding.Latin1.GetString(bytes);

    /// <summary>Every byte value once, CR LF among them: a binary key or arg.</summary>
    public static readonly byte[] AllBytes = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();

    /// <summary>
    /// TIMER.INFO of a timer, with "remaining" written as <paramref name="remaining"/> (tests replace the real
    /// value by a placeholder with <see cref="TakeRemaining"/>): a flat array in RESP2, a map in RESP3.
    /// </summary>
    public static string Info(int protocol, string function, long interval, bool loop, string[]? keys = null, string[]? args = null,
        string remaining = "R")
    {
        keys ??= [];
        args ??= [];
        int pairs = 4 + keys.Length + args.Length;
        var sb = new StringBuilder(protocol == 3 ? $"%{pairs}\r\n" : $"*{2 * pairs}\r\n");
        sb.Append(Bulk("function")).Append(Bulk(function));
        sb.Append(Bulk("interval")).Append(Int(interval));
        sb.Append(Bulk("remaining")).Append($":{remaining}\r\n");
        sb.Append(Bulk("loop")).Append(protocol == 3 ? (loop ? "#t\r\n" : "#f\r\n") : (loop ? ":1\r\n" : ":0\r\n"));
        for (int i = 0; i < keys.Length; i++) sb.Append(Bulk($"key{i + 1}")).Append(Bulk(keys[i]));
        for (int i = 0; i < args.Length; i++) sb.Append(Bulk($"arg{i + 1}")).Append(Bulk(args[i]));
        return sb.ToString();
    }

    [GeneratedRegex(@"\$9\r\nremaining\r\n:(-?\d+)\r\n")]
    private static partial Regex RemainingField();

    /// <summary>Replaces every "remaining" value in <paramref name="reply"/> by "R"; returns them in order.</summary>
    public static string TakeRemaining(string reply, out List<long> values)
    {
        var found = new List<long>();
        string replaced = RemainingField().Replace(reply, m =>
        {
            found.Add(long.Parse(m.Groups[1].Value));
            return "$9\r\nremaining\r\n:R\r\n";
        });
        values = found;
        return replaced;
    }

    /// <summary>The reply with its single "remaining" value taken out.</summary>
    public static string TakeRemaining(string reply, out long remaining)
    {
        string replaced = TakeRemaining(reply, out List<long> values);
        Assert.True(values.Count == 1, $"expected one 'remaining' field in {Show(reply)}");
        remaining = values[0];
        return replaced;
    }

    /// <summary>A key name no other test uses.</summary>
    public static string Key(string prefix) => $"rtr:{prefix}:{Guid.NewGuid():N}";

    /// <summary>A proxy connection speaking <paramref name="protocol"/> (HELLO 3 sent for RESP3).</summary>
    public static async Task<RawClient> ConnectAsync(TimerFixture fx, int protocol)
    {
        var c = await fx.ConnectProxyAsync();
        if (protocol == 3)
        {
            string hello = await c.CallAsync("HELLO", "3");
            Assert.StartsWith("%7\r\n", hello);
        }
        return c;
    }

    /// <summary>Readable form of a reply for assertion messages.</summary>
    public static string Show(string reply) => reply.Replace("\r", "\\r").Replace("\n", "\\n");

    /// <summary>Every key a full SCAN (all cursors) returns for these options.</summary>
    public static async Task<List<string>> ScanAllAsync(RawClient c, params string[] options)
    {
        var keys = new List<string>();
        string cursor = "0";
        do
        {
            string reply = await c.CallAsync(["SCAN", cursor, .. options]);
            // *2 $n cursor *m $.. keys
            Assert.StartsWith("*2\r\n$", reply);
            int lineEnd = reply.IndexOf("\r\n", 4, StringComparison.Ordinal);
            int len = int.Parse(reply.AsSpan(5, lineEnd - 5));
            cursor = reply.Substring(lineEnd + 2, len);
            string rest = reply[(lineEnd + 2 + len + 2)..];
            keys.AddRange(TimerFixture.ParseBulkArray(rest));
        } while (cursor != "0");
        return keys;
    }

    /// <summary>A direct connection to Redis in database <paramref name="db"/>.</summary>
    public static async Task<RawClient> DirectAsync(TimerFixture fx, int db = 0)
    {
        var c = await fx.ConnectRedisAsync();
        if (db != 0) Assert.Equal("+OK\r\n", await c.CallAsync("SELECT", db));
        return c;
    }
}
