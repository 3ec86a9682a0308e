using System.Security.Cryptography;
using System.Text;
using RedisTimer.Proxy.Tests.Infrastructure;
using StackExchange.Redis;
using static RedisTimer.Proxy.Tests.Server.PassThroughSupport;

namespace RedisTimer.Proxy.Tests.Server;

public class PassThroughScriptingTests(ProxyFixture fx) : IClassFixture<ProxyFixture>
{
    private static string Sha1Hex(string script) =>
        Convert.ToHexString(SHA1.HashData(Encoding.UTF8.GetBytes(script))).ToLowerInvariant();

    [Fact]
    public async Task Eval_runs_lua_with_keys_and_args()
    {
        string key = Key("eval");
        using var c = await fx.ConnectProxyAsync();
        Assert.Equal("+OK\r\n", await c.CallAsync("EVAL", "return redis.call('set', KEYS[1], ARGV[1])", "1", key, "from-lua"));
        Assert.Equal("$8\r\nfrom-lua\r\n", await c.CallAsync("GET", key));
        Assert.Equal("*4\r\n:1\r\n:2\r\n$1\r\nx\r\n*1\r\n:3\r\n",
            await c.CallAsync("EVAL", "return {1, 2, 'x', {3}}", "0"));
        Assert.Equal(":6\r\n", await c.CallAsync("EVAL", "return #ARGV[1]", "0", "a\r\nb\0c"));
    }

    [Fact]
    public async Task Evalsha_runs_a_loaded_script_and_unknown_sha_is_noscript()
    {
        string script = "return 'sha:' .. ARGV[1] .. ':" + Guid.NewGuid().ToString("N") + "'";
        string sha = Sha1Hex(script);
        using var c = await fx.ConnectProxyAsync();
        Assert.Equal("-NOSCRIPT No matching script. Please use EVAL.\r\n", await c.CallAsync("EVALSHA", sha, "0", "x"));
        Assert.Equal(Bulk(sha), await c.CallAsync("SCRIPT", "LOAD", script));
        Assert.Equal("*1\r\n:1\r\n", await c.CallAsync("SCRIPT", "EXISTS", sha));
        Assert.StartsWith("$38\r\nsha:x:", await c.CallAsync("EVALSHA", sha, "0", "x"));

        // Loaded through one proxied client, usable from a direct connection: the script cache is Redis's.
        using var direct = await fx.ConnectRedisAsync();
        Assert.StartsWith("$38\r\nsha:y:", await direct.CallAsync("EVALSHA", sha, "0", "y"));
    }

    [Fact]
    public async Task Script_errors_match_direct_redis()
    {
        var (direct, proxied) = await DifferentialAsync(fx, "script-err", key =>
        [
            ["SET", key, "text"], ["EVAL", "return redis.call('incr', KEYS[1])", "1", key],
            ["EVAL", "return redis.pcall('incr', KEYS[1])", "1", key], ["EVAL", "this is not lua", "0"],
            ["EVAL", "return error('boom')", "0"], ["EVAL", "return {err='MYERR custom'}", "0"], ["EVAL", "return 1", "x"],
        ]);
        Assert.Equal(direct, proxied);
        Assert.Contains("-ERR value is not an integer or out of range script:", proxied);
        Assert.Contains("-MYERR custom\r\n", proxied);
    }

    [Fact]
    public async Task Function_load_and_fcall_through_the_proxy()
    {
        string library = "ptlib_" + Guid.NewGuid().ToString("N")[..10];
        string function = library + "_echo", setter = library + "_set";
        string code = $"#!lua name={library}\n" +
                      $"redis.register_function('{function}', function(keys, args) return args[1] end)\n" +
                      $"redis.register_function('{setter}', function(keys, args) return redis.call('set', keys[1], args[1]) end)\n";
        string key = Key("fcall");
        using var c = await fx.ConnectProxyAsync();
        Assert.Equal(Bulk(library), await c.CallAsync("FUNCTION", "LOAD", code));
        Assert.Equal("$5\r\nhello\r\n", await c.CallAsync("FCALL", function, "0", "hello"));
        Assert.Equal("+OK\r\n", await c.CallAsync("FCALL", setter, "1", key, "set-by-function"));
        Assert.Equal(Bulk("set-by-function"), await c.CallAsync("GET", key));
        Assert.Equal($"-ERR Library '{library}' already exists\r\n", await c.CallAsync("FUNCTION", "LOAD", code));
        Assert.Equal(Bulk(library), await c.CallAsync("FUNCTION", "LOAD", "REPLACE", code));

        using var direct = await fx.ConnectRedisAsync();
        Assert.Equal("$5\r\nfrom0\r\n", await direct.CallAsync("FCALL", function, "0", "from0"));
        Assert.Contains(Bulk(library), await direct.CallAsync("FUNCTION", "LIST", "LIBRARYNAME", library));
        Assert.Equal("+OK\r\n", await c.CallAsync("FUNCTION", "DELETE", library));
        Assert.Equal("-ERR Function not found\r\n", await c.CallAsync("FCALL", function, "0", "x"));
    }

    [Fact]
    public async Task Fcall_ro_refuses_a_function_without_no_writes_flag_as_redis_does()
    {
        string library = "ptro_" + Guid.NewGuid().ToString("N")[..10];
        string code = $"#!lua name={library}\n" +
                      $"redis.register_function{{function_name='{library}_ro', callback=function(keys, args) return 'ro' end, flags={{'no-writes'}}}}\n" +
                      $"redis.register_function('{library}_rw', function(keys, args) return 'rw' end)\n";
        using var admin = await fx.ConnectRedisAsync();
        Assert.Equal(Bulk(library), await admin.CallAsync("FUNCTION", "LOAD", code));
        try
        {
            var (direct, proxied) = await DifferentialAsync(fx, "fcall-ro", _ =>
                [["FCALL_RO", library + "_ro", "0"], ["FCALL_RO", library + "_rw", "0"], ["FCALL", library + "_rw", "0"]]);
            Assert.Equal(direct, proxied);
            Assert.StartsWith("$2\r\nro\r\n-ERR", proxied);
        }
        finally
        {
            await admin.CallAsync("FUNCTION", "DELETE", library);
        }
    }

    [Fact]
    public async Task Stackexchange_script_evaluate_through_the_proxy()
    {
        string key = Key("se-eval");
        await using var mux = await fx.MultiplexerAsync();
        var db = mux.GetDatabase();
        var result = await db.ScriptEvaluateAsync("redis.call('set', KEYS[1], ARGV[1]); return redis.call('strlen', KEYS[1])",
            [key], ["twelve-bytes"]);
        Assert.Equal(12, (long)result);
        Assert.Equal("twelve-bytes", (string?)await db.StringGetAsync(key));
    }
}
