using System.Diagnostics;

namespace RedisTimer.Proxy.Tests.Infrastructure;

/// <summary>
/// Moves the wall clock of one redis-server, not the machine's: clockshift.c, compiled here with gcc and preloaded
/// into the server (<see cref="Environment"/>), adds the shift written with <see cref="Set"/> to every
/// CLOCK_REALTIME reading (Redis's TIME, its expiries), within 10 ms of the write.
/// </summary>
public sealed class ClockShift : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "redistimer-tests", "clock-" + Guid.NewGuid().ToString("N"));
    private readonly string _file;

    public IReadOnlyDictionary<string, string> Environment { get; }

    public ClockShift()
    {
        Directory.CreateDirectory(_directory);
        _file = Path.Combine(_directory, "shift");
        var library = Path.Combine(_directory, "clockshift.so");
        var gcc = Process.Start(new ProcessStartInfo("gcc", ["-O2", "-shared", "-fPIC", "-o", library, Path.Combine(AppContext.BaseDirectory, "Infrastructure", "clockshift.c")])
            { UseShellExecute = false, RedirectStandardError = true })!;
        var errors = gcc.StandardError.ReadToEnd();
        gcc.WaitForExit();
        if (gcc.ExitCode != 0) throw new InvalidOperationException($"gcc could not build the clock shim: {errors}");
        Set(TimeSpan.Zero);
        Environment = new Dictionary<string, string> { ["LD_PRELOAD"] = library, ["CLOCKSHIFT_FILE"] = _file };
    }

    /// <summary>From now on the server's clock reads the real time plus <paramref name="shift"/> (negative: behind).</summary>
    public void Set(TimeSpan shift)
    {
        // Written whole and renamed into place: the shim never reads half a number.
        var next = _file + ".next";
        File.WriteAllText(next, ((long)(shift.TotalMilliseconds * 1000)).ToString());
        File.Move(next, _file, overwrite: true);
    }

    public void Dispose()
    {
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }
}
