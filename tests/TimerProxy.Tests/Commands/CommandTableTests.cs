using RedisTimer.Proxy.Commands;
using System.Text;

namespace RedisTimer.Proxy.Tests.Commands;

public class CommandTableTests
{
    [Theory]
    [InlineData("GET")]
    [InlineData("set")]
    [InlineData("NOSUCHCOMMAND")]
    [InlineData("")]
    [InlineData("QUITX")]
    [InlineData("QUI")]
    public void Commands_we_do_not_know_are_forwarded(string name) =>
        Assert.Equal(CommandRoute.Forward, CommandTable.Route(Encoding.ASCII.GetBytes(name)));

    [Theory]
    [InlineData("QUIT")]
    [InlineData("quit")]
    [InlineData("QuIt")]
    public void Quit_is_forwarded_and_the_close_that_follows_is_expected(string name) =>
        Assert.Equal(CommandRoute.ForwardThenClose, CommandTable.Route(Encoding.ASCII.GetBytes(name)));

    // Merging pipelined TIMER.NEWs needs one reply per request: these commands end that, or open a transaction.
    [Theory]
    [InlineData("MULTI", CommandRoute.ForwardMulti)]
    [InlineData("exec", CommandRoute.ForwardExec)]
    [InlineData("Discard", CommandRoute.ForwardDiscard)]
    [InlineData("CLIENT", CommandRoute.ForwardClient)]
    [InlineData("subscribe", CommandRoute.ForwardRepliesUncounted)]
    [InlineData("PSUBSCRIBE", CommandRoute.ForwardRepliesUncounted)]
    [InlineData("SSUBSCRIBE", CommandRoute.ForwardRepliesUncounted)]
    [InlineData("UNSUBSCRIBE", CommandRoute.ForwardRepliesUncounted)]
    [InlineData("PUNSUBSCRIBE", CommandRoute.ForwardRepliesUncounted)]
    [InlineData("SUNSUBSCRIBE", CommandRoute.ForwardRepliesUncounted)]
    [InlineData("MONITOR", CommandRoute.ForwardRepliesUncounted)]
    [InlineData("SYNC", CommandRoute.ForwardRepliesUncounted)]
    [InlineData("psync", CommandRoute.ForwardRepliesUncounted)]
    [InlineData("REPLCONF", CommandRoute.ForwardRepliesUncounted)]
    public void Commands_that_change_how_replies_follow_requests_are_noted(string name, CommandRoute route) =>
        Assert.Equal(route, CommandTable.Route(Encoding.ASCII.GetBytes(name)));
}
