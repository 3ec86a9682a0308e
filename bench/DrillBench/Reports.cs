using System.Globalization;

namespace RedisTimer.Bench.Drills;

/// <summary>
/// The Markdown tables bench/drills.sh prints, read from what Redis holds after a drill and from the writers' logs.
/// Each report also says whether the drill held: a missed or duplicated timer, a fire of a timer Redis had lost, an
/// unclear error or a wrong reply makes it fail (the table is printed all the same).
/// </summary>
internal sealed class Report
{
    private readonly List<string> _rows = ["| figure | value | target | met |", "|---|---:|---|---|"];
    public List<string> Failures { get; } = new();

    public void Row(string figure, string value, string target = "", bool? met = null) =>
        _rows.Add($"| {figure} | {value} | {target} | {(met is null ? "" : met.Value ? "yes" : "**no**")} |");

    public void Check(bool ok, string failure)
    {
        if (!ok) Failures.Add(failure);
    }

    public int Print(string title)
    {
        Console.WriteLine($"### {title}");
        Console.WriteLine();
        foreach (var row in _rows) Console.WriteLine(row);
        Console.WriteLine();
        foreach (var failure in Failures) Console.WriteLine($"- **failed**: {failure}");
        if (Failures.Count > 0) Console.WriteLine();
        return Failures.Count == 0 ? 0 : 1;
    }

    public static string Ms(double ms) => double.IsNaN(ms) ? "n/a" : ms.ToString("0", CultureInfo.InvariantCulture);

    /// <summary>Fired once / missed / duplicated among <paramref name="expected"/>, as a row, checked.</summary>
    public void Tally(string figure, IEnumerable<string> expected, IReadOnlyDictionary<string, long> counts)
    {
        int once = 0, missed = 0, duplicated = 0;
        foreach (var id in expected)
        {
            long n = counts.GetValueOrDefault(id);
            if (n == 0) missed++;
            else if (n == 1) once++;
            else duplicated++;
        }
        Row(figure, $"{once} / {missed} / {duplicated}", "0 missed, 0 duplicated", missed == 0 && duplicated == 0);
        Check(missed == 0, $"{missed} timers never fired");
        Check(duplicated == 0, $"{duplicated} timers fired more than once");
    }

    /// <summary>A writer across an outage at <paramref name="outageUs"/>: its gap, errors, and writes after it, checked.</summary>
    public void WriterRow(string who, WriterLog log, long outageUs, string redisEndpoint, bool expectErrors, bool redisMayLoseWrites)
    {
        if (!redisMayLoseWrites) Check(log.Rollbacks == 0, $"{who}: {log.Rollbacks} replies showed acknowledged writes lost, with Redis up all along");
        int after = log.WritesAfter(outageUs);
        Row($"{who}: longest gap without a write / writes after", $"{Ms(log.LongestGapEndingAfterMs(outageUs))} ms / {after}");
        Row($"{who}: errors seen", log.ErrorTexts(), "clear (closed, refused, `-ERR upstream ... unavailable`, `-LOADING`)",
            log.UnclearErrors(redisEndpoint).Count == 0);
        Check(after > 100, $"{who}: only {after} writes after the outage");
        Check(log.UnclearErrors(redisEndpoint).Count == 0, $"{who}: unclear errors: {string.Join("; ", log.UnclearErrors(redisEndpoint))}");
        Check(!log.WrongReplies.Any(), $"{who}: wrong replies: {string.Join("; ", log.WrongReplies.Take(5).Select(e => e.Text))}");
        if (expectErrors) Check(log.Errors.Any(), $"{who}: saw no error, so it was not where the outage was");
    }

    public static double Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p / 100 * sorted.Count) - 1)];
}

internal static class Reports
{
    public sealed record Kill(long SentUs, long ExitedUs);

    /// <summary>Drill (a): three proxies, the leader killed twice while the timers fire.</summary>
    public static int LeaderKills(string redisEndpoint, List<Scheduled> timers, int spanMs, int proxies, int leaseMs, List<Kill> kills,
        List<string> victimLogs, string bystanderLog, bool bystanderProxyKilled)
    {
        using var redis = RespConnection.Connect(redisEndpoint);
        var counts = DrillRedis.FireCounts(redis);
        var firedAt = DrillRedis.FiredAt(redis);
        var report = new Report();
        report.Row("timers", $"{timers.Count} one-shot, due over {spanMs / 1000.0:0.#} s, created through {proxies} proxies");
        report.Tally("fired exactly once / missed / duplicated", timers.Select(t => t.Id), counts);
        var mine = timers.Where(t => firedAt.ContainsKey(t.Id)).ToList();
        for (int k = 0; k < kills.Count; k++)
        {
            // A dead proxy fires nothing: the first fire after the victim was gone is another proxy's.
            var after = mine.Select(t => firedAt[t.Id]).Where(us => us > kills[k].ExitedUs).DefaultIfEmpty(long.MaxValue).Min();
            double takeoverMs = after == long.MaxValue ? double.NaN : (after - kills[k].SentUs) / 1000.0;
            report.Row($"kill {k + 1} of the leader (SIGKILL): first fire by another proxy after", $"{Report.Ms(takeoverMs)} ms",
                $"≤ lease + 1 s = {leaseMs + 1000} ms", takeoverMs <= leaseMs + 1000);
            report.Check(!double.IsNaN(takeoverMs), $"no fire after kill {k + 1}");
        }
        var lateness = mine.Select(t => (firedAt[t.Id] - t.DueUs) / 1000.0).Order().ToList();
        report.Row("fire lateness p50 / p99 / max", $"{Report.Ms(Report.Percentile(lateness, 50))} / {Report.Ms(Report.Percentile(lateness, 99))} / {Report.Ms(lateness.LastOrDefault(double.NaN))} ms");
        for (int k = 0; k < kills.Count; k++)
            report.WriterRow($"client of the leader killed {(k == 0 ? "first" : "second")}", WriterLog.Read(victimLogs[k]), kills[k].SentUs, redisEndpoint, expectErrors: true,
                redisMayLoseWrites: false);
        var bystander = WriterLog.Read(bystanderLog);
        string who = bystanderProxyKilled ? "client of another proxy (killed second)" : "client of a surviving proxy";
        report.Row($"{who}: longest gap without a write, whole drill", $"{Report.Ms(bystander.LongestGapMs)} ms");
        report.Row($"{who}: errors seen", bystander.ErrorTexts(), bystanderProxyKilled ? "clear" : "none",
            bystanderProxyKilled ? bystander.UnclearErrors(redisEndpoint).Count == 0 : !bystander.Errors.Any());
        report.Check(!bystander.WrongReplies.Any() && bystander.Rollbacks == 0, "the other client had wrong replies");
        report.Check(bystander.UnclearErrors(redisEndpoint).Count == 0, "the other client had unclear errors");
        return report.Print($"Drill (a): {proxies} proxies, the fire lease's holder killed twice while timers fire (Timers:LeaseMs {leaseMs})");
    }

    /// <summary>Drill (b): Redis killed while timers fire and restarted from its AOF or RDB.</summary>
    public static int RedisRestart(string redisEndpoint, string kind, List<Scheduled> timers, List<Scheduled> late, HashSet<string> persisted,
        long killedUs, long readyUs, string writerLog)
    {
        using var redis = RespConnection.Connect(redisEndpoint);
        var counts = DrillRedis.FireCounts(redis);
        var firedAt = DrillRedis.FiredAt(redis);
        var report = new Report();
        var all = timers.Concat(late).ToList();
        bool rdb = kind.StartsWith("RDB", StringComparison.Ordinal);
        report.Row("timers", $"{timers.Count} due over the run + {late.Count} made {(rdb ? "after the save" : "shortly before the kill")}, due after the restart");
        report.Row("persisted (read from Redis right after the restart)", $"{timers.Count(t => persisted.Contains(t.Id))} + {late.Count(t => persisted.Contains(t.Id))}",
            rdb ? "the first group; none of the second" : "AOF everysec: all but up to ~1 s of writes");
        report.Tally("persisted timers fired exactly once / missed / duplicated", persisted, counts);
        int ghosts = all.Count(t => !persisted.Contains(t.Id) && counts.ContainsKey(t.Id));
        report.Row("timers Redis lost that fired anyway", ghosts.ToString(CultureInfo.InvariantCulture), "0", ghosts == 0);
        report.Check(ghosts == 0, $"{ghosts} timers that Redis had lost fired");
        report.Row("Redis down: SIGKILL until it answered again", $"{Report.Ms((readyUs - killedUs) / 1000.0)} ms");
        // Due while Redis was down: the proxy held them, to fire as soon as it is back.
        var dueMeanwhile = timers.Where(t => t.DueUs > killedUs && t.DueUs < readyUs).Select(t => (firedAt[t.Id] - readyUs) / 1000.0).Order().ToList();
        report.Row("due while Redis was down: timers / first / last fired after Redis answered",
            $"{dueMeanwhile.Count} / {Report.Ms(dueMeanwhile.FirstOrDefault(double.NaN))} / {Report.Ms(dueMeanwhile.LastOrDefault(double.NaN))} ms", "at once");
        report.Check(dueMeanwhile.Count > 0, "no timer fell due while Redis was down: the drill proved nothing");
        // Due before the kill and fired after it: a fire Redis lost with what it had not persisted (the proxy had fired
        // the timer and let it go; it is found again in the index), or due just as Redis died.
        var refired = timers.Where(t => t.DueUs <= killedUs && firedAt.TryGetValue(t.Id, out long f) && f > killedUs)
            .Select(t => (firedAt[t.Id] - readyUs) / 1000.0).Order().ToList();
        report.Row("due before the kill, fired after it (a fire Redis lost): timers / first / last fired after Redis answered",
            $"{refired.Count} / {Report.Ms(refired.FirstOrDefault(double.NaN))} / {Report.Ms(refired.LastOrDefault(double.NaN))} ms");
        var writer = WriterLog.Read(writerLog);
        report.WriterRow("client through the proxy", writer, killedUs, redisEndpoint, expectErrors: true, redisMayLoseWrites: true);
        report.Row("client through the proxy: acknowledged writes Redis lost (rollbacks seen)", writer.Rollbacks.ToString(CultureInfo.InvariantCulture));
        return report.Print($"Drill (b): Redis killed with SIGKILL while timers fire, restarted from {kind}");
    }
}
