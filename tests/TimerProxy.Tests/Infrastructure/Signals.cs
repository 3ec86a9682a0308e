using System.Runtime.InteropServices;

namespace RedisTimer.Proxy.Tests.Infrastructure;

/// <summary>POSIX signals for processes the tests started themselves (always by PID).</summary>
public static class Signals
{
    public const int SIGKILL = 9, SIGTERM = 15, SIGCONT = 18, SIGSTOP = 19;

    [DllImport("libc", SetLastError = true, EntryPoint = "kill")]
    private static extern int SysKill(int pid, int signal);

    public static void Send(int pid, int signal) => SysKill(pid, signal);

    public static bool IsAlive(int pid) => SysKill(pid, 0) == 0;

    /// <summary>Stops a process the tests started: SIGTERM (a graceful shutdown), then SIGKILL if it is still
    /// running after 10 s. Nothing happens to one that has already exited.</summary>
    public static void Stop(System.Diagnostics.Process process)
    {
        try
        {
            if (process.HasExited) return;
            Send(process.Id, SIGTERM);
            if (process.WaitForExit(10_000)) return;
            Send(process.Id, SIGKILL);
            process.WaitForExit(5_000);
        }
        catch (InvalidOperationException) { } // never started
    }

    /// <summary>Resident memory of a process, from /proc.</summary>
    public static long RssBytes(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:"))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        }
        throw new InvalidOperationException("no VmRSS");
    }
}
