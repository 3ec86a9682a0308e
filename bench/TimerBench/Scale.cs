using System.Globalization;

namespace RedisTimer.Bench;

/// <summary>
/// The steps of bench/scale-bench.sh, one per call (the script owns Redis and the proxies, and restarts the proxy
/// between steps). Each step prints Markdown table rows (figure | value | target | met) on stdout and exits 1 when
/// a target it checks is missed or its replies are wrong; progress goes to stderr.
/// </summary>
public static class Scale
{
    private const string IndexKey = "timer-tzw:due";
    private const int Connections = Settings.Connections;
    private const int Pipeline = Settings.Pipeline;

    public static int Run(string step, Dictionary<string, string> options)
    {
        var rows = new List<string>();
        var failed = false;
        void Row(string figure, string value, string target = "", bool? met = null)
        {
            rows.Add($"| {figure} | {value} | {target} | {(met is null ? "" : met.Value ? "yes" : "**no**")} |");
            if (met == false) failed = true;
        }
        string Opt(string name) => options.TryGetValue(name, out var v) ? v : throw new ArgumentException($"--{name} is needed for step {step}");
        int Int(string name) => int.Parse(Opt(name), CultureInfo.InvariantCulture);
        try
        {
            switch (step)
            {
                case "fill": Fill(Opt("timer"), Int("from"), Int("to"), Row); break;
                case "library": { using var redis = RespConnection.Connect(Opt("redis")); BenchLibrary.Load(redis); break; }
                case "loops": Loops(Opt("timer"), Int("count"), Int("interval-ms")); break;
                case "rates": Rates(Opt("timer"), Opt("redis"), Int("count"), Opt("label"), Row); break;
                case "memory": Memory(Opt("redis"), Int("pid"), Opt("label"), Row); break;
                case "reconcile": Reconcile(Opt("redis"), Int("seconds"), Opt("label"), options.GetValueOrDefault("write-to"), options.GetValueOrDefault("baseline"), Row); break;
                case "near-create": NearCreate(Opt("redis"), Int("count"), Int("first-ms"), Int("last-ms")); break;
                case "near-report": NearReport(Opt("redis"), Int("count"), Row); break;
                case "settle": Settle(Opt("redis"), Row); break;
                case "list": List(Opt("timer"), Opt("redis"), Int("count"), Int("redis-pid"), Opt("label"), Row); break;
                default: throw new ArgumentException($"unknown scale step {step}");
            }
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or IOException or System.Net.Sockets.SocketException)
        {
            Console.Error.WriteLine($"scale step {step} failed: {e.Message}");
            foreach (var row in rows) Console.WriteLine(row);
            return 1;
        }
        foreach (var row in rows) Console.WriteLine(row);
        return failed ? 1 : 0;
    }

    private static string Rate(double v) => v.ToString("N0", CultureInfo.InvariantCulture) + "/s";
    private static string Ms(double v) => v.ToString("F1", CultureInfo.InvariantCulture) + " ms";
    private static string Count(long v) => v.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>Far-future timers bm:s:&lt;from&gt;..&lt;to-1&gt; through the proxy (they never fire during the run).</summary>
    private static void Fill(string timer, int from, int to, Action<string, string, string, bool?> row)
    {
        Log.Info($"scale: creating timers {Count(from)}..{Count(to)} (one year ahead) through the proxy");
        var run = Pipelined.Run(timer, to - from, Connections, Pipeline,
            (i, _) => ["TIMER.NEW", $"bm:s:{from + i}", "bench_count", Settings.FarFutureMs, "0"], Pipelined.IsOne);
        Log.Info($"scale: {Count(to - from)} in {run.Seconds:F1} s ({Rate(run.Rate)})");
        if (run.Errors > 0) throw new InvalidOperationException($"{run.Errors} wrong replies while filling; first: {run.FirstError}");
        row($"fill: TIMER.NEW of timers {Count(from)}..{Count(to)}, {Connections} conn × P{Pipeline}", Rate(run.Rate), "", null);
    }

    /// <summary>
    /// Pages through every timer with TIMER.LIST COUNT <paramref name="count"/> (through the proxy), then through the
    /// index with a plain ZSCAN of the same COUNT (straight to Redis), the yardstick for what one call of that size
    /// holds Redis on this machine. Two measures of a call's hold on Redis: the CPU time Redis's main thread ran
    /// during it (its schedstat, read before and after each call), which is the work the call makes Redis do, and
    /// Redis's SLOWLOG (set to log what takes 5 ms or more during the step, both settings put back after), which is
    /// wall time and so also counts the moments this two-core VM's scheduler or its host gave the core to someone
    /// else while the call ran. The mean is the client's round trip per call.
    /// </summary>
    private static void List(string timer, string redisEndpoint, int count, int redisPid, string label, Action<string, string, string, bool?> row)
    {
        using var redis = RespConnection.Connect(redisEndpoint);
        var threshold = (redis.Checked("CONFIG", "GET", "slowlog-log-slower-than") as object?[])![1] as string;
        var maxLen = (redis.Checked("CONFIG", "GET", "slowlog-max-len") as object?[])![1] as string;
        redis.Checked("CONFIG", "SET", "slowlog-max-len", "100000");
        redis.Checked("CONFIG", "SET", "slowlog-log-slower-than", "5000");
        try
        {
            using var proxy = RespConnection.Connect(timer, replyTimeoutMs: 30_000);
            var cpu = new RedisThreadCpu(redisPid);
            var list = Page(redis, cpu, "fcall", "timer_list", cursor => proxy.Checked("TIMER.LIST", "COUNT", S(count), "CURSOR", cursor));
            Report($"TIMER.LIST COUNT {count} through the proxy, every timer", list, "no call ≥ 5 ms of Redis CPU", list.CpuMicros.Max() < 5000);
            var zscan = Page(redis, cpu, "zscan", null, cursor => redis.Checked("ZSCAN", IndexKey, cursor, "COUNT", S(count)));
            Report($"plain ZSCAN of the index, COUNT {count}, straight to Redis (the yardstick)", zscan, "", null);
        }
        finally
        {
            redis.Checked("CONFIG", "SET", "slowlog-log-slower-than", threshold!);
            redis.Checked("CONFIG", "SET", "slowlog-max-len", maxLen!);
        }

        void Report(string what, Paged p, string target, bool? met)
        {
            var slow = p.Slow.Count == 0 ? "none" : $"{p.Slow.Count} (worst {Ms(p.Slow.Max() / 1000.0)})";
            var cpu = p.CpuMicros.Order().ToArray();
            var overCpu = cpu.Count(us => us >= 5000);
            var text = $"{Count(p.Listed)} in {Count(p.Calls)} calls, {p.MeanRoundTripMs:F2} ms per call round trip; Redis CPU per call "
                + $"p50 / p99 / max {Ms(cpu[cpu.Length / 2] / 1000.0)} / {Ms(cpu[(int)(cpu.Length * 0.99)] / 1000.0)} / {Ms(cpu[^1] / 1000.0)}, "
                + $"≥ 5 ms: {(overCpu == 0 ? "none" : Count(overCpu))}; SLOWLOG (wall time) ≥ 5 ms: {slow}";
            Log.Info($"scale: {label}: {what}: {text}");
            row($"{label}: {what}", text, target, met);
        }
        static string S(int v) => v.ToString(CultureInfo.InvariantCulture);
    }

    private sealed record Paged(long Calls, long Listed, double MeanRoundTripMs, List<long> Slow, List<double> CpuMicros);

    /// <summary>CPU time Redis's main thread has run, from /proc/&lt;pid&gt;/task/&lt;pid&gt;/schedstat (its first field, ns).
    /// The kernel counts the time the thread ran (on this VM's kernel, interrupts served meanwhile included), not the time
    /// it waited for a core.</summary>
    private sealed class RedisThreadCpu(int pid)
    {
        private readonly string _path = $"/proc/{pid}/task/{pid}/schedstat";
        public double Micros()
        {
            var stat = File.ReadAllText(_path);
            return long.Parse(stat.AsSpan(0, stat.IndexOf(' ')), CultureInfo.InvariantCulture) / 1000.0;
        }
    }

    /// <summary>Calls <paramref name="call"/> from cursor 0 until the cursor is 0 again; the µs of each of those calls
    /// (its <paramref name="command"/> entries, of <paramref name="function"/> for FCALL) that Redis's SLOWLOG holds.</summary>
    private static Paged Page(RespConnection redis, RedisThreadCpu redisCpu, string command, string? function, Func<string, object?> call)
    {
        redis.Checked("SLOWLOG", "RESET");
        long calls = 0, listed = 0;
        var cpuMicros = new List<double>();
        var cursor = "0";
        var took = System.Diagnostics.Stopwatch.StartNew();
        do
        {
            var cpuBefore = redisCpu.Micros();
            var answer = call(cursor);
            cpuMicros.Add(redisCpu.Micros() - cpuBefore);
            if (answer is not object?[] { Length: 2 } reply || reply[0] is not string next || reply[1] is not object?[] items)
                throw new InvalidOperationException($"{command}: unexpected reply at cursor {cursor}");
            cursor = next;
            calls++;
            listed += function is null ? items.Length / 2 : items.Length;   // ZSCAN: member, score pairs
        } while (cursor != "0");
        double meanMs = took.Elapsed.TotalMilliseconds / calls;

        var slow = new List<long>();
        foreach (var entry in redis.Checked("SLOWLOG", "GET", "-1") as object?[] ?? [])
        {
            // id, time, µs, [command, args...], client address, client name
            if (entry is not object?[] e || e[3] is not object?[] args || args.Length == 0 || e[2] is not long us) continue;
            if (!string.Equals(args[0] as string, command, StringComparison.OrdinalIgnoreCase)) continue;
            if (function is not null && (args.Length < 2 || args[1] as string != function)) continue;
            slow.Add(us);
        }
        return new Paged(calls, listed, meanMs, slow, cpuMicros);
    }

    /// <summary>LOOP timers that keep the window busy (fires, reconciliation reads that find something) meanwhile.</summary>
    private static void Loops(string timer, int count, int intervalMs)
    {
        var run = Pipelined.Run(timer, count, 1, Pipeline,
            (i, _) => ["TIMER.NEW", $"bm:loop:{i}", "bench_count", intervalMs.ToString(CultureInfo.InvariantCulture), "LOOP", "0"], Pipelined.IsOne);
        if (run.Errors > 0) throw new InvalidOperationException($"{run.Errors} wrong replies creating LOOP timers; first: {run.FirstError}");
        Log.Info($"scale: {Count(count)} LOOP timers every {intervalMs} ms");
    }

    /// <summary>
    /// Pipelined TIMER.NEW then TIMER.KILL of <paramref name="count"/> fresh ids, with whatever Redis holds now; with
    /// what Redis spent in FCALL per timer (INFO commandstats), which tells Redis's share from the proxy's.
    /// </summary>
    private static void Rates(string timer, string redisEndpoint, int count, string label, Action<string, string, string, bool?> row)
    {
        using var redis = RespConnection.Connect(redisEndpoint);
        var prefix = $"bm:r:{Guid.NewGuid():N}:";
        Log.Info($"scale: TIMER.NEW + TIMER.KILL x {Count(count)}, {label}");
        var before = Target.CommandMicros(redis);
        var fcallBefore = before.GetValueOrDefault("fcall");
        var create = Pipelined.Run(timer, count, Connections, Pipeline, (i, _) => ["TIMER.NEW", prefix + i, "bench_count", "3600000", "0"], Pipelined.IsOne);
        if (create.Errors > 0) throw new InvalidOperationException($"{create.Errors} wrong TIMER.NEW replies; first: {create.FirstError}");
        var created = Target.CommandMicros(redis);
        var fcallCreated = created.GetValueOrDefault("fcall");
        var kill = Pipelined.Run(timer, count, Connections, Pipeline, (i, _) => ["TIMER.KILL", prefix + i], Pipelined.IsOne);
        if (kill.Errors > 0) throw new InvalidOperationException($"{kill.Errors} wrong TIMER.KILL replies; first: {kill.FirstError}");
        var killed = Target.CommandMicros(redis);
        var fcallKilled = killed.GetValueOrDefault("fcall");
        double newRedis = (double)(fcallCreated - fcallBefore) / count, killRedis = (double)(fcallKilled - fcallCreated) / count;
        Log.Info($"scale: NEW {Rate(create.Rate)} (Redis {newRedis:F2} µs each: {PerTimer(before, created, count)}), " +
                 $"KILL {Rate(kill.Rate)} (Redis {killRedis:F2} µs each: {PerTimer(created, killed, count)})");
        row($"{label}: TIMER.NEW, {Count(count)} ids, {Connections} conn × P{Pipeline} (Redis's FCALL time per timer)",
            $"{Rate(create.Rate)} ({newRedis:F2} µs)", "≥ 100,000/s", create.Rate >= 100_000);
        row($"{label}: TIMER.KILL of them (Redis's FCALL time per timer)", $"{Rate(kill.Rate)} ({killRedis:F2} µs)", "≥ 100,000/s", kill.Rate >= 100_000);
    }

    /// <summary>
    /// Redis grows a sorted set's hash table by doubling it and moving its entries a bucket per command on that set:
    /// an index just past 2^22 members (4.19M) is still moving them millions of index commands later, and every ZADD
    /// meanwhile looks in both tables and moves a bucket (measured directly: 3.8 µs per member while rehashing, 1.2–2.0
    /// µs after). Reads of the index (ZSCORE of a missing member, one bucket each) finish the move, so that the next
    /// rates show the state a Redis holding that many timers settles into. Needs DEBUG (enable-debug-command).
    /// </summary>
    private static void Settle(string redisEndpoint, Action<string, string, string, bool?> row)
    {
        using var redis = RespConnection.Connect(redisEndpoint);
        bool Rehashing() => ((string)redis.Checked("DEBUG", "HTSTATS-KEY", IndexKey)!).Contains("rehashing target", StringComparison.Ordinal);
        var was = Rehashing();
        const int chunk = 500_000;
        long reads = 0;
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (Rehashing())
        {
            redis.Checked("EVAL", "for i = 1, tonumber(ARGV[1]) do redis.call('ZSCORE', KEYS[1], '') end return 1", "1", IndexKey,
                chunk.ToString(CultureInfo.InvariantCulture));
            reads += chunk;
            if (reads > 100_000_000) throw new InvalidOperationException("the index's hash table is still rehashing after 100M reads");
        }
        Log.Info($"scale: index hash table rehashing: {was}; {Count(reads)} index reads to finish it, {sw.Elapsed.TotalSeconds:F1} s");
        row("index's hash table growing (Redis's incremental rehash) after the fill / index reads to finish it",
            $"{(was ? "yes" : "no")} / {Count(reads)}", "", null);
    }

    /// <summary>Where Redis's time per timer went between two <see cref="Target.CommandMicros"/> readings, biggest first.</summary>
    private static string PerTimer(Dictionary<string, long> before, Dictionary<string, long> after, int count) =>
        string.Join(", ", after.Select(a => (a.Key, Us: (a.Value - before.GetValueOrDefault(a.Key)) / (double)count))
            .Where(a => a.Us >= 0.05).OrderByDescending(a => a.Us).Select(a => $"{a.Key} {a.Us:F2}"));

    private static void Memory(string redisEndpoint, int pid, string label, Action<string, string, string, bool?> row)
    {
        using var redis = RespConnection.Connect(redisEndpoint);
        var indexed = (long)redis.Checked("ZCARD", IndexKey)!;
        var usedMemory = long.Parse(Target.InfoField(redis, "memory", "used_memory"), CultureInfo.InvariantCulture);
        var proxy = new Target("proxy", "", redisEndpoint, pid).ProxyMemory();
        Log.Info($"scale: {label}: {Count(indexed)} timers indexed, Redis used_memory {usedMemory / 1048576.0:F0} MiB, proxy RSS {proxy.Rss / 1048576.0:F1} MiB, peak {proxy.Peak / 1048576.0:F1} MiB");
        row($"{label}: timers in Redis (ZCARD of the index) / Redis used_memory", $"{Count(indexed)} / {usedMemory / 1048576.0:F0} MiB", "", null);
        row($"{label}: proxy RSS / peak RSS (VmHWM)", $"{proxy.Rss / 1048576.0:F1} / {proxy.Peak / 1048576.0:F1} MiB", "≤ 300 MB", proxy.Peak <= 300_000_000);
    }

    /// <summary>
    /// What the proxy's own traffic costs Redis while nothing else runs: command statistics and the slow log over
    /// <paramref name="seconds"/> (more than one full reconciliation pass: every tenth pass reads the whole window).
    /// A pass that walked every timer would show as milliseconds per call at 5M, and as a cost per call growing with
    /// the count: with <paramref name="baseline"/> (a file an earlier call wrote) each command is compared with it.
    /// The fire transactions of the LOOP timers (MULTI ... EXEC, FCALLs inside) cost what their batch holds, whatever
    /// else Redis holds; they are listed, not judged.
    /// </summary>
    private static void Reconcile(string redisEndpoint, int seconds, string label, string? writeTo, string? baseline,
        Action<string, string, string, bool?> row)
    {
        using var redis = RespConnection.Connect(redisEndpoint);
        redis.Checked("CONFIG", "SET", "slowlog-log-slower-than", "1000");
        redis.Checked("SLOWLOG", "RESET");
        redis.Checked("CONFIG", "RESETSTAT");
        Log.Info($"scale: {label}: watching the proxy's own commands for {seconds} s");
        Thread.Sleep(seconds * 1000);
        var stats = (string)redis.Checked("INFO", "commandstats")!;
        // Entries: id, time, µs, arguments, client, name; a fire transaction's EXEC is the fires' cost, judged apart.
        var slow = ((object?[])redis.Checked("SLOWLOG", "GET", "100")!)
            .Where(e => e is object?[] { Length: > 3 } entry && entry[3] is object?[] { Length: > 0 } words
                        && !string.Equals(words[0] as string, "exec", StringComparison.OrdinalIgnoreCase))
            .ToArray();
        var commands = new List<(string Command, long Calls, double UsecPerCall)>();
        foreach (var line in stats.Split("\r\n"))
        {
            // cmdstat_zrangebyscore:calls=12,usec=340,usec_per_call=28.33,rejected_calls=0,failed_calls=0
            if (!line.StartsWith("cmdstat_", StringComparison.Ordinal)) continue;
            var name = line["cmdstat_".Length..line.IndexOf(':')];
            if (name is "info" or "config|resetstat" or "config|set" or "slowlog|reset") continue;
            var fields = line[(line.IndexOf(':') + 1)..].Split(',').Select(f => f.Split('=')).ToDictionary(f => f[0], f => f[1]);
            commands.Add((name, long.Parse(fields["calls"], CultureInfo.InvariantCulture), double.Parse(fields["usec_per_call"], CultureInfo.InvariantCulture)));
        }
        commands.Sort((a, b) => b.UsecPerCall.CompareTo(a.UsecPerCall));
        string List(IEnumerable<(string Command, long Calls, double UsecPerCall)> list) =>
            string.Join(", ", list.Select(w => $"{w.Command} {w.UsecPerCall:F1} µs × {w.Calls}"));
        var fire = commands.Where(c => c.Command is "exec" or "multi" or "watch" or "fcall").ToList();
        var own = commands.Except(fire).ToList();
        Log.Info($"scale: {label}: reconciliation and lease: {List(own)}; fires: {List(fire)}; slow log (≥ 1 ms): {slow.Length}");
        row($"{label}: fire transactions (LOOP timers), µs per call", List(fire), "", null);
        row($"{label}: every other command of the proxy (reconciliation, lease, clock), µs per call", List(own), "", null);
        var max = own.Count > 0 ? own[0].UsecPerCall : 0;
        row($"{label}: slowest of those / their slow-log entries (≥ 1 ms)", $"{max:F1} µs / {slow.Length}", "< 1 ms / 0", max < 1000 && slow.Length == 0);
        if (writeTo is not null)
            File.WriteAllLines(writeTo, own.Select(c => $"{c.Command} {c.UsecPerCall.ToString(CultureInfo.InvariantCulture)}"));
        if (baseline is null) return;
        var before = File.ReadAllLines(baseline).Select(l => l.Split(' ')).ToDictionary(p => p[0], p => double.Parse(p[1], CultureInfo.InvariantCulture));
        // Calls that cost a few µs are noise-bound (a cache miss more or less); a walk over every timer is not.
        var compared = own.Where(c => before.ContainsKey(c.Command)).Select(c => (c.Command, Ratio: c.UsecPerCall / Math.Max(before[c.Command], 10))).ToList();
        var worst = compared.OrderByDescending(c => c.Ratio).FirstOrDefault();
        row($"{label}: cost per call against the first count, per command", string.Join(", ", compared.Select(c => $"{c.Command} {c.Ratio:F2}×")),
            "each ≤ 3× (a walk over every timer grows with their count)", worst.Command is null || worst.Ratio <= 3);
    }

    /// <summary>
    /// One-shot timers due <paramref name="firstMs"/>..<paramref name="lastMs"/> from now, written straight to Redis with
    /// the proxy's library (no proxy runs meanwhile), each firing bench_lat with its intended due time. Prints the Redis
    /// clock (µs) at the start on stdout.
    /// </summary>
    private static void NearCreate(string redisEndpoint, int count, int firstMs, int lastMs)
    {
        using var redis = RespConnection.Connect(redisEndpoint);
        redis.Checked("DEL", "bm:lat");
        const int batch = 100;
        var started = Target.ServerMicros(redis);
        for (var i = 0; i < count; i += batch)
        {
            var now = Target.ServerMicros(redis);
            var end = Math.Min(count, i + batch);
            for (var k = i; k < end; k++)
            {
                // Due relative to the start, so that the spread holds however long creating takes; the interval the
                // library counts from its own clock, a little after `now`: the intended due time can only be early.
                var dueUs = started + (firstMs + (long)(lastMs - firstMs) * k / count) * 1000;
                var ivMs = Math.Max(1, (dueUs - now) / 1000);
                redis.Write("FCALL", "timer_new", "2", $"bm:near:{k}", IndexKey, "0", "bench_lat",
                    ivMs.ToString(CultureInfo.InvariantCulture), "0", (now + ivMs * 1000).ToString(CultureInfo.InvariantCulture));
            }
            redis.Flush();
            for (var k = i; k < end; k++)
                if (redis.Read() is not 1L and var reply) throw new InvalidOperationException($"FCALL timer_new bm:near:{k} -> {Target.Describe(reply)}");
        }
        var done = Target.ServerMicros(redis);
        redis.Checked("CONFIG", "SET", "slowlog-log-slower-than", "1000");
        redis.Checked("SLOWLOG", "RESET");
        Log.Info($"scale: {Count(count)} near timers due {firstMs}..{lastMs} ms after creation began, created in {(done - started) / 1000.0:F0} ms");
        Console.WriteLine(started.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>Waits for the near timers (a fresh proxy was started right after near-create) and reports their lateness.</summary>
    private static void NearReport(string redisEndpoint, int count, Action<string, string, string, bool?> row)
    {
        using var redis = RespConnection.Connect(redisEndpoint);
        long fired = 0;
        var deadline = Target.ServerMicros(redis) + 30_000_000;
        while (Target.ServerMicros(redis) < deadline)
        {
            fired = (long)redis.Checked("LLEN", "bm:lat")!;
            if (fired >= count) break;
            Thread.Sleep(50);
        }
        // In fire order (bench_lat pushes to the tail): the first ones show what a proxy just started adds.
        var inOrder = ((object?[])redis.Checked("LRANGE", "bm:lat", "0", "-1")!).Select(v => long.Parse((string)v!) / 1e3).ToArray();
        var late = inOrder.Order().ToArray();
        row("near timers fired (once each: one-shot keys are deleted when they fire)", $"{Count(fired)} of {Count(count)}", $"{Count(count)}", fired == count);
        if (late.Length == 0) return;
        double Pct(double p) => late[Math.Clamp((int)Math.Ceiling(p * late.Length) - 1, 0, late.Length - 1)];
        Log.Info($"scale: near timers lateness ms: p50 {Pct(0.5):F2} p99 {Pct(0.99):F2} max {late[^1]:F2}");
        row("near timers lateness (fire − due): p50 / p99", $"{Ms(Pct(0.5))} / {Ms(Pct(0.99))}", "p99 ≤ 100 ms", Pct(0.99) <= 100);
        row("near timers lateness: max", Ms(late[^1]), "", null);
        var first = Math.Max(1, inOrder.Length / 20);
        var rest = inOrder.Skip(first).Order().ToArray();
        row($"near timers lateness: the first {Count(first)} fired, max / the others, p99",
            $"{Ms(inOrder.Take(first).Max())} / {(rest.Length > 0 ? Ms(rest[Math.Clamp((int)Math.Ceiling(0.99 * rest.Length) - 1, 0, rest.Length - 1)]) : "-")}", "", null);
        // What Redis spent a millisecond or more on meanwhile (the log was reset when the near timers were written).
        var slow = ((object?[])redis.Checked("SLOWLOG", "GET", "20")!).OfType<object?[]>()
            .Select(e => $"{(e[3] is object?[] { Length: > 0 } words ? words[0] : "?")} {(long)e[2]! / 1000.0:F1} ms").ToArray();
        row("Redis's slow log while they fired (≥ 1 ms)", slow.Length == 0 ? "none" : string.Join(", ", slow), "", null);
        var left = (long)redis.Checked("EXISTS", "bm:near:0", $"bm:near:{count / 2}", $"bm:near:{count - 1}")!;
        if (left != 0) row("near timer keys left after firing", Count(left), "0", false);
        redis.Checked("DEL", "bm:lat");
    }
}
