using System.Text.RegularExpressions;
using RedisTimer.Proxy.Tests.Infrastructure;
using static RedisTimer.Proxy.Tests.Timers.TimerFiringSupport;

namespace RedisTimer.Proxy.Tests.Timers;

/// <summary>TIMER_SEMANTICS.md sections 3 and 4 about Lua: code sent through the proxy that calls TIMER.* runs as
/// it does with the module (the prelude, docs/LUA.md).</summary>
public partial class TimerLuaTests(TimerFixture fx) : IClassFixture<TimerFixture>
{
    // A 5-step chain: each step records itself (and what TYPE said of its own id) and re-creates its one-shot id
    // with a longer delay; a LOOP callback that records itself and kills its own timer.
    private const string Library = """
        #!lua name=luachain
        local function now_ms()
          local t = redis.call('TIME')
          return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        end
        redis.register_function('chain_step', function(keys, args)
          local step = tonumber(args[2])
          local seen = redis.call('TYPE', keys[1])['ok']
          redis.call('RPUSH', args[1], step .. ':' .. seen .. ':' .. now_ms())
          if step < 5 then
            return redis.call('TIMER.NEW', keys[1], 'chain_step', 60 * step, 1, keys[1], args[1], step + 1)
          end
        end)
        redis.register_function{function_name='loop_once', callback=function(keys, args)
          local seen = redis.call('TYPE', keys[1])['ok']
          local killed = redis.call('timer.kill', keys[1])
          redis.call('RPUSH', args[1], seen .. ':' .. killed)
        end}
        """;

    private async Task LoadAsync(RawClient c)
    {
        Assert.Equal("$8\r\nluachain\r\n", await c.CallAsync("FUNCTION", "LOAD", "REPLACE", Library));
    }

    [Fact]
    public async Task A_callback_that_recreates_its_own_id_fires_each_step_once_and_in_order()
    {
        string id = Unique("chain"), log = Unique("chainlog");
        using var c = await fx.ConnectAsync();
        await LoadAsync(c);
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", id, "chain_step", "50", "1", id, log, "1"));

        using var direct = await fx.ConnectAsync(direct: true);
        var deadline = DateTime.UtcNow + Generous;
        string[] steps = [];
        while (DateTime.UtcNow < deadline && steps.Length < 5)
        {
            await Task.Delay(100);
            steps = Strings(await direct.CallAsync("LRANGE", log, 0, -1));
        }
        await Task.Delay(600); // a repeated step would show by now
        steps = Strings(await direct.CallAsync("LRANGE", log, 0, -1));
        Assert.Equal(["1", "2", "3", "4", "5"], steps.Select(s => s.Split(':')[0]));
        // One-shot: its key is gone inside its own callback (before the callback re-creates it).
        Assert.All(steps, s => Assert.Equal("none", s.Split(':')[1]));
        var at = steps.Select(s => long.Parse(s.Split(':')[2])).ToArray();
        for (int step = 1; step < 5; step++)
            Assert.True(at[step] - at[step - 1] >= 60 * step - 5, $"step {step + 1} came {at[step] - at[step - 1]} ms after step {step}, before its {60 * step} ms");
        Assert.Equal("$-1\r\n", await c.CallAsync("TIMER.INFO", id));
    }

    [Fact]
    public async Task A_loop_callback_that_kills_its_own_timer_fires_once()
    {
        string id = Unique("loopkill"), log = Unique("looplog");
        using var c = await fx.ConnectAsync();
        await LoadAsync(c);
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", id, "loop_once", "50", "LOOP", "1", id, log));
        using var direct = await fx.ConnectAsync(direct: true);
        var deadline = DateTime.UtcNow + Generous;
        while (DateTime.UtcNow < deadline && await direct.CallAsync("LLEN", log) == ":0\r\n") await Task.Delay(50);
        await Task.Delay(500); // ten more intervals: a timer still running would fire again
        // Inside a LOOP callback its own key is the re-armed timer, and TIMER.KILL of it answers 1.
        Assert.Equal(["timer-tzw:1"], Strings(await direct.CallAsync("LRANGE", log, 0, -1)));
        Assert.Equal("$-1\r\n", await c.CallAsync("TIMER.INFO", id));
        Assert.Equal(":0\r\n", await c.CallAsync("EXISTS", id));
    }

    [Fact]
    public async Task Eval_answers_timer_commands_as_the_module_does_from_lua()
    {
        string id = Unique("eval"), str = Unique("evalstr");
        using var c = await fx.ConnectAsync();
        Assert.Equal("+OK\r\n", await c.CallAsync("SET", str, "v"));
        Assert.Equal(":1\r\n", await c.CallAsync("EVAL", "return redis.call('TIMER.NEW', KEYS[1], 'rt_count', 60000, 2, KEYS[1], 'k2', 'a1')", "1", id));
        Assert.Equal(":0\r\n", await c.CallAsync("EVAL", "return redis.pcall('timer.new', KEYS[1], 'rt_count', '60000', 'LOOP', 0)", "1", id));
        // INFO as Lua sees the module's reply: a RESP2 array with loop as an integer, the numbers as numbers.
        var info = await c.CallAsync("EVAL", "return redis.call('TIMER.INFO', KEYS[1])", "1", id);
        Assert.Matches(@"^\*8\r\n\$8\r\nfunction\r\n\$8\r\nrt_count\r\n\$8\r\ninterval\r\n:60000\r\n\$9\r\nremaining\r\n:59\d\d\d\r\n\$4\r\nloop\r\n:1\r\n$", info);
        // After redis.setresp(3): a map with loop as a boolean.
        Assert.Equal("[\"map\",true,60000]", Unbulk(await c.CallAsync("EVAL",
            "redis.setresp(3) local r = redis.call('TIMER.INFO', KEYS[1]) return cjson.encode({next(r), r.map.loop, r.map.interval})", "1", id)));
        // TYPE inside code that calls TIMER.* (only such code gets the prelude).
        const string type = "local t = redis.call('TYPE', KEYS[1]) redis.pcall('TIMER.INFO', KEYS[1]) return t";
        Assert.Equal("+timer-tzw\r\n", await c.CallAsync("EVAL", type, "1", id));
        Assert.Equal("+string\r\n", await c.CallAsync("EVAL", type, "1", str));

        // A missing id: nil (Lua false); KILL 0. A string key: ERR wrong type, as a value through pcall, raised through call.
        Assert.Equal("$-1\r\n", await c.CallAsync("EVAL", "return redis.call('TIMER.INFO', KEYS[1])", "1", id + ":missing"));
        Assert.Equal(":0\r\n", await c.CallAsync("EVAL", "return redis.call('TIMER.KILL', KEYS[1])", "1", id + ":missing"));
        Assert.Equal("-ERR wrong type\r\n", await c.CallAsync("EVAL", "return redis.pcall('TIMER.INFO', KEYS[1])", "1", str));
        Assert.Equal("-ERR wrong type\r\n", await c.CallAsync("EVAL", "return redis.pcall('TIMER.KILL', KEYS[1])", "1", str));
        // Raised: Redis names the script's SHA1 (of the script as the client sent it) and the user's line (here 3, a tail
        // call), as for the module's command.
        const string kill = "local x = 1\n\nreturn redis.call('TIMER.KILL', KEYS[1])";
        Assert.Equal($"-ERR wrong type script: {Sha1(kill)}, on @user_script:3.\r\n", await c.CallAsync("EVAL", kill, "1", str));
        Assert.Matches(@"^-ERR wrong number of arguments for 'timer.new' command script: [0-9a-f]{40}, on @user_script:2\.\r\n$",
            await c.CallAsync("EVAL", "local x = 1\nlocal r = redis.call('TIMER.NEW', KEYS[1]) return r", "1", id));
        Assert.Equal("-ERR invalid interval\r\n", await c.CallAsync("EVAL", "return redis.pcall('TIMER.NEW', KEYS[1], 'f', 0, 0)", "1", id));
        // Other commands keep Redis's replies and errors, with the user's line.
        Assert.Matches(@"^-WRONGTYPE Operation against a key holding the wrong kind of value script: [0-9a-f]{40}, on @user_script:2\.\r\n$",
            await c.CallAsync("EVAL", "-- timer.kill is not called\nreturn redis.call('LPUSH', KEYS[1], 'x')", "1", str));

        Assert.Equal(":1\r\n", await c.CallAsync("EVAL", "return redis.call('TIMER.KILL', KEYS[1])", "1", id));
        Assert.Equal("$-1\r\n", await c.CallAsync("TIMER.INFO", id));
        Assert.Equal("$1\r\nv\r\n", await c.CallAsync("GET", str)); // the failed KILL left it alone
    }

    [Fact]
    public async Task A_timer_created_by_eval_fires()
    {
        string id = Unique("evalfire"), tag = Unique("tag");
        using var c = await fx.ConnectAsync();
        Assert.Equal(":1\r\n", await c.CallAsync("EVAL", "return redis.call('TIMER.NEW', KEYS[1], 'rt_log', 100, 1, KEYS[1], ARGV[1])", "1", id, tag));
        Assert.Single(await fx.WaitForFiresAsync(tag));
        await Task.Delay(300);
        Assert.Single(await fx.FiresOfAsync(tag));
    }

    [Fact]
    public async Task Code_that_does_not_call_timer_commands_is_stored_byte_for_byte()
    {
        using var c = await fx.ConnectAsync();
        const string plain = "#!lua name=plainlib\n-- timers? none here\nredis.register_function('plain_f', function() return 1 end)\n";
        Assert.Equal("$8\r\nplainlib\r\n", await c.CallAsync("FUNCTION", "LOAD", "REPLACE", plain));
        var listed = await c.CallAsync("FUNCTION", "LIST", "LIBRARYNAME", "plainlib", "WITHCODE");
        Assert.Contains($"${plain.Length}\r\n{plain}\r\n", listed);
        Assert.Equal(":1\r\n", await c.CallAsync("FCALL", "plain_f", "0"));
    }

    [Fact]
    public async Task Stored_code_reloaded_or_restored_keeps_one_prelude_and_works()
    {
        string id = Unique("restored"), log = Unique("restoredlog");
        using var c = await fx.ConnectAsync();
        await LoadAsync(c);
        var listed = await c.CallAsync("FUNCTION", "LIST", "LIBRARYNAME", "luachain", "WITHCODE");
        var code = Strings(listed).Single(s => s.StartsWith("#!lua name=luachain"));
        Assert.Single(Regex.Matches(code, Regex.Escape("--[[RedisTimer prelude ")));
        // The user's lines are all there, each on its own line number.
        Assert.Equal(Library.Split('\n').Length, code.Split('\n').Length);
        // Loaded again as read back: still one prelude.
        Assert.Equal("$8\r\nluachain\r\n", await c.CallAsync("FUNCTION", "LOAD", "REPLACE", code));
        Assert.Equal(code, Strings(await c.CallAsync("FUNCTION", "LIST", "LIBRARYNAME", "luachain", "WITHCODE"))
            .Single(s => s.StartsWith("#!lua name=luachain")));

        // FUNCTION DUMP, FUNCTION DELETE, FUNCTION RESTORE: the restored library still answers TIMER.*.
        using var direct = await fx.ConnectAsync(direct: true);
        var dump = System.Text.Encoding.Latin1.GetBytes((string)RespText.Parse(await direct.CallAsync("FUNCTION", "DUMP"))!);
        Assert.Equal("+OK\r\n", await c.CallAsync("FUNCTION", "DELETE", "luachain"));
        Assert.Equal("+OK\r\n", await c.CallAsync("FUNCTION", "RESTORE", dump, "REPLACE"));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", id, "chain_step", "30", "1", id, log, "4"));
        var deadline = DateTime.UtcNow + Generous;
        while (DateTime.UtcNow < deadline && await direct.CallAsync("LLEN", log) != ":2\r\n") await Task.Delay(50);
        Assert.Equal(["4", "5"], Strings(await direct.CallAsync("LRANGE", log, 0, -1)).Select(s => s.Split(':')[0]));
    }

    [Fact]
    public async Task A_timer_from_lua_needs_the_rights_its_fcall_would_need()
    {
        string user = "lua_" + Guid.NewGuid().ToString("N")[..8];
        using var admin = await fx.ConnectAsync();
        Assert.Equal("+OK\r\n", await admin.CallAsync("ACL", "SETUSER", user, "on", ">pw", "~lim:*", "~timer-tzw:*", "&*", "+@all"));
        using var c = await fx.ConnectAsync();
        Assert.Equal("+OK\r\n", await c.CallAsync("AUTH", user, "pw"));
        // The module would let this timer write secret:log at fire time; here it is refused, as FCALL rt_log 1 secret:log is.
        Assert.Equal("-NOPERM this user has no permissions to access one of the keys used as arguments\r\n",
            await c.CallAsync("EVAL", "return redis.pcall('TIMER.NEW', 'lim:t', 'rt_log', 100, 1, 'secret:log')", "0"));
        Assert.Equal(":1\r\n", await c.CallAsync("EVAL", "return redis.call('TIMER.NEW', 'lim:t', 'rt_log', 60000, 1, 'lim:log')", "0"));
        Assert.Equal(":1\r\n", await c.CallAsync("EVAL", "return redis.call('TIMER.KILL', 'lim:t')", "0"));
        // The keys the prelude touches are checked with the user's rights: no timer outside them.
        Assert.StartsWith("-ERR The user executing the script can't access at least one of the keys", await c.CallAsync("EVAL", "return redis.pcall('TIMER.NEW', 'other:t', 'rt_log', 100, 0)", "0"));
        Assert.Equal(":0\r\n", await admin.CallAsync("EXISTS", "other:t"));
        await admin.CallAsync("ACL", "DELUSER", user);
    }

    [Fact]
    public async Task Scripts_keep_the_sha1_the_client_sent_through_script_load_evalsha_and_script_flush()
    {
        string id = Unique("sha");
        const string script = "return redis.call('TIMER.NEW', KEYS[1], 'rt_count', 60000, 0)";
        string sha = Sha1(script);
        using var c = await fx.ConnectAsync();
        Assert.Equal($"$40\r\n{sha}\r\n", await c.CallAsync("SCRIPT", "LOAD", script));
        Assert.Equal("*2\r\n:1\r\n:0\r\n", await c.CallAsync("SCRIPT", "EXISTS", sha, Sha1("return 'never loaded'")));
        Assert.Equal(":1\r\n", await c.CallAsync("EVALSHA", sha, "1", id));
        Assert.Equal(":0\r\n", await c.CallAsync("EVALSHA", sha.ToUpperInvariant(), "1", id));
        // A read-only run refuses TIMER.NEW's write, as it refuses the module's.
        Assert.StartsWith("-ERR Write commands are not allowed from read-only scripts.", await c.CallAsync("EVALSHA_RO", sha, "1", id));
        // Errors name the client's SHA1 (here KEYS[1] is nil, which Redis refuses before any command runs).
        Assert.Equal($"-ERR Lua redis lib command arguments must be strings or integers script: {sha}, on @user_script:1.\r\n",
            await c.CallAsync("EVALSHA", sha, "0"));

        // After SCRIPT FLUSH: NOSCRIPT, as for any script; EVAL brings it back under the same SHA1.
        Assert.Equal("+OK\r\n", await c.CallAsync("SCRIPT", "FLUSH"));
        Assert.Equal("*1\r\n:0\r\n", await c.CallAsync("SCRIPT", "EXISTS", sha));
        Assert.Equal("-NOSCRIPT No matching script. Please use EVAL.\r\n", await c.CallAsync("EVALSHA", sha, "1", id));
        Assert.Equal(":0\r\n", await c.CallAsync("EVAL", script, "1", id));
        Assert.Equal(":0\r\n", await c.CallAsync("EVALSHA", sha, "1", id));

        // A script that does not call TIMER.* is Redis's alone, SHA1 and all.
        const string plain = "return 42";
        Assert.Equal($"$40\r\n{Sha1(plain)}\r\n", await c.CallAsync("SCRIPT", "LOAD", plain));
        Assert.Equal(":42\r\n", await c.CallAsync("EVALSHA", Sha1(plain), "0"));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.KILL", id));
    }

    private static string Sha1(string script) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA1.HashData(System.Text.Encoding.UTF8.GetBytes(script)));

    private static string Unbulk(string reply) => (string)RespText.Parse(reply)!;

    // Every string in a reply, nested ones too, in order.
    private static string[] Strings(string reply) => Flatten(RespText.Parse(reply)).ToArray();

    private static IEnumerable<string> Flatten(object? value)
    {
        if (value is string s) yield return s;
        else if (value is List<object?> items)
            foreach (var item in items)
                foreach (var inner in Flatten(item)) yield return inner;
    }
}
