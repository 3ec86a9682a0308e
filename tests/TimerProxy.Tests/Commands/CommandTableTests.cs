using System.Text;
using RedisTimer.Proxy.Commands;
using RedisTimer.Proxy.Server.Replies;
using static RedisTimer.Proxy.Commands.CommandFlags;

namespace RedisTimer.Proxy.Tests.Commands;

public class CommandTableTests
{
    /// <summary>Every entry with everything it says: name, Redis 7.0 arity, flags, whether it is rewritten, and its reply's need.</summary>
    public static TheoryData<string, int, CommandFlags, bool, ReplyAction?> Entries => new()
    {
        { "TIMER.NEW", -1, WholeFrame | TimerCommand | WritesTimers, true, null },
        { "TIMER.KILL", -1, WholeFrame | TimerCommand | WritesTimers, true, null },
        { "TIMER.INFO", -1, WholeFrame | TimerCommand, true, ReplyAction.RewriteInfo },
        { "TIMER.STATS", -1, WholeFrame | TimerCommand, false, ReplyAction.RewriteInfo },
        { "TIMER.LIST", -1, WholeFrame | TimerCommand, true, ReplyAction.RewriteInfo },
        { "TYPE", 2, WholeFrame | WhileTimersExist, true, null },
        { "RENAME", 3, WholeFrame | WhileTimersExist, true, null },
        { "RENAMENX", 3, WholeFrame | WhileTimersExist, true, null },
        { "MOVE", 3, WholeFrame | WhileTimersExist, true, null },
        { "COPY", -3, WholeFrame | WhileTimersExist, true, null },
        { "SCAN", -2, WholeFrame | WhileTimersExist, true, null },
        { "RESTORE", -4, WholeFrame | WhileTimersExist, true, null },
        { "COMMAND", -1, WholeFrame, false, null },
        { "FUNCTION", -2, WholeFrame, false, null },
        { "EVAL", -3, WholeFrame, false, null },
        { "EVAL_RO", -3, WholeFrame, false, null },
        { "EVALSHA", -3, WholeFrame | WhileScriptsRewritten, false, null },
        { "EVALSHA_RO", -3, WholeFrame | WhileScriptsRewritten, false, null },
        { "SCRIPT", -2, WholeFrame, false, null },
        { "SELECT", 2, WholeFrame | SelectsDatabase, false, null },
        { "RESET", 1, WholeFrame | Resets, false, null },
        { "CLIENT", -2, WholeFrame | MayEndCounting, false, null },
        { "MULTI", 1, BeginsTransaction, false, null },
        { "EXEC", 1, EndsTransaction, false, null },
        { "DISCARD", 1, EndsTransaction, false, null },
        { "QUIT", -1, ClosesConnection, false, null },
        { "SUBSCRIBE", -2, EndsCounting, false, null },
        { "PSUBSCRIBE", -2, EndsCounting, false, null },
        { "SSUBSCRIBE", -2, EndsCounting, false, null },
        { "UNSUBSCRIBE", -1, EndsCounting, false, null },
        { "PUNSUBSCRIBE", -1, EndsCounting, false, null },
        { "SUNSUBSCRIBE", -1, EndsCounting, false, null },
        { "MONITOR", 1, EndsCounting, false, null },
        { "SYNC", 1, EndsCounting, false, null },
        { "PSYNC", -3, EndsCounting, false, null },
        { "REPLCONF", -1, EndsCounting, false, null },
    };

    [Theory]
    [MemberData(nameof(Entries))]
    public void Each_entry_says_exactly_this(string name, int arity, CommandFlags flags, bool rewritten, ReplyAction? reply)
    {
        foreach (var spelling in new[] { name, name.ToLowerInvariant(), string.Concat(name.Select((c, i) => i % 2 == 0 ? char.ToLowerInvariant(c) : c)) })
        {
            var command = CommandTable.Find(Encoding.ASCII.GetBytes(spelling));
            Assert.Equal(name, command.Name);
            Assert.Equal(arity, command.Arity);
            Assert.Equal(flags, command.Flags);
            Assert.Equal(rewritten, command.Rewrite is not null);
            Assert.Equal(reply, command.Reply);
        }
    }

    [Fact]
    public void The_table_holds_no_entry_the_test_does_not_pin()
    {
        var pinned = Entries.Select(row => (string)row[0]).ToHashSet();
        Assert.Equal(pinned.Order(), CommandTable.All.Select(c => c.Name).Order());
        Assert.Equal(CommandTable.All.Count, CommandTable.All.Select(c => c.Name).Distinct().Count());
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("set")]
    [InlineData("NOSUCHCOMMAND")]
    [InlineData("")]
    [InlineData("QUITX")]
    [InlineData("QUI")]
    [InlineData("TIMER.NEWX")]
    [InlineData("TIMER.INF")]
    [InlineData("SUNSUBSCRIBEX")]
    public void Commands_we_do_not_know_are_forwarded(string name) =>
        Assert.Same(CommandTable.Forward, CommandTable.Find(Encoding.ASCII.GetBytes(name)));

    [Theory]
    [InlineData(2, 2, true)]
    [InlineData(2, 1, false)]
    [InlineData(2, 3, false)]
    [InlineData(-3, 3, true)]
    [InlineData(-3, 9, true)]
    [InlineData(-3, 2, false)]
    [InlineData(-1, 1, true)]
    public void Arity_follows_redis_rule(int arity, long arguments, bool fits) =>
        Assert.Equal(fits, new CommandInfo("X", arity, None).ArityFits(arguments));
}
