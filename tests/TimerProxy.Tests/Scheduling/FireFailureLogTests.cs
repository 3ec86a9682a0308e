using System.Text.RegularExpressions;
using RedisTimer.Proxy.Tests.Infrastructure;

namespace RedisTimer.Proxy.Tests.Scheduling;

/// <summary>What a user reads in the proxy's log when fires fail: a few lines with id, function and Redis's error,
/// then a count; and a fire whose outcome Redis refuses to keep still fires and is counted.</summary>
public sealed class FireFailureLogTests : IDisposable
{
    private readonly RedisServer _redis = new();

    public void Dispose() => _redis.Dispose();

    [Fact]
    public async Task A_burst_of_failures_is_five_lines_and_then_a_count()
    {
        using (var d = await RawClient.ConnectAsync(_redis.Port)) await TimerFixture.LoadTestLibraryAsync(d);
        using var proxy = new ProxyProcess(_redis.Endpoint);
        await proxy.WaitListeningAsync();
        using var c = await RawClient.ConnectAsync(proxy.Port);
        const int failures = 300;
        var create = new List<byte>();
        for (int i = 0; i < failures; i++) create.AddRange(RawClient.Command("TIMER.NEW", $"burst:{i}", "rt_fail", "200", "0"));
        await c.SendAsync([.. create]);
        for (int i = 0; i < failures; i++) Assert.Equal(":1\r\n", await c.ReadReplyAsync());

        // The count comes once the 10 s window of the first lines has passed.
        await proxy.WaitForLogAsync("more fires failed in the last 10 s", TimeSpan.FromSeconds(40));
        var lines = Regex.Matches(proxy.Output, @"Timer (burst:\d+) \(db 0\): function rt_fail failed: ERR rt_fail says no").ToList();
        Assert.Equal(5, lines.Count);
        Assert.Equal(5, lines.Select(m => m.Groups[1].Value).Distinct().Count());
        Assert.Matches($@"\b{failures - 5} more fires failed in the last 10 s", proxy.Output);
    }

    [Fact]
    public async Task A_fire_whose_outcome_Redis_refuses_to_keep_still_fires_and_is_counted()
    {
        using (var d = await RawClient.ConnectAsync(_redis.Port))
        {
            await TimerFixture.LoadTestLibraryAsync(d);
            // The failures list's name taken by a string: keeping a failure there is refused (WRONGTYPE).
            Assert.Equal("+OK\r\n", await d.CallAsync("SET", "timer-tzw:failed", "not a list"));
        }
        using var proxy = new ProxyProcess(_redis.Endpoint);
        await proxy.WaitListeningAsync();
        using var c = await RawClient.ConnectAsync(proxy.Port);
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", "refused:once", "rt_fail", "10", "0"));
        await proxy.WaitForLogAsync("was not kept in Redis", TimeSpan.FromSeconds(15));
        Assert.Contains("WRONGTYPE", proxy.Output);

        // The connection stays in step: the next timers fire, and both fires are counted.
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", "refused:next", "rt_count", "10", "1", "refused:n"));
        await TimerFixture.WaitUntilAsync(async () => await c.CallAsync("GET", "refused:n") == "$1\r\n1\r\n", because: "the next timer fires");
        await TimerFixture.WaitUntilAsync(async () => (await c.CallAsync("TIMER.STATS")).Contains("$12\r\ntimers_fired\r\n:2\r\n"),
            because: "both fires are counted");
        Assert.Contains("$17\r\ntimer_fire_errors\r\n:1\r\n", await c.CallAsync("TIMER.STATS"));
        Assert.Equal("$10\r\nnot a list\r\n", await c.CallAsync("GET", "timer-tzw:failed"));
    }
}
