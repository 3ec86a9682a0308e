using System.Diagnostics;
using System.Net.Sockets;

namespace RedisTimer.Proxy.Tests.Infrastructure;

/// <summary>
/// A real redis-sentinel child on a free loopback port, monitoring one master as <c>mymaster</c> (quorum 1 unless
/// told: several Sentinels that must agree) with short timeouts, its config file in a temporary directory; stopped
/// by its PID on Dispose.
/// </summary>
public sealed class SentinelServer : IDisposable
{
    public const string Service = "mymaster";

    private readonly Process _process;

    public int Port { get; }
    public string Directory { get; }
    public string Endpoint => $"127.0.0.1:{Port}";

    public SentinelServer(int masterPort, int quorum = 1, int failoverTimeoutMs = 10000)
    {
        Port = FreePort.Next();
        Directory = Path.Combine(Path.GetTempPath(), "redistimer-tests", "sentinel-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(Directory);
        string config = Path.Combine(Directory, "sentinel.conf");
        File.WriteAllText(config, $"""
            port {Port}
            bind 127.0.0.1
            dir {Directory}
            logfile sentinel.log
            sentinel monitor {Service} 127.0.0.1 {masterPort} {quorum}
            sentinel down-after-milliseconds {Service} 1000
            sentinel failover-timeout {Service} {failoverTimeoutMs}
            sentinel parallel-syncs {Service} 1

            """);
        _process = Process.Start(new ProcessStartInfo("redis-sentinel", [config])
            { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true })!;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                probe.Connect("127.0.0.1", Port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !_process.HasExited)
            {
                Thread.Sleep(20);
            }
        }
    }

    /// <summary><c>SENTINEL FAILOVER</c>, asked again while Sentinel has not yet seen a replica it could promote.</summary>
    public async Task FailoverAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        using var c = await RawClient.ConnectAsync(Port);
        while (true)
        {
            string reply = await c.CallAsync("SENTINEL", "FAILOVER", Service);
            if (reply == "+OK\r\n") return;
            if (DateTime.UtcNow > deadline) throw new TimeoutException("SENTINEL FAILOVER kept answering " + reply.Trim());
            await Task.Delay(200);
        }
    }

    /// <summary>The master's port as Sentinel reports it now.</summary>
    public async Task<int> MasterPortAsync()
    {
        using var c = await RawClient.ConnectAsync(Port);
        var reply = TimerFixture.ParseBulkArray(await c.CallAsync("SENTINEL", "GET-MASTER-ADDR-BY-NAME", Service));
        return int.Parse(reply[1]);
    }

    public string ReadLog()
    {
        var path = Path.Combine(Directory, "sentinel.log");
        return File.Exists(path) ? File.ReadAllText(path) : "(no log)";
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            Signals.Send(_process.Id, Signals.SIGKILL);
            _process.WaitForExit(10_000);
        }
        _process.Dispose();
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }
}
