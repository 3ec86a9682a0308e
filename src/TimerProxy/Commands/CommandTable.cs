using System.Text;
using RedisTimer.Proxy.Server.Replies;
using static RedisTimer.Proxy.Commands.CommandFlags;

namespace RedisTimer.Proxy.Commands;

/// <summary>
/// Every command the proxy does anything about, in one place: adding one means adding an entry. Names are matched
/// case-insensitively on the raw bytes without allocating; entries are grouped by name length, so the common
/// GET/SET/HSET... cost one comparison of lengths.
/// </summary>
public static class CommandTable
{
    /// <summary>Any command not in the table: its bytes go to the client's upstream connection unchanged.</summary>
    public static readonly CommandInfo Forward = new("(forward)", -1, None);

    // The module registers TIMER.* with arity -1 and checks arity itself; so does the library.
    public static readonly CommandInfo TimerNew = new("TIMER.NEW", -1, WholeFrame | TimerCommand | WritesTimers, TimerCommandRewriter.New);
    public static readonly CommandInfo TimerKill = new("TIMER.KILL", -1, WholeFrame | TimerCommand | WritesTimers, TimerCommandRewriter.Kill);
    public static readonly CommandInfo TimerInfo = new("TIMER.INFO", -1, WholeFrame | TimerCommand, TimerCommandRewriter.Info, ReplyAction.RewriteInfo);
    /// <summary>The proxy's own figures (no module counterpart); the session writes its call, which carries them.</summary>
    public static readonly CommandInfo TimerStats = new("TIMER.STATS", -1, WholeFrame | TimerCommand, null, ReplyAction.RewriteInfo);
    /// <summary>The timers of the selected database, a page at a time (no module counterpart).</summary>
    public static readonly CommandInfo TimerList = new("TIMER.LIST", -1, WholeFrame | TimerCommand, TimerCommandRewriter.List, ReplyAction.RewriteInfo);
    public static readonly CommandInfo Exec = new("EXEC", 1, EndsTransaction);
    /// <summary>COMMAND INFO / DOCS that name TIMER.* commands get their entries added to Redis's reply.</summary>
    public static readonly CommandInfo Command = new("COMMAND", -1, WholeFrame);

    /// <summary>FUNCTION LOAD of a library that calls TIMER.* gets the prelude (LuaPrelude); the rest is forwarded.</summary>
    public static readonly CommandInfo Function = new("FUNCTION", -2, WholeFrame);
    /// <summary>EVAL and EVAL_RO of a script that calls TIMER.* get the prelude.</summary>
    public static readonly CommandInfo Eval = new("EVAL", -3, WholeFrame);
    public static readonly CommandInfo EvalRo = new("EVAL_RO", -3, WholeFrame);
    /// <summary>EVALSHA and EVALSHA_RO of a client's SHA1 whose script got the prelude name the stored script.</summary>
    public static readonly CommandInfo EvalSha = new("EVALSHA", -3, WholeFrame | WhileScriptsRewritten);
    public static readonly CommandInfo EvalShaRo = new("EVALSHA_RO", -3, WholeFrame | WhileScriptsRewritten);
    /// <summary>SCRIPT LOAD of a script that calls TIMER.* gets the prelude; SCRIPT EXISTS knows the client's SHA1s.</summary>
    public static readonly CommandInfo Script = new("SCRIPT", -2, WholeFrame);

    /// <summary>All entries, as the session reads them.</summary>
    public static readonly IReadOnlyList<CommandInfo> All =
    [
        TimerNew,
        TimerKill,
        TimerInfo,
        TimerStats,
        TimerList,
        // Keyspace commands that must know about timers (arity as Redis 7.0's; another arity is Redis's to refuse).
        new("TYPE", 2, WholeFrame | WhileTimersExist, TimerCommandRewriter.Type),
        new("RENAME", 3, WholeFrame | WhileTimersExist, TimerCommandRewriter.Rename),
        new("RENAMENX", 3, WholeFrame | WhileTimersExist, TimerCommandRewriter.RenameNx),
        new("MOVE", 3, WholeFrame | WhileTimersExist, TimerCommandRewriter.Move),
        new("COPY", -3, WholeFrame | WhileTimersExist, TimerCommandRewriter.Copy),
        new("SCAN", -2, WholeFrame | WhileTimersExist, TimerCommandRewriter.Scan),
        new("RESTORE", -4, WholeFrame | WhileTimersExist, TimerCommandRewriter.Restore),
        Command,
        Function,
        Eval,
        EvalRo,
        EvalSha,
        EvalShaRo,
        Script,
        // Commands the session follows as they pass.
        new("SELECT", 2, WholeFrame | SelectsDatabase),
        new("RESET", 1, WholeFrame | Resets),
        new("CLIENT", -2, WholeFrame | MayEndCounting),
        new("MULTI", 1, BeginsTransaction),
        Exec,
        new("DISCARD", 1, EndsTransaction),
        new("QUIT", -1, ClosesConnection),
        new("SUBSCRIBE", -2, EndsCounting),
        new("PSUBSCRIBE", -2, EndsCounting),
        new("SSUBSCRIBE", -2, EndsCounting),
        new("UNSUBSCRIBE", -1, EndsCounting),
        new("PUNSUBSCRIBE", -1, EndsCounting),
        new("SUNSUBSCRIBE", -1, EndsCounting),
        new("MONITOR", 1, EndsCounting),
        new("SYNC", 1, EndsCounting),
        new("PSYNC", -3, EndsCounting),
        new("REPLCONF", -1, EndsCounting), // ACK and GETACK get no reply
    ];

    private static readonly CommandInfo[][] ByLength = GroupByLength();

    private static CommandInfo[][] GroupByLength()
    {
        var groups = new CommandInfo[All.Max(c => c.NameBytes.Length) + 1][];
        for (int length = 0; length < groups.Length; length++) groups[length] = All.Where(c => c.NameBytes.Length == length).ToArray();
        return groups;
    }

    /// <summary>The entry for a command name, or <see cref="Forward"/>.</summary>
    public static CommandInfo Find(ReadOnlySpan<byte> name)
    {
        if (name.Length >= ByLength.Length) return Forward;
        foreach (var command in ByLength[name.Length])
            if (Ascii.EqualsIgnoreCase(name, command.NameBytes)) return command;
        return Forward;
    }
}
