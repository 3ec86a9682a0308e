using System.Diagnostics;
using System.Net.Sockets;

namespace RedisTimer.Proxy.Tests.Infrastructure;

/// <summary>
/// A real redis-server child on a free loopback port with its own temporary directory; stopped by its PID
/// on Dispose (also when the test failed). Extra arguments go to the command line.
/// </summary>
public sealed class RedisServer : IDisposable
{
    private Process? _process;
    private readonly string[] _extraArgs;

    public int Port { get; private set; }
    public string Directory { get; }
    public int Pid => _process?.Id ?? throw new InvalidOperationException("not running");
    public string Endpoint => $"127.0.0.1:{Port}";

    public RedisServer(params string[] extraArgs) : this(null, extraArgs) { }

    public RedisServer(int? port, params string[] extraArgs)
    {
        _extraArgs = extraArgs;
        Directory = Path.Combine(Path.GetTempPath(), "redistimer-tests", Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        Start(port);
    }

    /// <summary>Starts (again) on the given port, or on a fresh free port; retries if the port was taken meanwhile.</summary>
    public void Start(int? port = null)
    {
        for (int attempt = 0; ; attempt++)
        {
            Port = port ?? FreePort.Next();
            var info = new ProcessStartInfo("redis-server")
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            foreach (var a in new[] { "--port", Port.ToString(), "--bind", "127.0.0.1", "--dir", Directory,
                         "--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", "redis.log" })
                info.ArgumentList.Add(a);
            foreach (var a in _extraArgs) info.ArgumentList.Add(a);
            _process = Process.Start(info)!;
            if (WaitUntilListening(TimeSpan.FromSeconds(10))) return;
            StopProcess();
            if (attempt >= 3 || port is not null)
                throw new InvalidOperationException($"redis-server did not start on {Port}: {ReadLog()}");
        }
    }

    private bool WaitUntilListening(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process!.HasExited) return false;
            try
            {
                using var c = new TcpClient();
                c.Connect("127.0.0.1", Port);
                return true;
            }
            catch (SocketException)
            {
                Thread.Sleep(20);
            }
        }
        return false;
    }

    public string ReadLog()
    {
        var path = Path.Combine(Directory, "redis.log");
        return File.Exists(path) ? File.ReadAllText(path) : "(no log)";
    }

    /// <summary>Stops the server (SIGKILL by default: a crash; SIGTERM: a clean shutdown).</summary>
    public void Stop(int signal = Signals.SIGKILL)
    {
        if (_process is null || _process.HasExited) return;
        Signals.Send(_process.Id, signal);
        _process.WaitForExit(10_000);
    }

    private void StopProcess()
    {
        if (_process is null) return;
        try
        {
            if (!_process.HasExited)
            {
                Signals.Send(_process.Id, Signals.SIGCONT); // in case a test paused it
                Signals.Send(_process.Id, Signals.SIGKILL);
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
        _process = null;
    }

    public void Dispose()
    {
        StopProcess();
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }
}
