using RedisTimer.Proxy.Tests.Infrastructure;

namespace RedisTimer.Proxy.Tests.Timers;

/// <summary>What a starting proxy makes of the function libraries already in Redis (docs/LUA.md).</summary>
public class TimerLuaStartupTests
{
    private const string ViaProxy = """
        #!lua name=viaproxy
        redis.register_function('vp_arm', function(keys, args)
          return redis.call('TIMER.NEW', keys[1], 'rt_log', 100, 1, keys[1], args[1])
        end)
        """;

    private const string Direct = """
        #!lua name=straight_in
        redis.register_function('si_arm', function(keys, args)
          return redis.call('TIMER.NEW', keys[1], 'rt_log', 100, 0)
        end)
        """;

    [Fact]
    public async Task A_proxy_starting_over_a_library_with_the_prelude_fires_its_timers_and_names_libraries_without_it()
    {
        using var redis = new RedisServer();
        using var direct = await RawClient.ConnectAsync(redis.Port);
        await TimerFixture.LoadTestLibraryAsync(direct);
        Assert.Equal("$11\r\nstraight_in\r\n", await direct.CallAsync("FUNCTION", "LOAD", Direct));
        await using (var first = await InProcessProxy.StartAsync(redis.Endpoint))
        {
            using var c = await RawClient.ConnectAsync(first.Port);
            Assert.Equal("$8\r\nviaproxy\r\n", await c.CallAsync("FUNCTION", "LOAD", ViaProxy));
        }
        // Only the prelude says that timers may come: no timer library, no timers.
        Assert.Equal("+OK\r\n", await direct.CallAsync("FUNCTION", "DELETE", "redistimer"));
        Assert.Equal(":0\r\n", await direct.CallAsync("EXISTS", "timer-tzw:due"));

        using var proxy = new ProxyProcess(redis.Endpoint);
        await proxy.WaitForLogAsync("resuming timers", TimeSpan.FromSeconds(30));
        Assert.Contains("Function libraries straight_in call TIMER.* but were loaded straight into Redis", proxy.Output);
        Assert.DoesNotContain("viaproxy call", proxy.Output);

        // A timer created by the library's code, called on Redis itself and not through any proxy, fires.
        string id = "lua:startup:" + Guid.NewGuid().ToString("N"), tag = "tag:" + Guid.NewGuid().ToString("N");
        Assert.Equal(":1\r\n", await direct.CallAsync("FCALL", "vp_arm", "1", id, tag));
        var fires = await WaitForFiresAsync(redis, tag);
        Assert.Single(fires);
        Assert.Equal([id], fires[0].Keys);
        Assert.Equal([tag], fires[0].Args);
    }

    private static async Task<List<TimerFixture.Fire>> WaitForFiresAsync(RedisServer redis, string tag)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            var fires = (await TimerFixture.ReadFiresAsync(redis.Port)).Where(f => f.Args.Contains(tag)).ToList();
            if (fires.Count > 0 || DateTime.UtcNow > deadline)
            {
                await Task.Delay(300); // a second fire would show by now
                return (await TimerFixture.ReadFiresAsync(redis.Port)).Where(f => f.Args.Contains(tag)).ToList();
            }
            await Task.Delay(50);
        }
    }
}
