using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using RedisTimer.Proxy.Hosting;
using RedisTimer.Proxy.Tests.Infrastructure;

namespace RedisTimer.Proxy.Tests.Hosting;

/// <summary>The <c>--healthcheck</c> mode's judgement (HealthCheck), against a real proxy and real Redis.</summary>
public class HealthCheckTests
{
    private static IPEndPoint Loopback(int port) => new(IPAddress.Loopback, port);

    [Fact]
    public async Task A_proxy_serving_a_running_redis_is_healthy()
    {
        using var redis = new RedisServer();
        await using var proxy = await InProcessProxy.StartAsync(redis.Endpoint);

        var result = await HealthCheck.CheckAsync(Loopback(proxy.Port), HealthCheck.DefaultTimeout);

        Assert.True(result.Healthy, result.Message);
        Assert.Contains("+PONG", result.Message);
    }

    [Fact]
    public async Task Nothing_listening_is_unhealthy()
    {
        var result = await HealthCheck.CheckAsync(Loopback(FreePort.Next()), HealthCheck.DefaultTimeout);

        Assert.False(result.Healthy);
        Assert.Contains("cannot reach", result.Message);
    }

    [Fact]
    public async Task A_proxy_whose_redis_is_down_is_unhealthy()
    {
        using var redis = new RedisServer();
        await using var proxy = await InProcessProxy.StartAsync(redis.Endpoint);
        Assert.True((await HealthCheck.CheckAsync(Loopback(proxy.Port), HealthCheck.DefaultTimeout)).Healthy);

        redis.Stop();
        var result = await HealthCheck.CheckAsync(Loopback(proxy.Port), HealthCheck.DefaultTimeout);

        Assert.False(result.Healthy, result.Message);
        Assert.Contains($"-ERR upstream {redis.Endpoint} unavailable", result.Message);
    }

    [Fact]
    public async Task A_redis_that_asks_clients_to_authenticate_is_healthy()
    {
        // Clients send their own AUTH (no Proxy:UpstreamPassword): Redis answered through the proxy.
        using var redis = new RedisServer("--requirepass", "s3cret");
        await using var proxy = await InProcessProxy.StartAsync(redis.Endpoint);

        var result = await HealthCheck.CheckAsync(Loopback(proxy.Port), HealthCheck.DefaultTimeout);

        Assert.True(result.Healthy, result.Message);
        Assert.Contains("-NOAUTH", result.Message);
    }

    [Fact]
    public async Task A_redis_still_loading_is_unhealthy()
    {
        // Any reply but +PONG and -NOAUTH is unhealthy: here -LOADING, Redis's answer while it loads its data, which
        // the proxy passes through (sent by a stand-in listener: a real load is over too soon to catch).
        using var fake = new TcpListener(IPAddress.Loopback, 0);
        fake.Start();
        var serve = Task.Run(async () =>
        {
            using var c = await fake.AcceptTcpClientAsync();
            var s = c.GetStream();
            await s.ReadAsync(new byte[64]);
            await s.WriteAsync("-LOADING Redis is loading the dataset in memory\r\n"u8.ToArray());
        });

        var result = await HealthCheck.CheckAsync((IPEndPoint)fake.LocalEndpoint, HealthCheck.DefaultTimeout);
        await serve;

        Assert.False(result.Healthy, result.Message);
        Assert.Contains("-LOADING", result.Message);
    }

    [Fact]
    public async Task A_listener_that_never_answers_is_unhealthy_within_the_timeout()
    {
        // The kernel completes the connection (backlog), nobody reads or replies.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var clock = Stopwatch.StartNew();

        var result = await HealthCheck.CheckAsync((IPEndPoint)silent.LocalEndpoint, TimeSpan.FromMilliseconds(500));

        Assert.False(result.Healthy);
        Assert.Contains("no reply to PING", result.Message);
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(400), TimeSpan.FromSeconds(5));
    }

    [Theory]
    [InlineData("0.0.0.0", "127.0.0.1")]
    [InlineData("::", "::1")]
    [InlineData("127.0.0.2", "127.0.0.2")]
    public void A_wildcard_listen_address_is_checked_on_loopback(string listen, string target) =>
        Assert.Equal(IPAddress.Parse(target), HealthCheck.TargetOf(listen));

    [Fact]
    public async Task The_binary_reads_the_port_from_its_switches_and_answers_with_its_exit_code()
    {
        using var redis = new RedisServer();
        await using var proxy = await InProcessProxy.StartAsync(redis.Endpoint);

        var healthy = await RunAsync("--healthcheck", "--port", proxy.Port.ToString());
        Assert.True(healthy.Code == 0, healthy.Stderr);
        Assert.Equal("", healthy.Stderr);
        Assert.Contains("healthy", healthy.Stdout);

        var nobody = await RunAsync("--port", FreePort.Next().ToString(), "--healthcheck");
        Assert.Equal(1, nobody.Code);
        Assert.Single(nobody.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("redistimer: unhealthy: cannot reach 127.0.0.1:", nobody.Stderr);

        var invalid = await RunAsync("--healthcheck", "--port", "70000");
        Assert.Equal(2, invalid.Code);
        Assert.Contains("invalid configuration", invalid.Stderr);
    }

    internal static async Task<(int Code, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(ProxyProcess.Executable);
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
