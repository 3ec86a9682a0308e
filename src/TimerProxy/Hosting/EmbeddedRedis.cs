using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RedisTimer.Proxy.Upstream;

namespace RedisTimer.Proxy.Hosting;

/// <summary>
/// With no upstream configured, runs a redis-server child on a free loopback port, with persistence in a
/// data directory under the working directory, and stops it (SIGTERM, so it saves) on shutdown.
/// Registered before the client listener, so the upstream is known before the first client is accepted.
/// </summary>
public sealed class EmbeddedRedis(UpstreamEndpoint endpoint, IOptions<ProxyOptions> options, ILogger<EmbeddedRedis> logger)
    : IHostedService
{
    private Process? _process;

    public async Task StartAsync(CancellationToken cancel)
    {
        var configured = options.Value.Upstream;
        if (!string.IsNullOrWhiteSpace(configured))
        {
            var upstream = UpstreamSettings.Parse(options.Value, configured.Trim());
            if (upstream.IgnoredKeywords.Count > 0)
                logger.LogInformation("Proxy:Upstream: {Keywords} only steer StackExchange.Redis's own client and have no effect on the proxy",
                    string.Join(", ", upstream.IgnoredKeywords));
            endpoint.Set(upstream);
            return;
        }

        var settings = options.Value.EmbeddedRedis;
        var dir = Path.GetFullPath(settings.DataDirectory, Directory.GetCurrentDirectory());
        Directory.CreateDirectory(dir);
        int port = FreePort();
        var start = new ProcessStartInfo(settings.Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
                 {
                     "--port", port.ToString(), "--bind", "127.0.0.1", "--dir", dir, "--daemonize", "no",
                     "--appendonly", "yes", "--save", "3600 1 300 100 60 10000", "--logfile", "redis.log",
                 })
        {
            start.ArgumentList.Add(arg);
        }
        try
        {
            _process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException(
                $"No upstream configured and '{settings.Executable}' could not be started ({e.Message}). " +
                "Install redis-server or set Proxy:Upstream / --upstream host:port.", e);
        }
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        await WaitUntilListeningAsync(port, cancel);
        endpoint.Set(UpstreamSettings.Parse(options.Value, $"127.0.0.1:{port}"));
        logger.LogInformation("Embedded redis-server (pid {Pid}) listening on 127.0.0.1:{Port}, data in {Dir}",
            _process.Id, port, dir);
    }

    private async Task WaitUntilListeningAsync(int port, CancellationToken cancel)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            if (_process!.HasExited)
                throw new InvalidOperationException($"embedded redis-server exited with code {_process.ExitCode}; see its redis.log");
            try
            {
                using var probe = new Socket(SocketType.Stream, ProtocolType.Tcp);
                await probe.ConnectAsync(IPAddress.Loopback, port, cancel);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50, cancel);
            }
        }
    }

    public async Task StopAsync(CancellationToken cancel)
    {
        if (_process is null || _process.HasExited) return;
        SendTerm(_process.Id);
        try
        {
            await _process.WaitForExitAsync(cancel).WaitAsync(TimeSpan.FromSeconds(10), cancel);
            logger.LogInformation("Embedded redis-server stopped");
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            logger.LogWarning("Embedded redis-server did not stop in time; killing pid {Pid}", _process.Id);
            _process.Kill();
        }
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [DllImport("libc", SetLastError = true, EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);

    // SIGTERM makes redis-server save and exit cleanly; Process.Kill would be SIGKILL.
    private static void SendTerm(int pid) => Kill(pid, 15);
}
