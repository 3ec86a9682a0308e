using System.Globalization;
using System.Text.RegularExpressions;
using RedisTimer.Proxy.Tests.Infrastructure;

namespace RedisTimer.Proxy.Tests.Metrics;

/// <summary>The Prometheus endpoint (<c>--metrics-port</c>): what a scraper reads while timers are created and fire.</summary>
public sealed class MetricsEndpointTests : IDisposable
{
    private readonly RedisServer _redis = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };

    public void Dispose()
    {
        _http.Dispose();
        _redis.Dispose();
    }

    // A free port picked when the proxy starts, so that a port taken meanwhile is retried with another one.
    private static async Task<InProcessProxy> StartAsync(string upstream) =>
        await InProcessProxy.StartAsync(upstream, new Dictionary<string, string?> { ["Proxy:Metrics:Port"] = InProcessProxy.AnyFreePort });

    private async Task<string> ScrapeAsync(int port)
    {
        using var response = await _http.GetAsync($"http://127.0.0.1:{port}/metrics");
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.ToString());
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>The value of an unlabelled sample, or null when it is not there.</summary>
    private static double? Sample(string text, string name)
    {
        var m = Regex.Match(text, $"^{Regex.Escape(name)} (\\S+)$", RegexOptions.Multiline);
        return m.Success ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : null;
    }

    private static void AssertType(string text, string name, string type) =>
        Assert.Matches(new Regex($"^# TYPE {Regex.Escape(name)} {type}$", RegexOptions.Multiline), text);

    [Fact]
    public async Task A_scrape_shows_fires_failures_lateness_clients_and_the_lease_with_prometheus_types_and_no_timer_ids()
    {
        using (var direct = await RawClient.ConnectAsync(_redis.Port)) await TimerFixture.LoadTestLibraryAsync(direct);
        await using var proxy = await StartAsync(_redis.Endpoint);
        int metricsPort = proxy.MetricsPort;

        string before = await ScrapeAsync(metricsPort);
        Assert.Equal(0, Sample(before, "redistimer_clients_connected") ?? 0);
        Assert.Equal(1, Sample(before, "redistimer_upstream_up"));
        Assert.Matches(new Regex("^redistimer_build_info\\{version=\"[^\"]+\"\\} 1$", RegexOptions.Multiline), before);

        using (var c = await RawClient.ConnectAsync(proxy.Port))
        {
            Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", "metrics:ok:1", "rt_count", "100", "1", "metrics:n"));
            Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", "metrics:ok:2", "rt_count", "150", "1", "metrics:n"));
            Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", "metrics:fail", "rt_fail", "100", "0"));
            using var d = await RawClient.ConnectAsync(_redis.Port);
            await TimerFixture.WaitUntilAsync(async () => await d.CallAsync("EXISTS", "metrics:ok:1", "metrics:ok:2", "metrics:fail") == ":0\r\n",
                because: "the three timers fire");
            Assert.Equal("$1\r\n2\r\n", await d.CallAsync("GET", "metrics:n"));

            // The fire's figures are recorded after its reply: wait until the scrape shows all three.
            string during = "";
            await TimerFixture.WaitUntilAsync(async () => Sample(during = await ScrapeAsync(metricsPort), "redistimer_timers_fired_total") == 3,
                because: "the scrape counts the three fires");
            AssertType(during, "redistimer_timers_fired_total", "counter");
            Assert.Equal(1, Sample(during, "redistimer_timer_fire_errors_total"));
            AssertType(during, "redistimer_timer_fire_errors_total", "counter");
            AssertType(during, "redistimer_fire_lateness_seconds", "histogram");
            Assert.Equal(3, Sample(during, "redistimer_fire_lateness_seconds_count"));
            // On time within a second, on any machine: the sum of three lateness figures stays under 3 s.
            Assert.InRange(Sample(during, "redistimer_fire_lateness_seconds_sum")!.Value, 0, 3);
            AssertType(during, "redistimer_fcall_duration_seconds", "histogram");
            Assert.InRange(Sample(during, "redistimer_fcall_duration_seconds_count")!.Value, 1, 3);
            Assert.Equal(1, Sample(during, "redistimer_clients_connected"));
            Assert.Equal(1, Sample(during, "redistimer_client_connections_total"));
            Assert.Equal(1, Sample(during, "redistimer_scheduler_leader"));
            Assert.Equal(0, Sample(during, "redistimer_timers_scheduled"));
            AssertType(during, "redistimer_timers_scheduled", "gauge");
            Assert.Equal(3, Sample(during, "redistimer_timers_created_total"));
            AssertType(during, "redistimer_timers_created_total", "counter");
            Assert.DoesNotContain("metrics:ok", during);

            // Pipelined, so that most are merged into one library call each: 10 created and one reset, an invalid
            // interval; then 11 kills, one of an id that is no timer.
            var news = new List<byte>();
            for (int i = 0; i < 10; i++) news.AddRange(RawClient.Command("TIMER.NEW", $"metrics:far:{i}", "rt_count", "600000", "0"));
            news.AddRange(RawClient.Command("TIMER.NEW", "metrics:far:0", "rt_count", "700000", "0"));
            news.AddRange(RawClient.Command("TIMER.NEW", "metrics:bad", "rt_count", "0", "0"));
            await c.SendAsync(news.ToArray());
            for (int i = 0; i < 10; i++) Assert.Equal(":1\r\n", await c.ReadReplyAsync());
            Assert.Equal(":0\r\n", await c.ReadReplyAsync());
            Assert.Equal("-ERR invalid interval\r\n", await c.ReadReplyAsync());
            var kills = new List<byte>();
            for (int i = 0; i < 11; i++) kills.AddRange(RawClient.Command("TIMER.KILL", $"metrics:far:{i}"));
            await c.SendAsync(kills.ToArray());
            for (int i = 0; i < 10; i++) Assert.Equal(":1\r\n", await c.ReadReplyAsync());
            Assert.Equal(":0\r\n", await c.ReadReplyAsync());
            string counted = await ScrapeAsync(metricsPort);
            Assert.Equal(14, Sample(counted, "redistimer_timers_created_total"));
            Assert.Equal(10, Sample(counted, "redistimer_timers_killed_total"));
            Assert.DoesNotContain("rt_count", during);
        }

        string after = "";
        await TimerFixture.WaitUntilAsync(async () => Sample(after = await ScrapeAsync(metricsPort), "redistimer_clients_connected") == 0,
            because: "the client's close is counted");
        Assert.Equal(1, Sample(after, "redistimer_client_connections_total"));
    }

    [Fact]
    public async Task Timers_due_later_are_counted_as_scheduled_and_a_lost_upstream_shows_as_down()
    {
        var redis = new RedisServer();
        try
        {
            await using var proxy = await StartAsync(redis.Endpoint);
            int metricsPort = proxy.MetricsPort;
            using (var c = await RawClient.ConnectAsync(proxy.Port))
                for (int i = 0; i < 5; i++) Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", $"metrics:later:{i}", "rt_count", "5000", "0"));
            string held = "";
            await TimerFixture.WaitUntilAsync(async () => Sample(held = await ScrapeAsync(metricsPort), "redistimer_timers_scheduled") == 5,
                because: "the five timers due within the window are held");

            redis.Dispose();
            // A client that connects now is refused: the upstream is down.
            using (var refused = await RawClient.ConnectAsync(proxy.Port))
                Assert.StartsWith("-ERR upstream", await refused.ReadReplyAsync());
            Assert.Equal(0, Sample(await ScrapeAsync(metricsPort), "redistimer_upstream_up"));
        }
        finally
        {
            redis.Dispose();
        }
    }
}
