using System.Text;
using static RedisTimer.Resp.Tests.Segments;

namespace RedisTimer.Resp.Tests;

// Every case with a line feed-free, NUL-free input was checked against redis-server 7.0 (inline RPUSH + LRANGE).
public class InlineCommandTests
{
    public static TheoryData<string, string[]> SplitLines => new()
    {
        { "", [] },
        { "   ", [] },
        { "\t \v\f ", [] },
        { "PING", ["PING"] },
        { "  a  b\tc  ", ["a", "b", "c"] },
        { "a\t\tb", ["a", "b"] },
        { "a\rb", ["a", "b"] },                    // an unquoted CR ends a token
        { "a\nb", ["a", "b"] },
        { "a\vb", ["a\vb"] },                      // inside a token only space, \t, \r, \n end it
        { "a\fb", ["a\fb"] },
        { "\va", ["a"] },                          // leading blanks are skipped with isspace
        { "\xE9t\xE9", ["\xE9t\xE9"] },            // high bytes are not spaces
        { "\"hello world\"", ["hello world"] },
        { "\"a\\nb\\rc\\td\\be\\af\"", ["a\nb\rc\td\be\af"] },
        { "\"\\x41\\x4a\\x4A\\xff\\x00\"", ["AJJ\xFF\0"] },
        { "\"\\x4\"", ["x4"] },                    // \x without two hex digits is just 'x'
        { "\"\\xzz\"", ["xzz"] },
        { "\"\\x\"", ["x"] },
        { "\"\\\"\"", ["\""] },
        { "\"\\\\\"", ["\\"] },
        { "\"\\q\"", ["q"] },
        { "\"a'b\"", ["a'b"] },
        { "'it\\'s'", ["it's"] },
        { "'a\\nb'", ["a\\nb"] },                  // single quotes know only \'
        { "'a\"b'", ["a\"b"] },
        { "\"\"", [""] },
        { "''", [""] },
        { "\"\" \"\"", ["", ""] },
        { "SET k \"\"", ["SET", "k", ""] },
        { "ab\"cd\"", ["abcd"] },                  // a quote inside a token opens quoting
        { "ab\"cd\" e", ["abcd", "e"] },
        { "a'b c'", ["ab c"] },
        { "'a' 'b'", ["a", "b"] },
        { "\"a\"\tb", ["a", "b"] },
        { "\"a\"\vb", ["a", "b"] },                // after a closing quote any isspace byte will do
        { "\"a\"\fb", ["a", "b"] },
        { "\"a\"", ["a"] },
        // NUL ends the line, as it does for a C string.
        { "a\0b", ["a"] },
        { "a \0 b", ["a"] },
        { "\0", [] },
        { "\"a\"\0b", ["a"] },
        { "'a'\0", ["a"] },
    };

    public static TheoryData<string> UnbalancedLines => new()
    {
        "\"abc", "'abc", "\"", "'",
        "\"abc\\",        // a backslash before the end escapes nothing
        "\"a\"b", "'a'b", "a\"b c\"d", "\"a\"\"b\"", "''x",
        "'\\'",           // \' does not close
        "'\\\\'",         // \ then \' : still open
        "\"a\0b\"", "'a\0'",  // NUL inside quotes: unterminated
        "x \"y",
    };

    [Theory]
    [MemberData(nameof(SplitLines))]
    public void Splits_like_sdssplitargs(string line, string[] expected)
    {
        var args = InlineCommand.Split(Bytes(line));

        Assert.NotNull(args);
        Assert.Equal(expected, args.Select(a => Encoding.Latin1.GetString(a)).ToArray());
    }

    [Theory]
    [MemberData(nameof(UnbalancedLines))]
    public void Refuses_unbalanced_quotes(string line)
    {
        Assert.Null(InlineCommand.Split(Bytes(line)));
    }

    [Fact]
    public void Empty_quoted_string_is_an_empty_argument_not_none()
    {
        var args = InlineCommand.Split("\"\""u8);

        Assert.NotNull(args);
        var only = Assert.Single(args);
        Assert.Empty(only);
    }
}
