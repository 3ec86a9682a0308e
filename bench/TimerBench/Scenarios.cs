using System.Diagnostics;
using System.Globalization;

namespace RedisTimer.Bench;

/// <summary>Counts for one run; <c>--quick</c> divides them by 10 (the lateness spread stays 5 s).</summary>
public sealed record Settings(int Divisor, string RedisBenchmark)
{
    public int NewCount => 200_000 / Divisor;
    public int BurstCount => 100_000 / Divisor;
    public int LatenessCount => 20_000 / Divisor;
    public int MemorySmall => 100_000 / Divisor;
    public int MemoryLarge => 1_000_000 / Divisor;
    public const int Connections = 8;
    public const int Pipeline = 1000;
    public const int BurstWindowMs = 100;
    public const int LatenessSpreadMs = 5000;
    // Small: the intended due time is the TIME read before the batch, so a long batch would count its own
    // creation time as lateness.
    public const int LatenessBatch = 20;
    public const long LatenessMaxSpreadMicros = 1000;
    public const string FarFutureMs = "31536000000";   // one year: never fires during the run
}

/// <summary>The bench's own functions, loaded into every Redis it uses. Keys are written without being declared
/// (allowed outside cluster mode), so timers need no keys or args for <c>bench_count</c>.</summary>
public static class BenchLibrary
{
    public const string Source = """
        #!lua name=timerbench
        redis.register_function('bench_count', function(keys, args)
          return redis.call('INCR', 'bm:count')
        end)
        redis.register_function('bench_lat', function(keys, args)
          local t = redis.call('TIME')
          local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
          return redis.call('RPUSH', 'bm:lat', string.format('%d', now - tonumber(args[1])))
        end)
        """;

    public static void Load(RespConnection redis) => redis.Checked("FUNCTION", "LOAD", "REPLACE", Source);
}

public sealed class Results
{
    private readonly Dictionary<(string Metric, string Target), double> _values = new();
    public List<string> Notes { get; } = new();
    public List<string> Failures { get; } = new();

    public void Set(string metric, Target target, double value) => _values[(metric, target.Name)] = value;
    public double? Get(string metric, string target) => _values.TryGetValue((metric, target), out var v) ? v : null;
    public void Note(Target target, string text) { Notes.Add($"{target.Name}: {text}"); Log.Info($"{target.Name}: {text}"); }
    public void Fail(Target target, string scenario, string text) { Failures.Add($"{target.Name}, {scenario}: {text}"); Log.Info($"FAILED {target.Name}, {scenario}: {text}"); }
}

public static class Scenarios
{
    private static string S(long value) => value.ToString(CultureInfo.InvariantCulture);

    // --- 1. TIMER.NEW / TIMER.KILL throughput -------------------------------------------------------------

    public static void Throughput(Target target, Settings settings, Results results)
    {
        var n = settings.NewCount;
        Log.Info($"{target.Name}: TIMER.NEW x {n} ({Settings.Connections} connections x pipeline {Settings.Pipeline})");
        var create = CreateWithCpu(target, results, "new", n, "TIMER.NEW pipelined", i => ["TIMER.NEW", $"bm:new:{i}", "bench_count", "3600000", "0"]);
        results.Set("new.pipelined", target, create.Rate);

        Log.Info($"{target.Name}: TIMER.KILL x {n}");
        var kill = Pipelined.Run(target.TimerEndpoint, n, Settings.Connections, Settings.Pipeline,
            (i, _) => ["TIMER.KILL", $"bm:new:{i}"], Pipelined.IsOne);
        Report(target, results, "TIMER.KILL pipelined", kill);
        results.Set("kill.pipelined", target, kill.Rate);

        Log.Info($"{target.Name}: redis-benchmark -c 50 -P 32 -n {n} TIMER.NEW bm:rb:__rand_int__ bench_count 3600000 0");
        results.Set("new.rb", target, RedisBenchmark(settings, target.TimerEndpoint, n));
        using var timer = target.Timer();
        timer.Checked("TIMER.KILL", "bm:rb:__rand_int__");
    }

    /// <summary>Pipelined creation of n timers, with the CPU Redis and the proxy spent per timer: tells a cold run
    /// slowed by the proxy's start (its JIT) from one slowed by Redis (first-touch memory, dict growth).</summary>
    private static PipelinedResult CreateWithCpu(Target target, Results results, string metric, int n, string what, Func<int, string[]> command)
    {
        using var redis = target.Redis();
        var (redisBefore, proxyBefore) = (Target.RedisCpuSeconds(redis), target.ProxyCpuSeconds());
        var run = Pipelined.Run(target.TimerEndpoint, n, Settings.Connections, Settings.Pipeline, (i, _) => command(i), Pipelined.IsOne);
        var (redisCpu, proxyCpu) = ((Target.RedisCpuSeconds(redis) - redisBefore) * 1e6 / n, (target.ProxyCpuSeconds() - proxyBefore) * 1e6 / n);
        Report(target, results, what, run);
        Log.Info($"{target.Name}: {what}: CPU per timer: Redis {redisCpu:F2} µs, proxy {proxyCpu:F2} µs");
        results.Set(metric + ".cpu.redis", target, redisCpu);
        if (target.IsProxy) results.Set(metric + ".cpu.proxy", target, proxyCpu);
        return run;
    }

    private static void Report(Target target, Results results, string what, PipelinedResult run)
    {
        Log.Info($"{target.Name}: {what}: {run.Rate:F0}/s ({run.Count} in {run.Seconds:F2} s)");
        if (run.Errors > 0)
            results.Fail(target, what, $"{run.Errors} of {run.Count} replies were not the expected one; first: {run.FirstError}");
    }

    /// <summary>redis-benchmark with a custom command; returns requests/s (7.x --csv column "rps").</summary>
    private static double RedisBenchmark(Settings settings, string endpoint, int n)
    {
        var colon = endpoint.LastIndexOf(':');
        var info = new ProcessStartInfo(settings.RedisBenchmark) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "-h", endpoint[..colon], "-p", endpoint[(colon + 1)..], "-c", "50", "-P", "32", "-n", S(n), "--csv",
                     "TIMER.NEW", "bm:rb:__rand_int__", "bench_count", "3600000", "0" })
            info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"redis-benchmark exited {process.ExitCode}: {stderr.Result.Trim()} {stdout.Trim()}");
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var header = lines[0].Split(',').Select(c => c.Trim('"')).ToList();
        var rps = header.IndexOf("rps");
        if (rps < 0 || lines.Length < 2) throw new InvalidOperationException($"cannot parse redis-benchmark --csv output: {stdout}");
        // The test name is the command line (no commas in it), so splitting on commas is safe.
        return double.Parse(lines[^1].Split(',')[rps].Trim('"'), CultureInfo.InvariantCulture);
    }

    // --- 2. Burst: N one-shot timers due within 100 ms -------------------------------------------------------

    public static void Burst(Target target, Settings settings, Results results) => Burst(target, settings, results, "burst", "new.pipelined");

    // --- 0. Cold start: scenario 1's TIMER.NEW and scenario 2 on the proxy as started, before any warm-up -----

    public static void Cold(Target target, Settings settings, Results results)
    {
        var n = settings.NewCount;
        Log.Info($"{target.Name}: cold: TIMER.NEW x {n} ({Settings.Connections} connections x pipeline {Settings.Pipeline})");
        var create = CreateWithCpu(target, results, "cold.new", n, "cold TIMER.NEW pipelined", i => ["TIMER.NEW", $"bm:cold:{i}", "bench_count", "3600000", "0"]);
        results.Set("cold.new", target, create.Rate);
        Pipelined.Run(target.TimerEndpoint, n, Settings.Connections, Settings.Pipeline, (i, _) => ["TIMER.KILL", $"bm:cold:{i}"], Pipelined.IsOne);
        Burst(target, settings, results, "cold.burst", "cold.new");
    }

    private static void Burst(Target target, Settings settings, Results results, string metric, string createRate)
    {
        var n = settings.BurstCount;
        using var redis = target.Redis();
        redis.Checked("DEL", "bm:count");
        // Create fast enough beforehand: at least 2 s ahead, more when creation is slow on this target.
        var rate = results.Get(createRate, target.Name) ?? 20_000;
        var leadMs = Math.Max(2000, (long)(1.5 * n / rate * 1000) + 500);
        var firstDueMs = Target.ServerMicros(redis) / 1000 + leadMs;
        long lateCreates = 0;
        Log.Info($"{target.Name}: burst: creating {n} one-shot timers due within {Settings.BurstWindowMs} ms, first due in {leadMs} ms");
        var create = Pipelined.Run(target.TimerEndpoint, n, Settings.Connections, Settings.Pipeline, (i, nowMicros) =>
        {
            var dueMs = firstDueMs + (long)i * Settings.BurstWindowMs / n;
            var interval = dueMs - nowMicros / 1000;
            if (interval < 1) { Interlocked.Increment(ref lateCreates); interval = 1; }
            return ["TIMER.NEW", $"bm:b:{i}", "bench_count", S(interval), "0"];
        }, Pipelined.IsOne, timePerBatch: true);
        Report(target, results, "burst creation", create);
        var createdAt = Target.ServerMicros(redis);
        results.Note(target, $"burst: {n} timers created in {create.Seconds:F2} s, {(firstDueMs * 1000 - createdAt) / 1000} ms before the first due time" +
                             (lateCreates > 0 ? $"; {lateCreates} were created after their due time (interval 1)" : ""));

        // What the fires cost Redis: its CPU, and the µs its commands took (the fire transactions, and the polling below).
        redis.Checked("CONFIG", "RESETSTAT");
        var cpuBefore = Target.RedisCpuSeconds(redis);
        var offset = createdAt - Clock.LocalMicros();   // server clock - local clock (same host: ~0)
        using var pinger = target.IsProxy ? new Pinger(target.RedisEndpoint, target.TimerEndpoint) : new Pinger(target.RedisEndpoint);

        long firstFire = 0, done = 0, count = 0, now = 0;
        var deadline = (firstDueMs + Settings.BurstWindowMs + 60_000) * 1000;
        while (true)
        {
            redis.Write("GET", "bm:count");
            redis.Write("TIME");
            redis.Flush();
            var reply = redis.Read();
            now = Target.ParseTime(redis.Read()) ?? throw new InvalidOperationException("TIME failed");
            count = reply is string s ? long.Parse(s) : 0;
            if (count > 0 && firstFire == 0) firstFire = now;
            if (count >= n) { done = now; break; }
            if (now > deadline) break;
            Thread.Sleep(2);
        }
        var windowFrom = firstDueMs * 1000 - offset;
        var windowTo = now - offset;
        var worst = pinger.StopAndWorst(windowFrom, windowTo);
        var worstDirect = worst[0];
        long? worstTimer = target.IsProxy ? worst[1] : null;

        if (done == 0)
        {
            results.Fail(target, "burst", $"only {count} of {n} timers fired within 60 s after the last due time" +
                                          (firstFire == 0 ? " (none fired)" : $" (first fire {(firstFire - firstDueMs * 1000) / 1000} ms after the first due time)"));
            Pipelined.Run(target.TimerEndpoint, n, Settings.Connections, Settings.Pipeline, (i, _) => ["TIMER.KILL", $"bm:b:{i}"], Pipelined.IsInteger);
            return;
        }
        var cpuPerFire = (Target.RedisCpuSeconds(redis) - cpuBefore) * 1e6 / n;
        var commandMicros = Target.CommandMicros(redis);
        var watchPerFire = commandMicros.GetValueOrDefault("watch") / (double)n;
        results.Set($"{metric}.cpu.redis", target, cpuPerFire);
        results.Set($"{metric}.watch", target, watchPerFire);
        var perFire = string.Join(", ", commandMicros.OrderByDescending(c => c.Value).Take(8).Select(c => $"{c.Key} {c.Value / (double)n:F2}"));
        Log.Info($"{target.Name}: {metric}: Redis CPU {cpuPerFire:F2} µs per fired timer; its commands' µs per fired timer: {perFire}");
        var allFired = (done - firstDueMs * 1000) / 1e6;
        results.Set($"{metric}.all", target, allFired);
        results.Set($"{metric}.first", target, (firstFire - firstDueMs * 1000) / 1e3);
        results.Set($"{metric}.rate", target, n / Math.Max(1e-6, (done - firstFire) / 1e6));
        results.Set($"{metric}.ping.direct", target, worstDirect / 1e3);
        if (worstTimer is long w) results.Set($"{metric}.ping.proxy", target, w / 1e3);
        Log.Info($"{target.Name}: {metric}: all {n} fired {allFired:F3} s after the first due; worst PING direct {worstDirect / 1e3:F1} ms" +
                 (worstTimer is long p ? $", via proxy {p / 1e3:F1} ms" : ""));
        // Nothing should be left: one-shot keys are deleted when they fire.
        var left = redis.Call("EXISTS", "bm:b:0", $"bm:b:{n / 2}", $"bm:b:{n - 1}");
        if (left is not 0L) results.Fail(target, "burst", $"one-shot timer keys still exist after firing (EXISTS -> {Target.Describe(left)})");
    }

    // --- 5. Timers created from Lua: what Redis spends per timer, against a TIMER.NEW sent by a client -------

    /// <summary>Loaded through the target's timer endpoint, so through the proxy it gets the prelude that answers
    /// TIMER.NEW inside it. <c>bench_make</c> is what a callback that re-arms a timer does when the scheduler
    /// FCALLs it: Redis runs the same function either way.</summary>
    public const string LuaLibrary = """
        #!lua name=timerbenchlua
        redis.register_function('bench_make', function(keys, args)
          return redis.call('TIMER.NEW', keys[1], 'bench_count', '3600000', '0')
        end)
        """;
    public const string LuaScript = "return redis.call('TIMER.NEW', KEYS[1], 'bench_count', '3600000', '0')";

    public const int LuaRounds = 3;

    public static void LuaCost(Target target, Settings settings, Results results)
    {
        var n = settings.NewCount / 2;
        using var timer = target.Timer();
        using var redis = target.Redis();
        timer.Checked("FUNCTION", "LOAD", "REPLACE", LuaLibrary);
        var sha = timer.Checked("SCRIPT", "LOAD", LuaScript) as string
            ?? throw new InvalidOperationException("SCRIPT LOAD did not answer a SHA1");
        // A callback creates one timer per call. A client pipelining TIMER.NEWs gets them merged by the proxy (many
        // timers per Redis call), so the comparison is with a client whose every TIMER.NEW is its own call: each
        // request is followed by a PING, which the proxy does not merge across, in every way measured.
        // Redis's cost per call drifts on a shared machine by more than the differences measured here, so the ways
        // take turns, round after round, and each ratio is the median of the rounds' ratios (a way and the client
        // way it is compared with measured seconds apart).
        var ways = new (string What, string Metric, Func<int, string[]> Command, bool Alone)[]
        {
            ("client TIMER.NEW, pipelined (merged by the proxy)", "lua.merged", i => ["TIMER.NEW", $"bm:lua:{i}", "bench_count", "3600000", "0"], false),
            ("client TIMER.NEW, one per call", "lua.client", i => ["TIMER.NEW", $"bm:lua:{i}", "bench_count", "3600000", "0"], true),
            ("TIMER.NEW from a function (FCALL bench_make)", "lua.fcall", i => ["FCALL", "bench_make", "1", $"bm:lua:{i}"], true),
            ("TIMER.NEW from a script (EVALSHA)", "lua.evalsha", i => ["EVALSHA", sha, "1", $"bm:lua:{i}"], true),
        };
        var figures = new Dictionary<string, List<double>>();
        for (int round = 1; round <= LuaRounds; round++)
        {
            var perRound = new Dictionary<string, double>();
            foreach (var way in ways)
            {
                var (cpu, exec) = Measure($"{way.What}, round {round}", way.Command, way.Alone);
                perRound[way.Metric + ".cpu"] = cpu;
                perRound[way.Metric + ".exec"] = exec;
            }
            foreach (var way in new[] { "fcall", "evalsha" })
                foreach (var figure in new[] { "cpu", "exec" })
                    perRound[$"lua.{way}.{figure}.ratio"] = perRound[$"lua.{way}.{figure}"] / perRound[$"lua.client.{figure}"];
            foreach (var (name, value) in perRound)
                (figures.TryGetValue(name, out var list) ? list : figures[name] = []).Add(value);
        }
        foreach (var (name, values) in figures)
        {
            values.Sort();
            results.Set(name, target, values[values.Count / 2]);
        }
        foreach (var way in new[] { "fcall", "evalsha" })
            Log.Info($"{target.Name}: {way} / client per round, Redis CPU: " +
                     string.Join(", ", figures[$"lua.{way}.cpu.ratio"].Select(v => v.ToString("F2", CultureInfo.InvariantCulture))) + " (sorted)");
        timer.Checked("FUNCTION", "DELETE", "timerbenchlua");

        // Two figures per way, over N creations on ids that do not exist yet, so every way does the same work:
        // Redis's CPU (INFO cpu: reading, parsing and answering as well) and the time Redis spent executing the
        // calls that create the timers (INFO commandstats of the top-level command; what Lua calls inside is
        // part of it). The proxy's own CPU is not counted: the target is about what Redis pays.
        (double Cpu, double Exec) Measure(string what, Func<int, string[]> command, bool alone)
        {
            redis.Checked("CONFIG", "RESETSTAT");
            var before = Target.RedisCpuSeconds(redis);
            var run = alone
                ? Pipelined.Run(target.TimerEndpoint, 2 * n, Settings.Connections, Settings.Pipeline,
                    (i, _) => i % 2 == 0 ? command(i / 2) : ["PING"], r => r is 1L or "PONG")
                : Pipelined.Run(target.TimerEndpoint, n, Settings.Connections, Settings.Pipeline, (i, _) => command(i), Pipelined.IsOne);
            var after = Target.RedisCpuSeconds(redis);
            var exec = TimerCallMicros(redis);
            Report(target, results, what, run);
            var cpu = (after - before) * 1e6 / n;
            Log.Info($"{target.Name}: {what}: Redis CPU {cpu:F2} µs, executing {exec / n:F2} µs per timer");
            Pipelined.Run(target.TimerEndpoint, n, Settings.Connections, Settings.Pipeline, (i, _) => ["TIMER.KILL", $"bm:lua:{i}"], Pipelined.IsOne);
            return (cpu, exec / n);
        }
    }

    /// <summary>µs Redis spent in the commands a client sends to create timers: the proxy's FCALL of its library,
    /// the bench's FCALL and EVALSHA, the module's TIMER.NEW (commandstats count what scripts call as well, inside).</summary>
    private static double TimerCallMicros(RespConnection redis) =>
        Target.CommandMicros(redis).Where(c => c.Key is "fcall" or "evalsha" or "timer.new").Sum(c => c.Value);

    // --- 3. Lateness: N one-shot timers spread evenly over 5 s ------------------------------------------------

    public static void Lateness(Target target, Settings settings, Results results)
    {
        var n = settings.LatenessCount;
        using var redis = target.Redis();
        redis.Checked("DEL", "bm:lat");
        var rate = results.Get("new.pipelined", target.Name) ?? 20_000;
        var leadMs = Math.Max(1000, (long)(3.0 * n / rate * 1000) + 500);   // one connection, TIME per batch: slower than pipelined
        var firstDueMicros = Target.ServerMicros(redis) + leadMs * 1000;
        Log.Info($"{target.Name}: lateness: {n} one-shot timers over {Settings.LatenessSpreadMs} ms, first due in {leadMs} ms");
        var (lateCreates, recreated, stillSlow) = CreateLatenessTimers(target, n, firstDueMicros, results);
        if (recreated > 0) results.Note(target, $"lateness: {recreated} batches took over {Settings.LatenessMaxSpreadMicros / 1000.0} ms to create and were created again");
        if (stillSlow > 0) results.Note(target, $"lateness: {stillSlow} batches stayed slow to create; their creation time counts as lateness");
        if (lateCreates > 0) results.Note(target, $"lateness: {lateCreates} timers were created after their due time");

        var deadline = firstDueMicros + (Settings.LatenessSpreadMs + 30_000) * 1000L;
        long fired;
        while (true)
        {
            fired = (long)redis.Checked("LLEN", "bm:lat")!;
            if (fired >= n || Target.ServerMicros(redis) > deadline) break;
            Thread.Sleep(50);
        }
        if (fired < n)
        {
            results.Fail(target, "lateness", $"only {fired} of {n} timers fired within 30 s after the last due time");
            Pipelined.Run(target.TimerEndpoint, n, Settings.Connections, Settings.Pipeline, (i, _) => ["TIMER.KILL", $"bm:l:{i}"], Pipelined.IsInteger);
            if (fired == 0) return;
        }
        var inFireOrder = ((object?[])redis.Checked("LRANGE", "bm:lat", "0", "-1")!).Select(v => long.Parse((string)v!) / 1e3).ToArray();
        // For looking at when the late fires happened (one lateness in ms per line, in fire order).
        if (Environment.GetEnvironmentVariable("TIMERBENCH_LATENESS_DUMP") is { Length: > 0 } dump)
            File.WriteAllLines($"{dump}.{target.Name}", inFireOrder.Select(v => v.ToString("F3", CultureInfo.InvariantCulture)));
        var late = inFireOrder.Order().ToArray();
        double Pct(double p) => late[Math.Clamp((int)Math.Ceiling(p * late.Length) - 1, 0, late.Length - 1)];
        results.Set("lat.p50", target, Pct(0.50));
        results.Set("lat.p90", target, Pct(0.90));
        results.Set("lat.p99", target, Pct(0.99));
        results.Set("lat.max", target, late[^1]);
        results.Set("lat.min", target, late[0]);
        Log.Info($"{target.Name}: lateness ms: p50 {Pct(0.5):F2} p90 {Pct(0.9):F2} p99 {Pct(0.99):F2} max {late[^1]:F2} min {late[0]:F2}");
        redis.Checked("DEL", "bm:lat");
    }

    /// <summary>
    /// Creates the lateness timers in batches on one connection: a TIME round trip, then the batch's TIMER.NEWs
    /// and a second TIME in one write. The intended due time is the first TIME plus the interval, while the proxy
    /// (or module) counts from the moment it runs TIMER.NEW, so a batch held up on its way (this process or the
    /// proxy descheduled) would show as firing lateness; such a batch is created again (a reset), so every
    /// timer's intended due time is at most <see cref="Settings.LatenessMaxSpreadMicros"/> before the real one.
    /// A batch with a timer created after its due time (interval clamped to 1 ms) is not created again: that
    /// timer may have fired already.
    /// </summary>
    private static (long LateCreates, long Recreated, long StillSlow) CreateLatenessTimers(Target target, int n, long firstDueMicros, Results results)
    {
        long lateCreates = 0, recreated = 0, stillSlow = 0, errors = 0;
        string? firstError = null;
        using var timer = target.Timer();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < n; i += Settings.LatenessBatch)
        {
            var end = Math.Min(n, i + Settings.LatenessBatch);
            for (var attempt = 0; ; attempt++)
            {
                var now = Target.ServerMicros(timer);
                var clamped = false;
                for (var k = i; k < end; k++)
                {
                    var due = firstDueMicros + (long)k * Settings.LatenessSpreadMs * 1000 / n;
                    var interval = (long)Math.Round((due - now) / 1000.0);
                    if (interval < 1) { if (attempt == 0) lateCreates++; interval = 1; clamped = true; }
                    timer.Write("TIMER.NEW", $"bm:l:{k}", "bench_lat", S(interval), "0", S(now + interval * 1000));
                }
                timer.Write("TIME");
                timer.Flush();
                for (var k = i; k < end; k++)
                {
                    var reply = timer.Read();
                    if (reply is long r && r == (attempt == 0 ? 1 : 0)) continue;   // a new timer, then resets
                    errors++;
                    firstError ??= $"TIMER.NEW bm:l:{k} -> {Target.Describe(reply)}";
                }
                var after = Target.ParseTime(timer.Read()) ?? throw new InvalidOperationException("TIME after a batch: unexpected reply");
                if (after - now <= Settings.LatenessMaxSpreadMicros || clamped) break;
                if (attempt == 4) { stillSlow++; break; }
                recreated++;
            }
        }
        var run = new PipelinedResult(n, clock.Elapsed.TotalSeconds, errors, firstError, 0);
        Report(target, results, "lateness creation", run);
        return (lateCreates, recreated, stillSlow);
    }

    // --- 4. Memory: used_memory per timer, proxy RSS --------------------------------------------------------

    public static void Memory(Target target, Settings settings, Results results)
    {
        foreach (var (n, metric) in new[] { (settings.MemorySmall, "mem.small"), (settings.MemoryLarge, "mem.large") })
        {
            using var redis = target.Redis();
            var baseline = SettledUsedMemory(target, redis);
            Log.Info($"{target.Name}: memory: creating {n} timers bm:m{n}:<i> (baseline used_memory {baseline})");
            var create = Pipelined.Run(target.TimerEndpoint, n, Settings.Connections, Settings.Pipeline,
                (i, _) => ["TIMER.NEW", $"bm:m{n}:{i}", "bench_count", Settings.FarFutureMs, "0"], Pipelined.IsOne);
            Report(target, results, $"memory creation ({n})", create);
            var used = SettledUsedMemory(target, redis);
            results.Set(metric, target, (used - baseline) / (double)n);
            Log.Info($"{target.Name}: memory: {n} timers: used_memory +{used - baseline} B = {(used - baseline) / (double)n:F1} B/timer");
            if (metric == "mem.large" && target.IsProxy)
            {
                var (rss, peak) = target.ProxyMemory();
                results.Set("proxy.rss", target, rss / 1048576.0);
                results.Set("proxy.peak", target, peak / 1048576.0);
                Log.Info($"{target.Name}: proxy VmRSS {rss / 1048576.0:F1} MiB, VmHWM {peak / 1048576.0:F1} MiB with {n} timers");
            }
            var kill = Pipelined.Run(target.TimerEndpoint, n, Settings.Connections, Settings.Pipeline,
                (i, _) => ["TIMER.KILL", $"bm:m{n}:{i}"], Pipelined.IsOne);
            Report(target, results, $"memory cleanup TIMER.KILL ({n})", kill);
        }
    }

    /// <summary>used_memory once it has stopped moving (client buffers drained, the proxy's events consumed):
    /// two reads 500 ms apart within 0.5%, at most 15 s. For the proxy, at least 2 s (two reconciliations).</summary>
    private static long SettledUsedMemory(Target target, RespConnection redis)
    {
        if (target.IsProxy) Thread.Sleep(1500);
        var previous = target.UsedMemory(redis);
        for (var i = 0; i < 30; i++)
        {
            Thread.Sleep(500);
            var current = target.UsedMemory(redis);
            if (Math.Abs(current - previous) <= previous / 200) return current;
            previous = current;
        }
        return previous;
    }
}
