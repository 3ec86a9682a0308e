using System.Globalization;
using System.Text;
using RedisTimer.Bench;

// Timer benchmark driver: runs each scenario against every --target in turn (proxy, then the module's Redis
// when given) and prints a Markdown table to stdout; progress goes to stderr. Started by bench/timer-bench.sh,
// which owns the redis-server and proxy processes. Exit code 1 when a scenario failed (the table is still printed).

// bench/scale-bench.sh runs one step per call: TimerBench scale STEP --name value ...
if (args.Length > 0 && args[0] == "scale")
{
    var options = new Dictionary<string, string>();
    for (var i = 2; i + 1 < args.Length; i += 2) options[args[i].TrimStart('-')] = args[i + 1];
    return Scale.Run(args.Length > 1 ? args[1] : "", options);
}

var targets = new List<Target>();
var divisor = 1;
var redisBenchmark = "redis-benchmark";
var scenarios = new HashSet<string> { "cold", "new", "burst", "lateness", "memory", "lua" };
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--target": targets.Add(Target.Parse(args[++i])); break;
        case "--quick": divisor = 10; break;
        case "--redis-benchmark": redisBenchmark = args[++i]; break;
        case "--scenarios": scenarios = args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet(); break;
        default:
            Console.Error.WriteLine($"unknown argument {args[i]}; usage: TimerBench --target name=proxy,timer=H:P,redis=H:P,pid=N " +
                                    "[--target name=module,timer=H:P] [--quick] [--redis-benchmark PATH] [--scenarios cold,new,burst,lateness,memory,lua]");
            return 2;
    }
}
if (targets.Count == 0) { Console.Error.WriteLine("at least one --target is needed"); return 2; }

var settings = new Settings(divisor, redisBenchmark);
var results = new Results();
foreach (var target in targets)
{
    using var redis = target.Redis();
    BenchLibrary.Load(redis);
    // The proxy loads its own library at the first timer command; do that before anything is measured.
    using var timer = target.Timer();
    timer.Checked("TIMER.NEW", "bm:warmup", "bench_count", "3600000", "0");
    timer.Checked("TIMER.KILL", "bm:warmup");
    // Users restart sidecars on every deploy: how the proxy does as started comes first. The bench's own code
    // must not be cold then: its pipelined client runs first against Redis directly (same commands' shape,
    // same reply check), so the cold figures show the proxy's start and not the bench's.
    var clientWarm = settings.NewCount / 10;
    for (int round = 0; round < 3; round++)
    {
        Pipelined.Run(target.RedisEndpoint, clientWarm, Settings.Connections, Settings.Pipeline, (i, _) => ["SADD", "bm:client-warmup", $"{round}:{i}"], Pipelined.IsOne);
        redis.Checked("DEL", "bm:client-warmup");
    }
    if (scenarios.Contains("cold"))
    {
        try { Scenarios.Cold(target, settings, results); }
        catch (Exception e) { results.Fail(target, "cold", e.Message); }
    }
    // Warm-up, not measured: lets the proxy's JIT reach its steady code before the first figure. The .NET
    // runtime recompiles hot methods in the background (tiered compilation) once they have been called
    // often enough and calls have settled for a moment; with a single short round that was still going on
    // in the measured run (about half of the proxy's CPU in its compiler thread, measured with perf), so
    // several rounds with pauses.
    var warm = settings.NewCount / 10;
    Log.Info($"{target.Name}: warm-up, 3 x {warm} TIMER.NEW + TIMER.KILL");
    for (int round = 0; round < 3; round++)
    {
        Pipelined.Run(target.TimerEndpoint, warm, Settings.Connections, Settings.Pipeline, (i, _) => ["TIMER.NEW", $"bm:w:{i}", "bench_count", "3600000", "0"], Pipelined.IsOne);
        Pipelined.Run(target.TimerEndpoint, warm, Settings.Connections, Settings.Pipeline, (i, _) => ["TIMER.KILL", $"bm:w:{i}"], Pipelined.IsOne);
        Thread.Sleep(300);
    }
}

void RunScenario(string name, Action<Target, Settings, Results> scenario)
{
    if (!scenarios.Contains(name)) return;
    foreach (var target in targets)
    {
        try { scenario(target, settings, results); }
        catch (Exception e) { results.Fail(target, name, e.Message); }
    }
}
RunScenario("new", Scenarios.Throughput);
RunScenario("burst", Scenarios.Burst);
RunScenario("lateness", Scenarios.Lateness);
RunScenario("memory", Scenarios.Memory);
RunScenario("lua", Scenarios.LuaCost);

Console.Write(Report.Render(targets, settings, results, scenarios));
return results.Failures.Count == 0 ? 0 : 1;

static class Report
{
    private static string ScenarioOf(string key) => key.Split('.')[0] switch
    {
        "cold" => "cold",
        "new" or "kill" => "new",
        "burst" => "burst",
        "lat" => "lateness",
        "lua" => "lua",
        _ => "memory",
    };

    private static string K(double value) => value >= 1_000_000
        ? (value / 1_000_000).ToString("0.#", CultureInfo.InvariantCulture) + "M"
        : (value / 1000).ToString("0.#", CultureInfo.InvariantCulture) + "k";

    public static string Render(List<Target> targets, Settings s, Results r, ISet<string> scenarios)
    {
        var names = targets.Select(t => t.Name).ToList();
        var module = names.FirstOrDefault(n => n != "proxy");
        var sb = new StringBuilder();
        sb.AppendLine($"| scenario | metric | {string.Join(" | ", names)} | target | proxy meets target |");
        sb.AppendLine($"|---|---|{string.Concat(names.Select(_ => "---:|"))}---|---|");

        void Row(string scenario, string metric, string key, Func<double, string> format, string target, Func<double, bool>? meets)
        {
            if (!scenarios.Contains(ScenarioOf(key))) return;
            var cells = names.Select(n => r.Get(key, n) is double v ? format(v) : "n/a");
            var verdict = meets is null ? "" : r.Get(key, "proxy") is double p ? (meets(p) ? "yes" : "**no**") : "n/a";
            sb.AppendLine($"| {scenario} | {metric} | {string.Join(" | ", cells)} | {target} | {verdict} |");
        }
        string Rate(double v) => v.ToString("N0", CultureInfo.InvariantCulture) + "/s";
        string Ms(double v) => v.ToString("F2", CultureInfo.InvariantCulture) + " ms";
        string Sec(double v) => v.ToString("F3", CultureInfo.InvariantCulture) + " s";
        string Bytes(double v) => v.ToString("F1", CultureInfo.InvariantCulture) + " B";
        string MiB(double v) => v.ToString("F1", CultureInfo.InvariantCulture) + " MiB";
        double? Module(string key) => module is null ? null : r.Get(key, module);

        // Targets relative to the module use the module measured in this run, else the reference (TIMER_SEMANTICS §8).
        var newRef = Module("new.pipelined") is double mp ? (0.5 * mp, $"≥ 50% of module = {Rate(0.5 * mp)}") : (108_000, "≥ 108k/s (50% of module ref 216k–277k/s)");
        var rbRef = Module("new.rb") is double mr ? (0.5 * mr, $"≥ 50% of module = {Rate(0.5 * mr)}") : (79_500, "≥ 79.5k/s (50% of module ref 159k–207k/s)");
        var burstModule = 1.2 * s.BurstCount / 100_000;
        var burstRef = Module("burst.all") is double mb ? (2 * mb, $"≤ 2× module = {Sec(2 * mb)}") : (2 * burstModule, $"≤ {Sec(2 * burstModule)} (2× module ref ~{burstModule:0.###} s)");

        double? Warm(string key) => r.Get(key, "proxy");
        Row("0. cold start", $"TIMER.NEW as started, {K(s.NewCount)} keys, {Settings.Connections} conn × P{Settings.Pipeline}", "cold.new", Rate,
            Warm("new.pipelined") is double wn ? $"≥ 80% of warm = {Rate(0.8 * wn)}" : "≥ 80% of warm", v => Warm("new.pipelined") is double wn && v >= 0.8 * wn);
        Row("0. cold start", "CPU per timer of that run: Redis / proxy (warm run: scenario 1)", "cold.new.cpu.redis", Micros,
            r.Get("cold.new.cpu.proxy", "proxy") is double cp ? $"proxy: {Micros(cp)}" : "", null);
        Row("0. cold start", $"{K(s.BurstCount)} one-shot burst as started: all fired, after first due", "cold.burst.all", Sec,
            Warm("burst.all") is double wb ? $"≤ warm / 0.8 = {Sec(wb / 0.8)}" : "≤ warm / 0.8", v => Warm("burst.all") is double wb && v <= wb / 0.8);
        Row("0. cold start", "fire rate as started (first to last fire)", "cold.burst.rate", v => v.ToString("N0", CultureInfo.InvariantCulture) + " FCALL/s", "", null);
        Row("0. cold start", "worst PING during that burst, via proxy / direct", "cold.burst.ping.proxy", Ms,
            r.Get("cold.burst.ping.direct", "proxy") is double cd ? $"direct: {Ms(cd)}" : "", null);
        Row("1. throughput", $"TIMER.NEW, {K(s.NewCount)} keys, {Settings.Connections} conn × P{Settings.Pipeline}", "new.pipelined", Rate, newRef.Item2, v => v >= newRef.Item1);
        Row("1. throughput", "CPU per timer of that run: Redis / proxy", "new.cpu.redis", Micros,
            r.Get("new.cpu.proxy", "proxy") is double wp ? $"proxy: {Micros(wp)}" : "", null);
        Row("1. throughput", $"TIMER.NEW, redis-benchmark -c 50 -P 32 -n {s.NewCount}", "new.rb", Rate, rbRef.Item2, v => v >= rbRef.Item1);
        Row("1. throughput", $"TIMER.KILL, {K(s.NewCount)} keys, {Settings.Connections} conn × P{Settings.Pipeline}", "kill.pipelined", Rate, "(module ref 344k–450k/s)", null);
        Row("2. burst", $"{K(s.BurstCount)} one-shot due within {Settings.BurstWindowMs} ms: all fired, after first due", "burst.all", Sec, burstRef.Item2, v => v <= burstRef.Item1);
        Row("2. burst", "first fire, after first due", "burst.first", Ms, "", null);
        Row("2. burst", "Redis CPU per fired timer / of it in WATCH", "burst.cpu.redis", Micros,
            r.Get("burst.watch", "proxy") is double bw ? $"WATCH: {Micros(bw)}" : "", null);
        Row("2. burst", "fire rate (first to last fire)", "burst.rate", v => v.ToString("N0", CultureInfo.InvariantCulture) + " FCALL/s", "(module ref ~76k/s)", null);
        Row("2. burst", "worst PING during burst, via proxy", "burst.ping.proxy", Ms, "≤ 50 ms", v => v <= 50);
        Row("2. burst", "worst PING during burst, direct to Redis", "burst.ping.direct", Ms, "≤ 50 ms (module ref: 700–1200 ms stall)", v => v <= 50);
        Row("3. lateness", $"{K(s.LatenessCount)} one-shot over {Settings.LatenessSpreadMs / 1000} s: p50", "lat.p50", Ms, "(module ref 0.7 ms)", null);
        Row("3. lateness", "p90", "lat.p90", Ms, "(module ref 1.1 ms)", null);
        Row("3. lateness", "p99", "lat.p99", Ms, "≤ 3 ms (module ref 1.8–2.3 ms)", v => v <= 3);
        Row("3. lateness", "max", "lat.max", Ms, "(module ref 5–6 ms)", null);
        Row("3. lateness", "min (negative = fired early)", "lat.min", Ms, "", null);
        Row("4. memory", $"Redis used_memory delta per timer, {K(s.MemorySmall)} timers", "mem.small", Bytes, "≤ 600 B (module ref 292.5 B)", v => v <= 600);
        Row("4. memory", $"Redis used_memory delta per timer, {K(s.MemoryLarge)} timers", "mem.large", Bytes, "≤ 600 B (module ref 290.6 B)", v => v <= 600);
        Row("4. memory", $"proxy RSS with {K(s.MemoryLarge)} timers in Redis", "proxy.rss", MiB, "≤ 300 MB (at 1M)", v => v * 1048576 <= 300e6);
        Row("4. memory", "proxy peak RSS (VmHWM, whole run)", "proxy.peak", MiB, "", null);
        string Micros(double v) => v.ToString("F2", CultureInfo.InvariantCulture) + " µs";
        string Times(double v) => v.ToString("F2", CultureInfo.InvariantCulture) + "×";
        Row("5. Lua", $"client TIMER.NEW pipelined, merged by the proxy ({K(s.NewCount / 2)} timers; medians of {Scenarios.LuaRounds} rounds taking turns): Redis CPU / executing per timer", "lua.merged.cpu", Micros,
            r.Get("lua.merged.exec", "proxy") is double me ? $"executing: {Micros(me)}" : "", null);
        Row("5. Lua", "client TIMER.NEW, one per call: Redis CPU / executing per timer", "lua.client.cpu", Micros,
            r.Get("lua.client.exec", "proxy") is double ce ? $"executing: {Micros(ce)}" : "", null);
        Row("5. Lua", "TIMER.NEW from a function (FCALL, as in a callback): Redis CPU / executing", "lua.fcall.cpu", Micros,
            r.Get("lua.fcall.exec", "proxy") is double fe ? $"executing: {Micros(fe)}" : "", null);
        Row("5. Lua", "TIMER.NEW from a script (EVALSHA): Redis CPU / executing", "lua.evalsha.cpu", Micros,
            r.Get("lua.evalsha.exec", "proxy") is double ee ? $"executing: {Micros(ee)}" : "", null);
        Row("5. Lua", "function / client, Redis CPU (median of the rounds' ratios)", "lua.fcall.cpu.ratio", Times, "≤ 2×", v => v <= 2);
        Row("5. Lua", "function / client, executing (median of the rounds' ratios)", "lua.fcall.exec.ratio", Times, "≤ 2×", v => v <= 2);
        Row("5. Lua", "script / client, Redis CPU (median of the rounds' ratios)", "lua.evalsha.cpu.ratio", Times, "≤ 2×", v => v <= 2);
        Row("5. Lua", "script / client, executing (median of the rounds' ratios)", "lua.evalsha.exec.ratio", Times, "≤ 2×", v => v <= 2);

        if (r.Failures.Count > 0)
        {
            sb.AppendLine().AppendLine("Failures:").AppendLine();
            foreach (var f in r.Failures) sb.AppendLine($"- {f}");
        }
        if (r.Notes.Count > 0)
        {
            sb.AppendLine().AppendLine("Notes:").AppendLine();
            foreach (var n in r.Notes) sb.AppendLine($"- {n}");
        }
        return sb.ToString();
    }
}
