using RedisTimer.Proxy.Tests.Infrastructure;
using static RedisTimer.Proxy.Tests.Server.PassThroughSupport;

namespace RedisTimer.Proxy.Tests.Server;

/// <summary>Commands typed by hand (telnet style): inline, space separated, with Redis's quoting rules.</summary>
public class PassThroughInlineTests(ProxyFixture fx) : IClassFixture<ProxyFixture>
{
    [Fact]
    public async Task Inline_ping_set_with_double_quotes_get_and_echo_with_single_quotes()
    {
        string key = Key("inline");
        using var c = await fx.ConnectProxyAsync();
        await c.SendAsync("PING\r\n");
        Assert.Equal("+PONG\r\n", await c.ReadReplyAsync());
        await c.SendAsync($"SET {key} \"a b\"\r\n");
        Assert.Equal("+OK\r\n", await c.ReadReplyAsync());
        await c.SendAsync($"GET {key}\r\n");
        Assert.Equal("$3\r\na b\r\n", await c.ReadReplyAsync());
        await c.SendAsync("ECHO 'x y'\r\n");
        Assert.Equal("$3\r\nx y\r\n", await c.ReadReplyAsync());
    }

    [Fact]
    public async Task Inline_typed_one_character_at_a_time()
    {
        string key = Key("typed");
        using var c = await fx.ConnectProxyAsync();
        foreach (char ch in $"set {key} \"typed value\"\r\n") await c.SendAsync(ch.ToString());
        Assert.Equal("+OK\r\n", await c.ReadReplyAsync());
        Assert.Equal("$11\r\ntyped value\r\n", await c.CallAsync("GET", key));
    }

    [Fact]
    public async Task Inline_lines_match_direct_redis_byte_for_byte()
    {
        string[] lines =
        [
            "PING\r\n",
            "PING\n",                              // a bare LF ends an inline command too
            "\r\n\r\nPING\r\n",                    // empty lines are ignored
            "   ECHO    spaced\t\tout   \r\n",
            "ECHO \"esc\\x41\\n\\t\\\"q\"\r\n",    // \xHH, \n, \t and \" inside double quotes
            "ECHO 'it\\'s'\r\n",                   // \' inside single quotes
            "ECHO \"\"\r\n",                       // an empty argument
            "echo \"two words\" 'and more'\r\n",   // too many arguments for ECHO: Redis's arity error
            "nosuchcommand 'a b' c\r\n",
        ];
        using var direct = await fx.ConnectRedisAsync();
        using var proxied = await fx.ConnectProxyAsync();
        var replies = new List<string>();
        foreach (var line in lines)
        {
            await direct.SendAsync(line);
            await proxied.SendAsync(line);
            string expected = await direct.ReadReplyAsync();
            replies.Add(await proxied.ReadReplyAsync());
            Assert.Equal(expected, replies[^1]);
        }
        Assert.Equal("$8\r\nescA\n\t\"q\r\n", replies[4]);
        Assert.Equal("$4\r\nit's\r\n", replies[5]);
    }

    [Fact]
    public async Task Unbalanced_quotes_get_redis_protocol_error_and_close()
    {
        using var direct = await fx.ConnectRedisAsync();
        using var proxied = await fx.ConnectProxyAsync();
        await direct.SendAsync("PING\r\nECHO \"abc\r\n");
        await proxied.SendAsync("PING\r\nECHO \"abc\r\n");
        string expected = await direct.ReadToCloseAsync(Generous);
        Assert.Equal("+PONG\r\n-ERR Protocol error: unbalanced quotes in request\r\n", expected);
        Assert.Equal(expected, await proxied.ReadToCloseAsync(Generous));
    }
}
