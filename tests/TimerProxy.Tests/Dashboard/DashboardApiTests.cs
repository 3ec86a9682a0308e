using System.Net;
using System.Text.Json;
using RedisTimer.Proxy.Tests.Infrastructure;

namespace RedisTimer.Proxy.Tests.Dashboard;

/// <summary>The JSON the dashboard reads from the metrics port, and what the port refuses.</summary>
public sealed class DashboardApiTests : IDisposable
{
    private readonly RedisServer _redis = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(20) };

    public void Dispose()
    {
        _http.Dispose();
        _redis.Dispose();
    }

    private static Task<InProcessProxy> StartAsync(string upstream) =>
        InProcessProxy.StartAsync(upstream, new Dictionary<string, string?> { ["Proxy:Metrics:Port"] = InProcessProxy.AnyFreePort });

    private async Task<(HttpStatusCode Status, JsonElement Body)> GetAsync(InProcessProxy proxy, string path)
    {
        using var response = await _http.GetAsync($"http://127.0.0.1:{proxy.MetricsPort}{path}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, doc.RootElement.Clone());
    }

    private async Task<JsonElement> OkAsync(InProcessProxy proxy, string path)
    {
        var (status, body) = await GetAsync(proxy, path);
        Assert.True(status == HttpStatusCode.OK, $"{path}: {status} {body}");
        return body;
    }

    /// <summary>Every id listed from cursor 0 to the end, each page's timers checked, and the number of pages.</summary>
    private async Task<(HashSet<string> Ids, int Pages)> ListAllAsync(InProcessProxy proxy, string query)
    {
        var seen = new HashSet<string>();
        string cursor = "0";
        int pages = 0;
        do
        {
            var page = await OkAsync(proxy, $"/api/timers?{query}&cursor={cursor}");
            foreach (var t in page.GetProperty("timers").EnumerateArray())
            {
                string id = t.GetProperty("id").GetString()!;
                seen.Add(id);
                if (!id.StartsWith("dash:far:", StringComparison.Ordinal)) continue;
                Assert.Equal("rt_count", t.GetProperty("function").GetString());
                Assert.Equal(600000, t.GetProperty("interval").GetInt64());
                Assert.False(t.GetProperty("loop").GetBoolean());
                Assert.InRange(t.GetProperty("remaining").GetInt64(), 1, 600000);
                Assert.Equal(JsonValueKind.Null, t.GetProperty("last_error").ValueKind);
            }
            cursor = page.GetProperty("cursor").GetString()!;
            pages++;
        } while (cursor != "0" && pages < 1000);
        return (seen, pages);
    }

    [Fact]
    public async Task Timer_pages_follow_the_cursor_and_the_pattern_and_a_failing_loop_shows_its_last_error_and_its_failures()
    {
        using (var direct = await RawClient.ConnectAsync(_redis.Port)) await TimerFixture.LoadTestLibraryAsync(direct);
        await using var proxy = await StartAsync(_redis.Endpoint);
        using var c = await RawClient.ConnectAsync(proxy.Port);
        // More than a listpack's 128 entries, so that ZSCAN really pages.
        await c.PipelineAsync(Enumerable.Range(0, 300).Select(i => new object[] { "TIMER.NEW", $"dash:far:{i}", "rt_count", "600000", "0" }), ":1\r\n");
        await c.PipelineAsync(Enumerable.Range(0, 3).Select(i => new object[] { "TIMER.NEW", $"other:{i}", "rt_count", "600000", "0" }), ":1\r\n");
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", "dash:loop", "rt_fail", "200", "LOOP", "0"));

        // Without a pattern, pages of about COUNT; with one, only what matches. Either way every timer is seen.
        var (all, pages) = await ListAllAsync(proxy, "count=100");
        Assert.True(pages > 1, $"304 timers came in {pages} page of COUNT 100");
        Assert.Equal(304, all.Count);
        var (far, _) = await ListAllAsync(proxy, "match=dash:far:*&count=100");
        Assert.Equal(Enumerable.Range(0, 300).Select(i => $"dash:far:{i}").ToHashSet(), far);

        // The failing LOOP timer: its counters and last error, and the db's failures list.
        JsonElement loop = default;
        await TimerFixture.WaitUntilAsync(async () =>
        {
            var page = await OkAsync(proxy, "/api/timers?match=dash:loop");
            loop = page.GetProperty("timers").EnumerateArray().Single();
            return loop.GetProperty("runs_failed").GetInt64() >= 2;
        }, because: "the LOOP timer fails twice");
        Assert.True(loop.GetProperty("loop").GetBoolean());
        Assert.Equal("ERR rt_fail says no", loop.GetProperty("last_error").GetString());
        Assert.Equal(0, loop.GetProperty("runs_ok").GetInt64());
        Assert.Equal(JsonValueKind.Number, loop.GetProperty("last_run").ValueKind);
        var failures = (await OkAsync(proxy, "/api/failures")).GetProperty("failures").EnumerateArray().ToList();
        Assert.NotEmpty(failures);
        Assert.All(failures, f =>
        {
            Assert.Equal("dash:loop", f.GetProperty("id").GetString());
            Assert.Equal("rt_fail", f.GetProperty("function").GetString());
            Assert.Equal("ERR rt_fail says no", f.GetProperty("error").GetString());
        });
        // Another db has neither.
        Assert.Empty((await OkAsync(proxy, "/api/timers?db=1")).GetProperty("timers").EnumerateArray());
        Assert.Empty((await OkAsync(proxy, "/api/failures?db=1")).GetProperty("failures").EnumerateArray());
    }

    [Fact]
    public async Task The_summary_has_the_TIMER_STATS_figures_and_the_activity_rows_add_up_to_the_fires()
    {
        using (var direct = await RawClient.ConnectAsync(_redis.Port)) await TimerFixture.LoadTestLibraryAsync(direct);
        await using var proxy = await StartAsync(_redis.Endpoint);
        using var c = await RawClient.ConnectAsync(proxy.Port);
        await c.PipelineAsync(Enumerable.Range(0, 20).Select(i => new object[] { "TIMER.NEW", $"act:{i}", "rt_count", "50", "1", "act:n" }), ":1\r\n");
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", "act:fail", "rt_fail", "50", "0"));
        using var d = await RawClient.ConnectAsync(_redis.Port);
        await TimerFixture.WaitUntilAsync(async () => await d.CallAsync("GET", "act:n") == "$2\r\n20\r\n", because: "the 20 timers fire");

        // A row a second: the fires appear in the rows within a few seconds, and they are all of them.
        JsonElement rows = default;
        await TimerFixture.WaitUntilAsync(async () =>
        {
            rows = (await OkAsync(proxy, "/api/activity")).GetProperty("rows");
            return rows.EnumerateArray().Sum(r => r.GetProperty("fired").GetInt64()) == 21;
        }, because: "the activity rows count the 21 fires");
        Assert.Equal(1, rows.EnumerateArray().Sum(r => r.GetProperty("errors").GetInt64()));
        Assert.Equal(21, rows.EnumerateArray().Sum(r => r.GetProperty("created").GetInt64()));
        var busy = rows.EnumerateArray().Where(r => r.GetProperty("fired").GetInt64() > 0).ToList();
        Assert.All(busy, r =>
        {
            Assert.InRange(r.GetProperty("lateness_max").GetDouble(), r.GetProperty("lateness_mean").GetDouble(), 5000);
            Assert.InRange(r.GetProperty("span").GetInt64(), 1, 5000);
        });
        Assert.All(rows.EnumerateArray().Where(r => r.GetProperty("fired").GetInt64() == 0),
            r => Assert.Equal(JsonValueKind.Null, r.GetProperty("lateness_max").ValueKind));

        var summary = await OkAsync(proxy, "/api/summary");
        var stats = summary.GetProperty("stats");
        string reply = await c.CallAsync("TIMER.STATS");
        foreach (var name in new[] { "timers_fired", "timer_fire_errors", "timers_created", "clients_connected", "upstream_up", "scheduler_leader" })
            Assert.Contains($"${name.Length}\r\n{name}\r\n:{stats.GetProperty(name).GetInt64()}\r\n", reply);
        Assert.Equal(21, stats.GetProperty("timers_fired").GetInt64());
        Assert.Equal(_redis.Endpoint, summary.GetProperty("upstream").GetString());
        Assert.InRange(summary.GetProperty("now").GetInt64() - summary.GetProperty("started").GetInt64(), 0, 600_000);
    }

    [Fact]
    public async Task Bad_queries_get_400_with_the_reason_other_methods_405_and_the_page_its_security_headers()
    {
        await using var proxy = await StartAsync(_redis.Endpoint);
        foreach (var (query, error) in new[]
        {
            ("count=0", "count must be an integer from 1 to 200"),
            ("count=201", "count must be an integer from 1 to 200"),
            ("count=ten", "count must be an integer from 1 to 200"),
            ("db=-1", "db must be an integer from 0 to 2147483647"),
            ("db=70000", "db must be a database number, not 70000"),
        })
        {
            var (status, body) = await GetAsync(proxy, "/api/timers?" + query);
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Equal(error, body.GetProperty("error").GetString());
        }
        // Without the library loaded (no timer made yet) the list is empty, and the cursor is checked by the
        // library once it is there, with Redis's text.
        Assert.Equal("""{"timers":[],"cursor":"0"}""", (await OkAsync(proxy, "/api/timers?cursor=abc")).GetRawText());
        using (var c = await RawClient.ConnectAsync(proxy.Port)) Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", "x", "f", "600000", "0"));
        var (cursorStatus, cursorBody) = await GetAsync(proxy, "/api/timers?cursor=abc");
        Assert.Equal(HttpStatusCode.BadRequest, cursorStatus);
        Assert.Equal("ERR invalid cursor", cursorBody.GetProperty("error").GetString());
        var (dbStatus, dbBody) = await GetAsync(proxy, "/api/failures?db=5000");
        Assert.Equal(HttpStatusCode.BadRequest, dbStatus);
        Assert.Equal("The database does not exist on the server: 5000", dbBody.GetProperty("error").GetString());

        string baseUrl = $"http://127.0.0.1:{proxy.MetricsPort}";
        foreach (var method in new[] { HttpMethod.Post, HttpMethod.Put, HttpMethod.Delete })
        foreach (var path in new[] { "/", "/api/timers", "/api/summary", "/metrics" })
        {
            using var refused = await _http.SendAsync(new HttpRequestMessage(method, baseUrl + path));
            Assert.Equal(HttpStatusCode.MethodNotAllowed, refused.StatusCode);
        }
        using var missing = await _http.GetAsync(baseUrl + "/nothing-here");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);

        using var page = await _http.GetAsync(baseUrl + "/");
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("script-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Contains("frame-ancestors 'none'", page.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Equal("nosniff", page.Headers.GetValues("X-Content-Type-Options").Single());
        string html = await page.Content.ReadAsStringAsync();
        Assert.Contains("<script src=\"/dashboard.js\" defer></script>", html);
        using var script = await _http.GetAsync(baseUrl + "/dashboard.js");
        Assert.Equal("text/javascript", script.Content.Headers.ContentType?.MediaType);
        Assert.Contains("/api/timers", await script.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task With_Redis_gone_the_queries_answer_503_within_seconds_and_the_summary_still_answers()
    {
        var redis = new RedisServer();
        try
        {
            await using var proxy = await StartAsync(redis.Endpoint);
            using (var c = await RawClient.ConnectAsync(proxy.Port)) Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", "gone", "f", "600000", "0"));
            Assert.Single((await OkAsync(proxy, "/api/timers")).GetProperty("timers").EnumerateArray());
            redis.Dispose();
            var started = DateTime.UtcNow;
            var (status, body) = await GetAsync(proxy, "/api/timers");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
            Assert.StartsWith($"upstream {redis.Endpoint} unavailable", body.GetProperty("error").GetString());
            // Patience is 3 s; a loaded machine may add to it, not the connection's 10 s timeout.
            Assert.InRange((DateTime.UtcNow - started).TotalSeconds, 0, 9);
            Assert.Equal(HttpStatusCode.OK, (await GetAsync(proxy, "/api/summary")).Status);
        }
        finally
        {
            redis.Dispose();
        }
    }
}
