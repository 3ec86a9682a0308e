using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace RedisTimer.Proxy.Tests.Infrastructure;

/// <summary>
/// The proxy as users run it: `dotnet RedisTimer.Proxy.dll --port N --upstream host:port`, a separate process
/// (for memory, signals and kill -9). Its output is captured for assertions on what it logs.
/// </summary>
public sealed class ProxyProcess : IDisposable
{
    private const int PortArgument = 2; // dotnet <dll> --port N ...

    private readonly ProcessStartInfo _info;
    private readonly bool _portGiven;
    private Process _process;
    private readonly StringBuilder _output = new();
    private readonly BlockingCollection<string> _lines = new();

    public int Port { get; private set; }
    public int Pid => _process.Id;
    public string Endpoint => $"127.0.0.1:{Port}";

    /// <summary>
    /// The published, precompiled proxy that scripts/run.sh runs (artifacts/proxy, made by scripts/setup.sh), unless
    /// the build next to the tests is newer (the tests were built without publishing): then that one.
    /// </summary>
    public static string Executable { get; } = FindExecutable();

    private static string FindExecutable()
    {
        var built = Path.Combine(AppContext.BaseDirectory, "RedisTimer.Proxy.dll");
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (!File.Exists(Path.Combine(dir.FullName, "RedisTimer.sln"))) continue;
            var published = Path.Combine(dir.FullName, "artifacts", "proxy", "RedisTimer.Proxy.dll");
            return File.Exists(published) && File.GetLastWriteTimeUtc(published) >= File.GetLastWriteTimeUtc(built) ? published : built;
        }
        return built;
    }

    public ProxyProcess(string? upstream, string? workingDirectory = null, IDictionary<string, string>? environment = null,
        params string[] extraArgs)
    {
        Port = FreePort.Next();
        var dll = Executable;
        var info = _info = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory ?? AppContext.BaseDirectory,
        };
        info.ArgumentList.Add(dll);
        info.ArgumentList.Add("--port");
        info.ArgumentList.Add(Port.ToString());
        if (upstream is not null)
        {
            info.ArgumentList.Add("--upstream");
            info.ArgumentList.Add(upstream);
        }
        else
        {
            // An empty upstream means "start the embedded redis-server".
            info.Environment["Proxy__Upstream"] = "";
        }
        foreach (var a in extraArgs) info.ArgumentList.Add(a);
        _portGiven = extraArgs.Contains("--port");
        if (environment is not null)
            foreach (var (k, v) in environment) info.Environment[k] = v;
        _process = Launch();
    }

    private Process Launch()
    {
        var process = new Process { StartInfo = _info };
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>
    /// The free port was released before the proxy bound it, and an outgoing connection of another test may have been
    /// given it meanwhile (the same ephemeral range): the proxy then exits saying so, and starts again on a new port.
    /// </summary>
    private bool RestartedOnAnotherPort(int attempt)
    {
        if (_portGiven || attempt >= 3 || !Output.Contains($"127.0.0.1:{Port}: address already in use")) return false;
        _process.WaitForExit();
        _process.Dispose();
        Port = FreePort.Next();
        _info.ArgumentList[PortArgument] = Port.ToString();
        lock (_output) _output.Clear();
        _process = Launch();
        return true;
    }

    private void OnLine(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
        _lines.Add(line);
    }

    public string Output { get { lock (_output) return _output.ToString(); } }

    /// <summary>Waits until a logged line contains <paramref name="text"/>.</summary>
    public async Task WaitForLogAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (Output.Contains(text)) return;
            if (_process.HasExited) break;
            await Task.Delay(25);
        }
        throw new TimeoutException($"proxy did not log '{text}'. Output:\n{Output}");
    }

    /// <summary>Waits until the proxy accepts connections.</summary>
    public async Task WaitListeningAsync(TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        for (int attempt = 0; DateTime.UtcNow < deadline;)
        {
            if (_process.HasExited)
            {
                if (RestartedOnAnotherPort(attempt++)) continue;
                throw new InvalidOperationException($"proxy exited early:\n{Output}");
            }
            try
            {
                using var c = new TcpClient();
                await c.ConnectAsync("127.0.0.1", Port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }
        throw new TimeoutException($"proxy not listening on {Port}:\n{Output}");
    }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public void Signal(int signal) => Signals.Send(_process.Id, signal);

    /// <summary>True when the process exited in time; its output is then read to the end (a timed wait alone
    /// returns before the redirected output has been read, and <see cref="Output"/> could still be empty).</summary>
    public bool WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit((int)timeout.TotalMilliseconds)) return false;
        _process.WaitForExit();
        return true;
    }

    public void Dispose()
    {
        Signals.Stop(_process);
        _process.Dispose();
    }
}
