using System.Diagnostics;
using System.Globalization;

namespace RedisTimer.Bench;

/// <summary>
/// One system under test: where TIMER.* commands go (the proxy, or a Redis with the module loaded) and the
/// Redis that holds the data (the same endpoint for the module). <see cref="ProxyPid"/> is set for the proxy.
/// </summary>
public sealed record Target(string Name, string TimerEndpoint, string RedisEndpoint, int? ProxyPid)
{
    public bool IsProxy => ProxyPid is not null;

    /// <summary>Parses <c>name=proxy,timer=127.0.0.1:1,redis=127.0.0.1:2[,pid=123]</c>.</summary>
    public static Target Parse(string spec)
    {
        var parts = spec.Split(',').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : "");
        parts.TryGetValue("pid", out var pid);
        return new Target(parts["name"], parts["timer"], parts.GetValueOrDefault("redis", parts["timer"]),
            string.IsNullOrEmpty(pid) ? null : int.Parse(pid));
    }

    public RespConnection Timer() => RespConnection.Connect(TimerEndpoint);
    public RespConnection Redis() => RespConnection.Connect(RedisEndpoint);

    /// <summary>Redis server clock in µs (TIME).</summary>
    public static long ServerMicros(RespConnection connection)
    {
        var reply = connection.Call("TIME");
        return ParseTime(reply) ?? throw new InvalidOperationException($"TIME: unexpected reply {Describe(reply)} from {connection.Endpoint}");
    }

    public static long? ParseTime(object? reply) => reply is object?[] { Length: 2 } time && time[0] is string s && time[1] is string us
        ? long.Parse(s) * 1_000_000 + long.Parse(us)
        : null;

    public long UsedMemory(RespConnection redis) => long.Parse(InfoField(redis, "memory", "used_memory"));

    public static string InfoField(RespConnection redis, string section, string field)
    {
        var info = redis.Checked("INFO", section) as string ?? "";
        foreach (var line in info.Split("\r\n"))
            if (line.StartsWith(field + ":", StringComparison.Ordinal)) return line[(field.Length + 1)..];
        throw new InvalidOperationException($"INFO {section} has no {field}");
    }

    /// <summary>Redis's time (µs) spent in each command since the last reset; commands run by functions are counted too.</summary>
    public static Dictionary<string, long> CommandMicros(RespConnection redis)
    {
        var micros = new Dictionary<string, long>();
        foreach (var line in ((string)redis.Checked("INFO", "commandstats")!).Split("\r\n"))
        {
            if (!line.StartsWith("cmdstat_", StringComparison.Ordinal)) continue;
            var usec = line.Split(',').Single(f => f.StartsWith("usec=", StringComparison.Ordinal))["usec=".Length..];
            micros[line["cmdstat_".Length..line.IndexOf(':')]] = long.Parse(usec, CultureInfo.InvariantCulture);
        }
        return micros;
    }

    /// <summary>CPU seconds the proxy process has used (user + system, /proc/&lt;pid&gt;/stat); 0 for the module.</summary>
    public double ProxyCpuSeconds()
    {
        if (ProxyPid is not int pid) return 0;
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        // Fields after the command name, which is in parentheses and may hold spaces: utime and stime are 14 and 15.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[11]) + long.Parse(fields[12])) / 100.0;
    }

    /// <summary>Redis's CPU seconds (INFO cpu, user + system).</summary>
    public static double RedisCpuSeconds(RespConnection redis) =>
        double.Parse(InfoField(redis, "cpu", "used_cpu_user"), CultureInfo.InvariantCulture)
        + double.Parse(InfoField(redis, "cpu", "used_cpu_sys"), CultureInfo.InvariantCulture);

    /// <summary>VmRSS and VmHWM of the proxy in bytes, from /proc/&lt;pid&gt;/status.</summary>
    public (long Rss, long Peak) ProxyMemory()
    {
        if (ProxyPid is not int pid) return (0, 0);
        long rss = 0, peak = 0;
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:")) rss = Kib(line);
            else if (line.StartsWith("VmHWM:")) peak = Kib(line);
        }
        return (rss, peak);
        static long Kib(string line) => long.Parse(line.Split(':')[1].Trim().Split(' ')[0]) * 1024;
    }

    public static string Describe(object? reply) => reply switch
    {
        null => "(nil)",
        object?[] items => "[" + string.Join(", ", items.Select(Describe)) + "]",
        RespError e => "-" + e.Message,
        _ => reply.ToString() ?? "",
    };
}

public static class Log
{
    private static readonly Stopwatch Clock = Stopwatch.StartNew();
    public static void Info(string message) => Console.Error.WriteLine($"[{Clock.Elapsed.TotalSeconds,7:F1}s] {message}");
}
