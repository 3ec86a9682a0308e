using Microsoft.Playwright;

namespace RedisTimer.Proxy.Tests.Infrastructure;

/// <summary>
/// A real headless Chromium driven by Playwright: Debian's <c>chromium</c> (installed by scripts/setup.sh), or the
/// browser at <c>CHROMIUM_PATH</c>. Playwright's own browser download is not used: the test machines reach no
/// download site.
/// </summary>
public sealed class Browser : IAsyncDisposable
{
    private readonly IPlaywright _playwright;
    private readonly IBrowser _browser;

    private Browser(IPlaywright playwright, IBrowser browser)
    {
        _playwright = playwright;
        _browser = browser;
    }

    public static string ExecutablePath =>
        Environment.GetEnvironmentVariable("CHROMIUM_PATH") is { Length: > 0 } path ? path
        : new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome" }.FirstOrDefault(File.Exists)
          ?? throw new InvalidOperationException("no Chromium found: run scripts/setup.sh (it installs Debian's chromium) or set CHROMIUM_PATH");

    public static async Task<Browser> LaunchAsync()
    {
        var playwright = await Playwright.CreateAsync();
        try
        {
            var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = ExecutablePath,
                Headless = true,
                Timeout = 60_000,
            });
            return new Browser(playwright, browser);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    /// <summary>A new page that records the page's own errors (a script that throws, a refused policy, a failed load).</summary>
    public async Task<(IPage Page, List<string> Errors)> OpenAsync(string url)
    {
        var page = await _browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1300, Height = 1000 } });
        page.SetDefaultTimeout(20_000);
        var errors = new List<string>();
        page.Console += (_, message) => { if (message.Type == "error") lock (errors) errors.Add($"{message.Text} ({message.Location})"); };
        page.PageError += (_, error) => { lock (errors) errors.Add(error); };
        await page.GotoAsync(url);
        return (page, errors);
    }

    public async ValueTask DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
    }
}
