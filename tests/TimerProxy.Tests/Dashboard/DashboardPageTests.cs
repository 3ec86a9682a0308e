using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using RedisTimer.Proxy.Tests.Infrastructure;

namespace RedisTimer.Proxy.Tests.Dashboard;

/// <summary>The dashboard in a real headless Chromium: what a user sees and can do on it.</summary>
public sealed class DashboardPageTests : IAsyncLifetime
{
    private readonly RedisServer _redis = new();
    private InProcessProxy _proxy = null!;
    private Browser _browser = null!;

    private const string Hostile = "evil:<img src=x onerror=\"window.__injected=1\">";

    public async Task InitializeAsync()
    {
        using (var direct = await RawClient.ConnectAsync(_redis.Port)) await TimerFixture.LoadTestLibraryAsync(direct);
        _proxy = await InProcessProxy.StartAsync(_redis.Endpoint, new Dictionary<string, string?> { ["Proxy:Metrics:Port"] = InProcessProxy.AnyFreePort });
        _browser = await Browser.LaunchAsync();
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null) await _browser.DisposeAsync();
        if (_proxy is not null) await _proxy.DisposeAsync();
        _redis.Dispose();
    }

    private string Url => $"http://127.0.0.1:{_proxy.MetricsPort}/";

    private static async Task<long> StatAsync(RawClient client, string name)
    {
        string reply = await client.CallAsync("TIMER.STATS");
        var m = Regex.Match(reply, $"\\${name.Length}\r\n{name}\r\n:(\\d+)\r\n");
        Assert.True(m.Success, reply);
        return long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    private static long Number(string text) => long.Parse(text.Replace(",", ""), CultureInfo.InvariantCulture);

    private static async Task<List<string>> IdsAsync(IPage page) =>
        (await page.Locator("#timers tbody td.id").AllTextContentsAsync()).ToList();

    private static async Task SearchAsync(IPage page, string pattern, string count = "50", string db = "0")
    {
        await page.FillAsync("#db", db);
        await page.FillAsync("#match", pattern);
        await page.SelectOptionAsync("#count", count);
        await page.ClickAsync("#search");
        await page.WaitForFunctionAsync("() => /^page 1: /.test(document.getElementById('timers-status').textContent)");
    }

    [Fact]
    public async Task The_page_shows_totals_failures_and_a_searchable_paged_list_of_timers_with_their_last_outcome()
    {
        using var c = await RawClient.ConnectAsync(_proxy.Port);
        await c.PipelineAsync(Enumerable.Range(0, 300).Select(i => new object[] { "TIMER.NEW", $"shop:order:{i}", "rt_count", "600000", "0" }), ":1\r\n");
        await c.PipelineAsync(Enumerable.Range(0, 3).Select(i => new object[] { "TIMER.NEW", $"mail:{i}", "rt_count", "3600000", "0" }), ":1\r\n");
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", "billing:retry", "rt_fail", "300", "LOOP", "0"));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", "once:fail", "rt_fail", "50", "0"));
        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", Hostile, "rt_count", "3600000", "0"));
        await TimerFixture.WaitUntilAsync(async () => await StatAsync(c, "timer_fire_errors") >= 3, because: "the failing timers fire");

        long firedBefore = await StatAsync(c, "timers_fired");
        var (page, errors) = await _browser.OpenAsync(Url);

        // Totals: the billing timer keeps firing, so the card lies between the figures read before and after.
        await page.WaitForFunctionAsync("() => document.getElementById('stat-timers_fired').textContent !== '–'");
        await Expect(page.Locator("#upstream-state")).ToHaveTextAsync("Redis up");
        await Expect(page.Locator("#leader-state")).ToHaveTextAsync("firing (leader)");
        long firedShown = Number(await page.TextContentAsync("#stat-timers_fired") ?? "");
        long firedAfter = await StatAsync(c, "timers_fired");
        Assert.InRange(firedShown, firedBefore, firedAfter);
        Assert.Equal(306, Number(await page.TextContentAsync("#stat-timers_created") ?? ""));
        await Expect(page.Locator("#upstream")).ToHaveTextAsync(_redis.Endpoint);

        // Recent failures, with Redis's error text.
        var failure = page.Locator("#failures tbody tr", new() { HasText = "once:fail" });
        await Expect(failure).ToHaveCountAsync(1);
        await Expect(failure.Locator("td.error")).ToHaveTextAsync("ERR rt_fail says no");
        await Expect(page.Locator("#failures tbody tr", new() { HasText = "billing:retry" }).First).ToBeVisibleAsync();

        // A pattern: only what matches.
        await SearchAsync(page, "mail:*");
        Assert.Equal(["mail:0", "mail:1", "mail:2"], (await IdsAsync(page)).Order());
        var mail = page.Locator("#timers tbody tr", new() { HasText = "mail:1" });
        await Expect(mail.Locator("td").Nth(3)).ToHaveTextAsync("1 h");
        await Expect(mail.Locator("td").Nth(4)).ToHaveTextAsync("no");
        // The search is in the address: a reload shows the same list.
        Assert.EndsWith("#db=0&count=50&match=mail%3A*", page.Url);
        await page.ReloadAsync();
        await page.WaitForFunctionAsync("() => /^page 1: /.test(document.getElementById('timers-status').textContent)");
        Assert.Equal("mail:*", await page.InputValueAsync("#match"));
        Assert.Equal(["mail:0", "mail:1", "mail:2"], (await IdsAsync(page)).Order());

        // The failing LOOP timer: its failed runs and last error.
        await SearchAsync(page, "billing:*");
        var billing = page.Locator("#timers tbody tr", new() { HasText = "billing:retry" });
        await Expect(billing.Locator("td").Nth(4)).ToHaveTextAsync("yes");
        Assert.True(Number(await billing.Locator("td").Nth(6).TextContentAsync() ?? "") >= 1);
        await Expect(billing.Locator("td.error")).ToHaveTextAsync("ERR rt_fail says no");

        // Pages: Next until the last, every timer seen (SCAN's guarantee).
        await SearchAsync(page, "", count: "50");
        var seen = new HashSet<string>(await IdsAsync(page));
        int pages = 1;
        while (await page.IsEnabledAsync("#next-page") && pages < 100)
        {
            await page.ClickAsync("#next-page");
            pages++;
            await page.WaitForFunctionAsync($"() => document.getElementById('timers-status').textContent.startsWith('page {pages}:')");
            seen.UnionWith(await IdsAsync(page));
        }
        Assert.True(pages > 1, "305 timers came in one page of 50");
        Assert.Equal(305, seen.Count);
        Assert.Superset(Enumerable.Range(0, 300).Select(i => $"shop:order:{i}").ToHashSet(), seen);
        await Expect(page.Locator("#timers-status")).ToContainTextAsync("the last page");
        await page.ClickAsync("#first-page");
        await page.WaitForFunctionAsync("() => document.getElementById('timers-status').textContent.startsWith('page 1:')");

        // Another db holds none.
        await SearchAsync(page, "", db: "3");
        await Expect(page.Locator("#timers tbody td.empty")).ToHaveTextAsync("no timers");
        await Expect(page.Locator("#failures-db")).ToHaveTextAsync("3");

        // What Redis holds is shown as text: the id's markup is not run.
        await SearchAsync(page, "evil:*");
        Assert.Equal([Hostile], await IdsAsync(page));
        Assert.Equal(0, await page.Locator("#timers img").CountAsync());
        Assert.Null(await page.EvaluateAsync<int?>("() => window.__injected ?? null"));

        // The charts fill in, a point a second.
        await Expect(page.Locator("#rate-summary")).ToHaveTextAsync(new Regex(@"^last minute: [\d,]+ fired, [\d,]+ failed"), new() { Timeout = 20_000 });
        await Expect(page.Locator("#lateness-summary")).ToHaveTextAsync(new Regex(@"^last minute: max [\d.]+ ms$"));
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    [Fact]
    public async Task The_page_says_so_when_Redis_goes_away()
    {
        var (page, _) = await _browser.OpenAsync(Url);
        await Expect(page.Locator("#upstream-state")).ToHaveTextAsync("Redis up");
        _redis.Dispose();
        // The proxy notices at the next connection it makes to Redis.
        using (var refused = await RawClient.ConnectAsync(_proxy.Port)) Assert.StartsWith("-ERR upstream", await refused.ReadReplyAsync());
        await Expect(page.Locator("#upstream-state")).ToHaveTextAsync("Redis down", new() { Timeout = 20_000 });
        await Expect(page.Locator("#banner")).ToHaveTextAsync($"The proxy cannot reach Redis at {_redis.Endpoint}.");
    }

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);
}
