using System.Buffers;
using System.Text;
using RedisTimer.Resp;

namespace RedisTimer.Proxy.Commands;

/// <summary>
/// What COMMAND INFO and COMMAND DOCS answer for the TIMER.* commands, which Redis itself does not know. INFO is
/// what Redis 7.0 answers for the module's commands (TIMER_SEMANTICS section 2: arity -1, the module's flags, the
/// id as the only key, with the key spec Redis makes of a module's (1, 1, 1) triple); the proxy's own TIMER.STATS
/// and TIMER.LIST take no key. DOCS gives each a summary, in the group Redis gives module commands.
/// </summary>
public static class TimerCommandDocs
{
    private sealed record Entry(string Name, string[] Flags, bool IdIsKey, string Summary, string Complexity)
    {
        public byte[] NameBytes { get; } = Encoding.ASCII.GetBytes(Name);
    }

    private static readonly Entry[] Entries =
    [
        new("timer.new", ["write", "denyoom", "module"], true,
            "Creates or resets a timer that calls a function after an interval, once or in a loop", "O(log(N)) with N the timers of the database"),
        new("timer.kill", ["write", "module", "fast"], true, "Deletes a timer", "O(log(N)) with N the timers of the database"),
        new("timer.info", ["readonly", "module", "fast"], true,
            "Returns a timer's function, interval, remaining time, loop flag, keys and arguments", "O(1)"),
        new("timer.stats", ["readonly", "module", "fast"], false, "Returns the proxy's figures of the timers it created, killed and fired", "O(1)"),
        new("timer.list", ["readonly", "module"], false,
            "Lists the timers of the database a page at a time, with their runs and last outcome",
            "O(1) for every call. O(N) for a complete iteration, N being the timers of the database"),
    ];

    /// <summary>The entry of a TIMER.* name (any case), or -1.</summary>
    public static int Find(ReadOnlySpan<byte> name)
    {
        for (int i = 0; i < Entries.Length; i++)
            if (Ascii.EqualsIgnoreCase(name, Entries[i].NameBytes)) return i;
        return -1;
    }

    /// <summary>One element of COMMAND INFO's reply, as Redis writes it (sets in RESP3, arrays in RESP2).</summary>
    public static void WriteInfo(int entry, bool resp3, IBufferWriter<byte> output)
    {
        var e = Entries[entry];
        RespWriter.WriteArrayHeader(output, 10);
        RespWriter.WriteBulkString(output, e.NameBytes);
        RespWriter.WriteInteger(output, -1);
        WriteSetHeader(output, e.Flags.Length, resp3);
        foreach (var flag in e.Flags) RespWriter.WriteSimpleString(output, Encoding.ASCII.GetBytes(flag));
        int key = e.IdIsKey ? 1 : 0;
        RespWriter.WriteInteger(output, key);
        RespWriter.WriteInteger(output, key);
        RespWriter.WriteInteger(output, key);
        WriteSetHeader(output, 0, resp3); // ACL categories: Redis 7.0 gives module commands none
        WriteSetHeader(output, 0, resp3); // tips
        WriteSetHeader(output, key, resp3);
        if (e.IdIsKey) WriteIdKeySpec(output, resp3);
        WriteSetHeader(output, 0, resp3); // subcommands
    }

    /// <summary>One name and its doc in COMMAND DOCS's reply (a map in RESP3, a flat array in RESP2).</summary>
    public static void WriteDocs(int entry, bool resp3, IBufferWriter<byte> output)
    {
        var e = Entries[entry];
        RespWriter.WriteBulkString(output, e.NameBytes);
        RespWriter.WriteMapHeader(output, 4, resp3);
        Pair(output, "summary", e.Summary);
        Pair(output, "since", "1.0.0");
        Pair(output, "group", "module");
        Pair(output, "complexity", e.Complexity);
    }

    // The spec Redis 7.0 derives from a module's (first, last, step) = (1, 1, 1).
    private static void WriteIdKeySpec(IBufferWriter<byte> output, bool resp3)
    {
        RespWriter.WriteMapHeader(output, 3, resp3);
        Bulk(output, "flags");
        WriteSetHeader(output, 3, resp3);
        output.Write("+RW\r\n+access\r\n+update\r\n"u8);
        Bulk(output, "begin_search");
        RespWriter.WriteMapHeader(output, 2, resp3);
        Pair(output, "type", "index");
        Bulk(output, "spec");
        RespWriter.WriteMapHeader(output, 1, resp3);
        Bulk(output, "index");
        RespWriter.WriteInteger(output, 1);
        Bulk(output, "find_keys");
        RespWriter.WriteMapHeader(output, 2, resp3);
        Pair(output, "type", "range");
        Bulk(output, "spec");
        RespWriter.WriteMapHeader(output, 3, resp3);
        Bulk(output, "lastkey");
        RespWriter.WriteInteger(output, 0);
        Bulk(output, "keystep");
        RespWriter.WriteInteger(output, 1);
        Bulk(output, "limit");
        RespWriter.WriteInteger(output, 0);
    }

    private static void WriteSetHeader(IBufferWriter<byte> output, int count, bool resp3) =>
        output.Write(Encoding.ASCII.GetBytes($"{(resp3 ? '~' : '*')}{count}\r\n"));

    private static void Bulk(IBufferWriter<byte> output, string value) => RespWriter.WriteBulkString(output, Encoding.ASCII.GetBytes(value));

    private static void Pair(IBufferWriter<byte> output, string name, string value)
    {
        Bulk(output, name);
        Bulk(output, value);
    }
}
