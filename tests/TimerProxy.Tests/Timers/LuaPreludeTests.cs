using System.Text;
using RedisTimer.Proxy.Timers;

namespace RedisTimer.Proxy.Tests.Timers;

/// <summary>Where the prelude goes in user code (TimerLuaTests shows what it does inside Redis).</summary>
public class LuaPreludeTests
{
    [Fact]
    public void The_prelude_is_one_line()
    {
        Assert.DoesNotContain('\n', LuaPrelude.Text);
        Assert.DoesNotContain('\r', LuaPrelude.Text);
    }

    [Theory]
    [InlineData("return redis.call('TIMER.NEW', 'a', 'f', 1, 0)", true)]
    [InlineData("return redis.call('timer.kill', 'a')", true)]
    [InlineData("local TiMeR = {} TiMeR.x = 1", true)]
    [InlineData("return redis.call('TIMER', 'a')", false)]
    [InlineData("local timers = 1 return timers.x", false)]
    [InlineData(".timer", false)]
    [InlineData("", false)]
    public void Code_gets_the_prelude_when_it_mentions_timer_dot_in_any_case(string code, bool mentions) =>
        Assert.Equal(mentions, LuaPrelude.MentionsTimer(Encoding.UTF8.GetBytes(code)));

    [Theory]
    [InlineData("return 1", "", "return 1")]
    [InlineData("#!lua name=lib\nredis.register_function('f', g)\n", "#!lua name=lib\n", "redis.register_function('f', g)\n")]
    [InlineData("#!lua flags=no-writes\r\nreturn 1", "#!lua flags=no-writes\r\n", "return 1")]
    [InlineData("#!lua name=lib", "#!lua name=lib\n", "")]
    public void The_prelude_goes_on_the_first_line_of_lua(string code, string before, string after)
    {
        var added = Encoding.UTF8.GetString(LuaPrelude.AddTo(Encoding.UTF8.GetBytes(code)));
        Assert.Equal(before + LuaPrelude.Text + after, added);
        // Adding it again (code read back from Redis) leaves one.
        Assert.Equal(added, Encoding.UTF8.GetString(LuaPrelude.AddTo(Encoding.UTF8.GetBytes(added))));
    }

    [Theory]
    [InlineData("local a = 'x' -- c\nlocal b = \"--not a comment\"", "local a = 'x' local b = \"--not a comment\"")]
    [InlineData("local s = 'it\\'s'  \n\n  return s", "local s = 'it\\'s' return s")]
    public void Sources_are_joined_without_their_comments(string lua, string line) =>
        Assert.Equal(line, LuaPrelude.OneLine(lua));

    [Theory]
    [InlineData("local s = [[long]]")]
    [InlineData("--[[ long comment ]] return 1")]
    public void Long_strings_and_comments_are_refused(string lua) =>
        Assert.Throws<InvalidDataException>(() => LuaPrelude.OneLine(lua));
}
