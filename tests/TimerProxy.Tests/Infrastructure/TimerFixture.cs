using System.Text.Json;

namespace RedisTimer.Proxy.Tests.Infrastructure;

/// <summary>
/// A redis-server and the proxy, plus a test function library whose functions record how they were called
/// (keys, args, whether the timer's key exists, the server time) so tests can see what a timer fired.
/// </summary>
public class TimerFixture : ProxyFixture
{
    /// <summary>
    /// rt_log: RPUSH rt:log {"keys":[..],"args":[..],"exists":EXISTS key1,"us":server time}.
    /// rt_raw: RPUSH key1 every arg as it came (byte-exact checks). rt_count: INCR key1.
    /// rt_fail: returns an error. rt_raise: raises after writing rt:raised. rt_del: deletes key1 (a LOOP timer stopping itself).
    /// </summary>
    public const string TestLibrary = """
        #!lua name=rttest
        local function now_us()
          local t = redis.call('TIME')
          return tonumber(t[1]) * 1000000 + tonumber(t[2])
        end
        redis.register_function('rt_log', function(keys, args)
          local exists = -1
          if keys[1] then exists = redis.call('EXISTS', keys[1]) end
          redis.call('RPUSH', 'rt:log', cjson.encode({keys = keys, args = args, exists = exists, us = string.format('%.0f', now_us())}))
        end)
        redis.register_function('rt_raw', function(keys, args)
          for _, a in ipairs(args) do redis.call('RPUSH', keys[1], a) end
        end)
        redis.register_function('rt_count', function(keys, args) return redis.call('INCR', keys[1]) end)
        redis.register_function('rt_fail', function(keys, args) return redis.error_reply('ERR rt_fail says no') end)
        redis.register_function('rt_raise', function(keys, args)
          redis.call('SET', 'rt:raised', '1')
          error('rt_raise raised')
        end)
        redis.register_function('rt_del', function(keys, args)
          redis.call('INCR', keys[1] .. ':count')
          redis.call('DEL', keys[1])
        end)
        """;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        using var direct = await ConnectRedisAsync();
        await LoadTestLibraryAsync(direct);
    }

    /// <summary>Loads <see cref="TestLibrary"/> over a direct connection to Redis.</summary>
    public static async Task LoadTestLibraryAsync(RawClient direct)
    {
        var reply = await direct.CallAsync("FUNCTION", "LOAD", "REPLACE", TestLibrary);
        if (!reply.Contains("rttest")) throw new InvalidOperationException("test library not loaded: " + reply);
    }

    public sealed record Fire(string[] Keys, string[] Args, long Exists, long Us);

    /// <summary>Everything rt_log recorded so far (db 0 unless given), oldest first.</summary>
    public Task<List<Fire>> FiresAsync(int db = 0) => ReadFiresAsync(Redis.Port, db);

    /// <summary>Everything rt_log recorded so far in the Redis on <paramref name="redisPort"/>, oldest first.</summary>
    public static async Task<List<Fire>> ReadFiresAsync(int redisPort, int db = 0)
    {
        using var direct = await RawClient.ConnectAsync(redisPort);
        if (db != 0) await direct.CallAsync("SELECT", db);
        await direct.SendCommandAsync("LRANGE", "rt:log", 0, -1);
        var raw = await direct.ReadReplyAsync();
        var fires = new List<Fire>();
        foreach (var json in ParseBulkArray(raw))
        {
            using var doc = JsonDocument.Parse(json);
            var r = doc.RootElement;
            fires.Add(new Fire(Strings(r, "keys"), Strings(r, "args"), r.GetProperty("exists").GetInt64(), long.Parse(r.GetProperty("us").GetString()!)));
        }
        return fires;
    }

    // cjson encodes an empty Lua table as {} rather than [].
    private static string[] Strings(JsonElement r, string name) =>
        r.GetProperty(name).ValueKind == JsonValueKind.Array ? r.GetProperty(name).EnumerateArray().Select(e => e.GetString()!).ToArray() : [];

    /// <summary>The bulk strings of a RESP2 array reply (as RawClient returns it).</summary>
    public static List<string> ParseBulkArray(string reply)
    {
        var items = new List<string>();
        int pos = reply.IndexOf("\r\n") + 2;
        while (pos < reply.Length)
        {
            int lineEnd = reply.IndexOf("\r\n", pos);
            int len = int.Parse(reply.AsSpan(pos + 1, lineEnd - pos - 1));
            items.Add(reply.Substring(lineEnd + 2, len));
            pos = lineEnd + 2 + len + 2;
        }
        return items;
    }

    /// <summary>Polls until <paramref name="condition"/> holds (a real signal in Redis), failing after the timeout.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan? timeout = null, string? because = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("condition not met in time" + (because is null ? "" : ": " + because));
            await Task.Delay(20);
        }
    }
}
