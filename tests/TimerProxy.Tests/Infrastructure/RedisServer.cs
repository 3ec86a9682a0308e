using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace RedisTimer.Proxy.Tests.Infrastructure;

/// <summary>
/// A real redis-server child on a free loopback port with its own temporary directory; stopped by its PID
/// on Dispose (also when the test failed). Extra arguments go to the command line. A start returns once Redis
/// answers commands: Redis listens before it has loaded its RDB or AOF, and answers <c>-LOADING</c> until then.
/// </summary>
public sealed class RedisServer : IDisposable
{
    private Process? _process;
    private readonly string[] _extraArgs;
    private readonly IReadOnlyDictionary<string, string> _environment;

    public int Port { get; private set; }
    public string Directory { get; }
    public int Pid => _process?.Id ?? throw new InvalidOperationException("not running");
    public string Endpoint => $"127.0.0.1:{Port}";

    public RedisServer(params string[] extraArgs) : this((int?)null, extraArgs) { }

    /// <summary>A server whose process gets these environment variables (for example an LD_PRELOAD shim).</summary>
    public RedisServer(IReadOnlyDictionary<string, string> environment, params string[] extraArgs) : this(null, environment, extraArgs) { }

    public RedisServer(int? port, params string[] extraArgs) : this(port, new Dictionary<string, string>(), extraArgs) { }

    private RedisServer(int? port, IReadOnlyDictionary<string, string> environment, string[] extraArgs)
    {
        _extraArgs = extraArgs;
        _environment = environment;
        Directory = Path.Combine(Path.GetTempPath(), "redistimer-tests", Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        Start(port);
    }

    /// <summary>
    /// Starts (again) on the given port, or on a fresh free port; retries if the port was taken meanwhile. Returns
    /// once Redis has loaded its data, unless <paramref name="untilLoaded"/> is false (a test of the loading phase).
    /// </summary>
    public void Start(int? port = null, bool untilLoaded = true)
    {
        // A second start would lose the running child's PID, and nothing would stop it any more.
        if (_process is { HasExited: false })
            throw new InvalidOperationException($"redis-server (pid {_process.Id}) on {Port} is still running: Stop it first");
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
            foreach (var (name, value) in _environment) info.Environment[name] = value;
            _process = Process.Start(info)!;
            if (WaitUntilListening(TimeSpan.FromSeconds(10)))
            {
                if (untilLoaded) WaitUntilLoaded(TimeSpan.FromSeconds(60));
                return;
            }
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

    /// <summary>
    /// Waits until Redis answers PING with anything but <c>-LOADING</c> (signed in first when the server was
    /// started with <c>--requirepass</c>, since a client not signed in is refused before the loading check).
    /// </summary>
    public void WaitUntilLoaded(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        using var tcp = new TcpClient { NoDelay = true, ReceiveTimeout = (int)timeout.TotalMilliseconds };
        tcp.Connect("127.0.0.1", Port);
        var stream = tcp.GetStream();
        int at = Array.IndexOf(_extraArgs, "--requirepass");
        if (at >= 0 && at + 1 < _extraArgs.Length)
        {
            stream.Write(RawClient.Command("AUTH", _extraArgs[at + 1]));
            ReadLine(stream);
        }
        while (true)
        {
            stream.Write("PING\r\n"u8);
            string reply = ReadLine(stream);
            if (!reply.StartsWith("-LOADING", StringComparison.Ordinal)) return;
            if (DateTime.UtcNow > deadline || _process!.HasExited)
                throw new InvalidOperationException($"redis-server on {Port} still loading after {timeout}: {ReadLog()}");
            Thread.Sleep(20);
        }
    }

    private static string ReadLine(NetworkStream stream)
    {
        var line = new StringBuilder();
        while (true)
        {
            int b = stream.ReadByte();
            if (b < 0) throw new IOException("redis-server closed the connection");
            if (b == '\n') return line.ToString().TrimEnd('\r');
            line.Append((char)b);
        }
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
