using System.Buffers;
using System.Text;
using RedisTimer.Proxy.Server.Replies;

namespace RedisTimer.Proxy.Commands;

/// <summary>What the session must know of a command before or while it sends it upstream.</summary>
[Flags]
public enum CommandFlags : ushort
{
    None = 0,
    /// <summary>The session takes the frame whole: to rewrite it, or to read an argument.</summary>
    WholeFrame = 1 << 0,
    /// <summary>TIMER.*: answered through the proxy's library, which is loaded before the first one is sent.</summary>
    TimerCommand = 1 << 1,
    /// <summary>Rewritten only while this proxy has timers, so that a proxy without timers leaves Redis's
    /// command statistics exactly as a direct connection would (otherwise forwarded unchanged).</summary>
    WhileTimersExist = 1 << 2,
    /// <summary>MULTI: TIMER.NEWs are queued one by one until the transaction ends.</summary>
    BeginsTransaction = 1 << 3,
    /// <summary>EXEC, DISCARD (with Redis's arity; a refused one leaves the transaction open).</summary>
    EndsTransaction = 1 << 4,
    /// <summary>From here on replies no longer answer requests one to one (pub/sub, MONITOR, replication).</summary>
    EndsCounting = 1 << 5,
    /// <summary>RESET: back to database 0, no transaction, and no more merged TIMER.NEWs (RESET signs the
    /// connection in as the default user, and Redis closes a connection not signed in that sends a request
    /// of more than 10 elements, as a merged call may be).</summary>
    Resets = 1 << 6,
    /// <summary>SELECT: the session follows the client's database (timer commands name it).</summary>
    SelectsDatabase = 1 << 7,
    /// <summary>CLIENT: its REPLY subcommand ends counting.</summary>
    MayEndCounting = 1 << 8,
    /// <summary>QUIT: Redis replies and closes the connection, which is then no upstream failure.</summary>
    ClosesConnection = 1 << 9,
    /// <summary>TIMER.NEW, TIMER.KILL: with <c>--wait-replicas</c> the reply waits until replicas have the change.</summary>
    WritesTimers = 1 << 10,
    /// <summary>EVALSHA: looked at only once a script got the prelude (its SHA1 may be one the client knows under another).</summary>
    WhileScriptsRewritten = 1 << 11,
}

/// <summary>Writes a command's replacement; false to forward the frame unchanged.</summary>
public delegate bool CommandRewrite(List<byte[]> args, int db, IBufferWriter<byte> output);

/// <summary>
/// A command the proxy knows: its Redis arity (positive: exactly that many arguments with the name; negative: at
/// least that many), what the session must do about it, the rewrite that applies, and what its rewritten reply
/// needs. Commands not in <see cref="CommandTable"/> are forwarded unchanged.
/// </summary>
public sealed class CommandInfo
{
    public CommandInfo(string name, int arity, CommandFlags flags, CommandRewrite? rewrite = null, ReplyAction? reply = null)
    {
        Name = name;
        NameBytes = Encoding.ASCII.GetBytes(name);
        Arity = arity;
        Flags = flags;
        Rewrite = rewrite;
        Reply = reply;
    }

    public string Name { get; }
    public byte[] NameBytes { get; }
    public int Arity { get; }
    public CommandFlags Flags { get; }
    /// <summary>The rewrite, applied when the frame is whole and its arity is Redis's.</summary>
    public CommandRewrite? Rewrite { get; }
    /// <summary>What the reply to the rewritten command needs (<see cref="ReplyPipeline"/>), if anything.</summary>
    public ReplyAction? Reply { get; }

    public bool Has(CommandFlags flag) => (Flags & flag) != 0;

    /// <summary>Redis's arity rule; <paramref name="arguments"/> counts the name.</summary>
    public bool ArityFits(long arguments) => Arity >= 0 ? arguments == Arity : arguments >= -Arity;

    public override string ToString() => Name;
}
