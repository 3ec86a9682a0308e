using System.Text;

namespace RedisTimer.Proxy.Commands;

/// <summary>What the session does with a command.</summary>
public enum CommandRoute : byte
{
    /// <summary>The frame's bytes go to the client's upstream connection unchanged.</summary>
    Forward,
    /// <summary>Forwarded; Redis replies and then closes the connection, which is not an upstream failure.</summary>
    ForwardThenClose,
    /// <summary>Forwarded; the session notes that a transaction begins (TIMER.NEWs are then not merged).</summary>
    ForwardMulti,
    /// <summary>Forwarded; EXEC always ends a transaction (a refused EXEC discards it).</summary>
    ForwardExec,
    /// <summary>Forwarded; a DISCARD of the right arity ends a transaction.</summary>
    ForwardDiscard,
    /// <summary>Forwarded; from here on replies may not answer requests one to one (pub/sub, MONITOR, replication).</summary>
    ForwardRepliesUncounted,
    /// <summary>Forwarded; the session notes the database the client selects (timer events name it).</summary>
    ForwardSelect,
    /// <summary>Forwarded; RESET also returns the client to database 0.</summary>
    ForwardReset,
    /// <summary>Forwarded; CLIENT REPLY means replies no longer answer requests one to one.</summary>
    ForwardClient,
    TimerNew,
    TimerKill,
    TimerInfo,
    // Keyspace commands that must know about timers; rewritten only once timers exist, so that a proxy
    // without timers leaves Redis's command statistics exactly as a direct connection would.
    Type,
    Rename,
    RenameNx,
    Move,
    Copy,
    Scan,
    Restore,
}

/// <summary>
/// The routing seam: the one place that decides, from a command's name, whether the proxy forwards it or
/// handles it. Names are matched case-insensitively on the raw bytes, with no allocation; the length check
/// first means the common GET/SET/HSET... cost one comparison.
/// </summary>
public static class CommandTable
{
    public static CommandRoute Route(ReadOnlySpan<byte> name)
    {
        switch (name.Length)
        {
            case 4:
                if (Ascii.EqualsIgnoreCase(name, "TYPE"u8)) return CommandRoute.Type;
                if (Ascii.EqualsIgnoreCase(name, "EXEC"u8)) return CommandRoute.ForwardExec;
                if (Ascii.EqualsIgnoreCase(name, "SYNC"u8)) return CommandRoute.ForwardRepliesUncounted;
                if (Ascii.EqualsIgnoreCase(name, "SCAN"u8)) return CommandRoute.Scan;
                if (Ascii.EqualsIgnoreCase(name, "QUIT"u8)) return CommandRoute.ForwardThenClose;
                if (Ascii.EqualsIgnoreCase(name, "MOVE"u8)) return CommandRoute.Move;
                if (Ascii.EqualsIgnoreCase(name, "COPY"u8)) return CommandRoute.Copy;
                break;
            case 5:
                if (Ascii.EqualsIgnoreCase(name, "RESET"u8)) return CommandRoute.ForwardReset;
                if (Ascii.EqualsIgnoreCase(name, "MULTI"u8)) return CommandRoute.ForwardMulti;
                if (Ascii.EqualsIgnoreCase(name, "PSYNC"u8)) return CommandRoute.ForwardRepliesUncounted;
                break;
            case 6:
                if (Ascii.EqualsIgnoreCase(name, "SELECT"u8)) return CommandRoute.ForwardSelect;
                if (Ascii.EqualsIgnoreCase(name, "RENAME"u8)) return CommandRoute.Rename;
                if (Ascii.EqualsIgnoreCase(name, "CLIENT"u8)) return CommandRoute.ForwardClient;
                break;
            case 7:
                if (Ascii.EqualsIgnoreCase(name, "RESTORE"u8)) return CommandRoute.Restore;
                if (Ascii.EqualsIgnoreCase(name, "DISCARD"u8)) return CommandRoute.ForwardDiscard;
                if (Ascii.EqualsIgnoreCase(name, "MONITOR"u8)) return CommandRoute.ForwardRepliesUncounted;
                break;
            case 8:
                if (Ascii.EqualsIgnoreCase(name, "RENAMENX"u8)) return CommandRoute.RenameNx;
                if (Ascii.EqualsIgnoreCase(name, "REPLCONF"u8)) return CommandRoute.ForwardRepliesUncounted; // ACK, GETACK: no reply
                break;
            case 9:
                if (Ascii.EqualsIgnoreCase(name, "TIMER.NEW"u8)) return CommandRoute.TimerNew;
                if (Ascii.EqualsIgnoreCase(name, "SUBSCRIBE"u8)) return CommandRoute.ForwardRepliesUncounted;
                break;
            case 10:
                if (Ascii.EqualsIgnoreCase(name, "TIMER.KILL"u8)) return CommandRoute.TimerKill;
                if (Ascii.EqualsIgnoreCase(name, "TIMER.INFO"u8)) return CommandRoute.TimerInfo;
                if (Ascii.EqualsIgnoreCase(name, "PSUBSCRIBE"u8) || Ascii.EqualsIgnoreCase(name, "SSUBSCRIBE"u8))
                    return CommandRoute.ForwardRepliesUncounted;
                break;
            case 11:
                if (Ascii.EqualsIgnoreCase(name, "UNSUBSCRIBE"u8)) return CommandRoute.ForwardRepliesUncounted;
                break;
            case 12:
                if (Ascii.EqualsIgnoreCase(name, "PUNSUBSCRIBE"u8) || Ascii.EqualsIgnoreCase(name, "SUNSUBSCRIBE"u8))
                    return CommandRoute.ForwardRepliesUncounted;
                break;
        }
        return CommandRoute.Forward;
    }

    /// <summary>Routes whose frame the session must see whole (to rewrite it or read an argument).</summary>
    public static bool NeedsWholeFrame(CommandRoute route) => route >= CommandRoute.ForwardSelect;

    /// <summary>The TIMER.* commands, always handled by the proxy.</summary>
    public static bool IsTimerCommand(CommandRoute route) => route is CommandRoute.TimerNew or CommandRoute.TimerKill or CommandRoute.TimerInfo;
}
