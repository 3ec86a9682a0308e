using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using RedisTimer.Proxy.Hosting;
using RedisTimer.Proxy.Scheduling;
using RedisTimer.Proxy.Tests.Infrastructure;

namespace RedisTimer.Proxy.Tests.Hosting;

/// <summary>Settings: each default in one place (the options classes), and a bad value stops start-up with one line.</summary>
public class OptionsTests
{
    internal static string RepositoryFile(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "RedisTimer.sln"))) return Path.Combine(dir.FullName, name);
        throw new FileNotFoundException("repository root not found above " + AppContext.BaseDirectory);
    }

    private static readonly (string Section, object Defaults)[] Sections =
    [
        (ProxyOptions.Section, new ProxyOptions()),
        (TimerOptions.Section, new TimerOptions()),
    ];

    /// <summary>Every scalar setting of the options classes with its default, as "Section:Name".</summary>
    private static IEnumerable<(string Key, PropertyInfo Property, object? Default)> Settings() =>
        from s in Sections
        from p in s.Defaults.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance)
        where p.PropertyType.IsPrimitive || p.PropertyType.IsEnum || p.PropertyType == typeof(string)
        select ($"{s.Section}:{p.Name}", p, p.GetValue(s.Defaults));

    private static string Text(object? value) => value switch
    {
        null => "",
        Enum e => e.ToString().ToLowerInvariant(),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString()!,
    };

    [Fact]
    public void Appsettings_json_holds_the_same_defaults_as_the_options_classes()
    {
        var config = new ConfigurationBuilder().AddJsonFile(RepositoryFile("appsettings.json")).Build();
        foreach (var (key, property, value) in Settings())
        {
            string? configured = config[key];
            if (configured is null) continue; // left to the class
            Assert.True(string.Equals(Text(value), configured, StringComparison.OrdinalIgnoreCase), $"{key}: appsettings.json says '{configured}', the class '{Text(value)}'");
        }
    }

    [Fact]
    public void The_readme_table_lists_every_setting_with_its_default()
    {
        var rows = new Dictionary<string, string>();
        foreach (Match row in Regex.Matches(File.ReadAllText(RepositoryFile("README.md")), @"^\| (`[A-Za-z]+:[A-Za-z]+`(?: / `[A-Za-z]+:[A-Za-z]+`)*) \|[^|]*\| ([^|]+) \|", RegexOptions.Multiline))
        {
            string cell = row.Groups[2].Value.Trim();
            string shown = cell == "empty" ? "" : Regex.Match(cell, "^`([^`]*)`").Groups[1].Value;
            foreach (Match key in Regex.Matches(row.Groups[1].Value, "`([^`]+)`")) rows[key.Groups[1].Value] = shown;
        }
        foreach (var (key, _, value) in Settings())
        {
            Assert.True(rows.TryGetValue(key, out string? shown), $"{key} is not in the README's configuration table");
            Assert.True(string.Equals(Text(value), shown, StringComparison.OrdinalIgnoreCase), $"{key}: the README says '{shown}', the class '{Text(value)}'");
        }
    }

    [Theory]
    [InlineData("--Timers:FireBatchSize=0", "Timers:FireBatchSize must be 1..1024, not 0")]
    [InlineData("--Timers:MaxLoaded=0", "Timers:MaxLoaded must be 1..100000000, not 0")]
    [InlineData("--Timers:ReconcileIntervalMs=0", "Timers:ReconcileIntervalMs must be 10..3600000, not 0")]
    [InlineData("--Timers:WindowMs=0", "Timers:WindowMs must be 100..86400000, not 0")]
    [InlineData("--wait-timeout-ms=0", "Timers:WaitTimeoutMs must be 1..3600000, not 0")]
    [InlineData("--wait-replicas=-1", "Timers:WaitReplicas must be 0..1000, not -1")]
    [InlineData("--Proxy:EpollThreads=0", "Proxy:EpollThreads must be 1..256, not 0")]
    [InlineData("--Proxy:Port=70000", "Proxy:Port must be 0..65535, not 70000")]
    [InlineData("--timeout=-1", "Proxy:Timeout must be 0..2000000000, not -1")]
    [InlineData("--maxclients=0", "Proxy:MaxClients must be 1..1000000, not 0")]
    [InlineData("--metrics-port=70000", "Proxy:Metrics:Port must be 0..65535, not 70000")]
    [InlineData("--metrics-address=localhost", "Proxy:Metrics:Address must be an IP address (0.0.0.0 or :: for all), not 'localhost'")]
    [InlineData("--Proxy:Transport=fast", "'Proxy:Transport'")]
    [InlineData("--Proxy:Upstream=127.0.0.1:1,foo=bar", "Proxy:Upstream: Keyword 'foo' is not supported.")]
    public void A_bad_setting_stops_start_up_with_one_line_naming_it(string setting, string expected)
    {
        using var proxy = new ProxyProcess("127.0.0.1:1", extraArgs: [setting]);
        Assert.True(proxy.WaitForExit(TimeSpan.FromSeconds(30)), proxy.Output);
        Assert.Equal(2, proxy.ExitCode);
        string output = proxy.Output.Trim();
        Assert.DoesNotContain("\n", output);
        Assert.StartsWith("redistimer: invalid configuration: ", output);
        Assert.Contains(expected, output);
    }

    [Fact]
    public void A_password_in_both_the_string_and_the_switch_stops_start_up_without_showing_either()
    {
        using var proxy = new ProxyProcess("127.0.0.1:1,password=Str1ngSecret", extraArgs: ["--upstream-password", "Sw1tchSecret"]);
        Assert.True(proxy.WaitForExit(TimeSpan.FromSeconds(30)), proxy.Output);
        Assert.Equal(2, proxy.ExitCode);
        Assert.Equal("redistimer: invalid configuration: Proxy:Upstream: password conflicts with Proxy:UpstreamPassword (set it in one place)",
            proxy.Output.Trim());
    }

    [Theory]
    [InlineData("127.0.0.1:1", "--upstream-tls-ca-cert-file", "/nonexistent/ca.crt", "Proxy:UpstreamTls: certificate files are set but Proxy:Upstream does not ask for TLS (add ssl=true)")]
    [InlineData("127.0.0.1:1,ssl=true", "--upstream-tls-ca-cert-file", "/nonexistent/ca.crt", "Proxy:UpstreamTls:CaCertFile: Could not find a part of the path '/nonexistent/ca.crt'.")]
    [InlineData("127.0.0.1:1,ssl=true", "--upstream-tls-cert-file", "/nonexistent/client.crt", "Proxy:UpstreamTls: CertFile and KeyFile go together (--upstream-tls-cert-file and --upstream-tls-key-file)")]
    public void Bad_upstream_tls_files_stop_start_up_with_one_line(string upstream, string option, string value, string expected)
    {
        using var proxy = new ProxyProcess(upstream, extraArgs: [option, value]);
        Assert.True(proxy.WaitForExit(TimeSpan.FromSeconds(30)), proxy.Output);
        Assert.Equal(2, proxy.ExitCode);
        Assert.Equal("redistimer: invalid configuration: " + expected, proxy.Output.Trim());
    }

    [Theory]
    [InlineData("Proxy:Port is 0 and Proxy:Tls:Port is not set: nothing to listen on", "--port", "0")]
    [InlineData("Proxy:Tls: --tls-port needs --tls-cert-file and --tls-key-file (Proxy:Tls:CertFile, Proxy:Tls:KeyFile)", "--tls-port", "16390")]
    [InlineData("Proxy:Tls: --tls-auth-clients yes needs --tls-ca-cert-file (Proxy:Tls:CaCertFile), or --tls-auth-clients no",
        "--tls-port", "16390", "--tls-cert-file", "/x.crt", "--tls-key-file", "/x.key")]
    [InlineData("Proxy:Tls:CertFile/KeyFile: Could not find a part of the path '/nonexistent/x.crt'.",
        "--tls-port", "16390", "--tls-cert-file", "/nonexistent/x.crt", "--tls-key-file", "/nonexistent/x.key", "--tls-auth-clients", "no")]
    [InlineData("Proxy:Tls: certificate files are set but Proxy:Tls:Port (--tls-port) is 0", "--tls-cert-file", "/x.crt")]
    [InlineData("'Proxy:Tls:AuthClients'", "--tls-port", "16390", "--tls-auth-clients", "maybe")]
    public void Bad_tls_listener_settings_stop_start_up_with_one_line(string expected, params string[] args)
    {
        using var proxy = new ProxyProcess("127.0.0.1:1", extraArgs: args);
        Assert.True(proxy.WaitForExit(TimeSpan.FromSeconds(30)), proxy.Output);
        Assert.Equal(2, proxy.ExitCode);
        string output = proxy.Output.Trim();
        Assert.DoesNotContain("\n", output);
        Assert.StartsWith("redistimer: invalid configuration: ", output);
        Assert.Contains(expected, output);
    }

    [Theory]
    [InlineData("--port")]
    [InlineData("--metrics-port")]
    public void A_port_already_taken_stops_start_up_with_one_line_and_exit_code_1(string option)
    {
        // As redis-server: it says the address is in use and exits 1 (an unhandled exception aborted the process).
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        int port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        using var proxy = new ProxyProcess("127.0.0.1:1", extraArgs: [option, port.ToString()]);
        Assert.True(proxy.WaitForExit(TimeSpan.FromSeconds(30)), proxy.Output);
        Assert.Equal(1, proxy.ExitCode);
        string output = proxy.Output;
        Assert.Contains("redistimer: cannot listen: ", output);
        Assert.Contains($"127.0.0.1:{port}: address already in use.", output);
        Assert.DoesNotContain("Unhandled exception", output);
        Assert.DoesNotContain("BackgroundService", output);
    }
}
