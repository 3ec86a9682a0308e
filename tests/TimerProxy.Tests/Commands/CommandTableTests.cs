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
}
