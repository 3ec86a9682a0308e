using System.Text.RegularExpressions;
using RedisTimer.Proxy.Tests.Infrastructure;

namespace RedisTimer.Proxy.Tests.Hosting;

/// <summary>examples/demo-library.lua, the function library examples/docker-compose.yml loads at start, fired through the proxy.</summary>
public class DemoLibraryTests(ProxyFixture fx) : IClassFixture<ProxyFixture>
{
    private static readonly string Library = File.ReadAllText(OptionsTests.RepositoryFile(Path.Combine("examples", "demo-library.lua")));

    private async Task<RawClient> ConnectWithLibraryAsync()
    {
        var client = await fx.ConnectProxyAsync();
        // As the compose file's load-library service does (there directly on Redis; here through the proxy).
        Assert.Equal("$4\r\ndemo\r\n", await client.CallAsync("FUNCTION", "LOAD", "REPLACE", Library));
        return client;
    }

    [Fact]
    public async Task A_one_shot_timer_for_demo_tick_counts_the_tick_and_logs_it()
    {
        using var client = await ConnectWithLibraryAsync();

        Assert.Equal(":1\r\n", await client.CallAsync("TIMER.NEW", "demo:once", "demo_tick", 100, 2, "demo1:ticks", "demo1:log", "once-1"));
        await TimerFixture.WaitUntilAsync(async () => await client.CallAsync("GET", "demo1:ticks") == "$1\r\n1\r\n",
            TimeSpan.FromSeconds(15), "demo_tick counted the fire");

        var log = TimerFixture.ParseBulkArray(await client.CallAsync("LRANGE", "demo1:log", 0, -1));
        Assert.Single(log);
        Assert.Matches(new Regex(@"^once-1 #1 at \d{10}\.\d{6}$"), log[0]);
        Assert.Equal(":0\r\n", await client.CallAsync("EXISTS", "demo:once")); // a one-shot timer is gone once fired
    }

    [Fact]
    public async Task A_loop_timer_for_demo_tick_keeps_counting_and_the_log_keeps_the_latest_ten()
    {
        using var client = await ConnectWithLibraryAsync();

        Assert.Equal(":1\r\n", await client.CallAsync("TIMER.NEW", "demo:loop", "demo_tick", 50, "LOOP", 2, "demo2:ticks", "demo2:log", "loop"));
        await TimerFixture.WaitUntilAsync(async () => (await client.CallAsync("GET", "demo2:ticks")) is var r && r != "$-1\r\n" && int.Parse(r.Split("\r\n")[1]) >= 12,
            TimeSpan.FromSeconds(30), "the LOOP timer fired 12 times");
        Assert.Equal(":1\r\n", await client.CallAsync("TIMER.KILL", "demo:loop"));

        var log = TimerFixture.ParseBulkArray(await client.CallAsync("LRANGE", "demo2:log", 0, -1));
        Assert.Equal(10, log.Count);
        var counts = log.Select(entry => int.Parse(Regex.Match(entry, @"^loop #(\d+) at ").Groups[1].Value)).ToList();
        Assert.Equal(counts.OrderDescending(), counts); // newest first
        Assert.Equal(counts[0] - 9, counts[^1]);        // consecutive ticks: none lost, none repeated
    }
}
