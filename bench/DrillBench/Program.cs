using System.Globalization;
using System.Runtime.InteropServices;
using RedisTimer.Bench;
using RedisTimer.Bench.Drills;

// The client side of bench/drills.sh, one step per call; the script owns the redis-server and proxy processes and
// does the kills and restarts in between. Endpoints are host:port, times µs on the machine's clock (Redis's TIME).
const string Usage = """
    DrillBench load      --redis E
    DrillBench activate  --via E1,E2,..                      a far timer through each proxy (starts its scheduler)
    DrillBench schedule  --redis E --via E1,.. --prefix P --count N --span-ms S --lead-ms L --out FILE
                                                             prints the first and last due time
    DrillBench leader    --redis E [--not PID] [--timeout-s T]   prints the lease holder's pid (a living one: not PID)
    DrillBench takeover  --redis E --dead PID [--timeout-s T]    waits until another proxy fired and holds the lease; prints its pid
    DrillBench writer    --via E1,.. --key K --log FILE       writes until SIGTERM
    DrillBench ready     --redis E [--timeout-s T]            waits until Redis answers PING; prints when
    DrillBench persisted --redis E --prefix P --out FILE      the timers Redis holds (indexed or fired), read atomically
    DrillBench wait-fired --redis E --ids FILE [--timeout-s T]
    DrillBench report-leader  --redis E --timers FILE --span-ms S --proxies N --lease-ms L --kill SENT,EXITED
                              --victim-log FILE (per kill) --bystander-log FILE --bystander-killed 0|1
    DrillBench report-restart --redis E --kind K --timers FILE --late FILE --persisted FILE --killed-us U --ready-us U --writer-log FILE
    """;

if (args.Length == 0) return Fail("no command");
var options = Options.Parse(args.Skip(1));
try
{
    switch (args[0])
    {
        case "load":
        {
            using var redis = RespConnection.Connect(options.One("redis"));
            DrillRedis.LoadLibrary(redis);
            return 0;
        }
        case "activate":
            DrillTimers.Activate(options.List("via"));
            return 0;
        case "schedule":
        {
            long firstDueUs;
            using (var redis = RespConnection.Connect(options.One("redis")))
                firstDueUs = DrillRedis.TimeUs(redis) + options.Int("lead-ms") * 1000L;
            var timers = DrillTimers.Create(options.One("redis"), options.List("via"), options.One("prefix"), options.Int("count"), firstDueUs,
                options.Int("span-ms"));
            DrillTimers.Save(options.One("out"), timers);
            Console.WriteLine($"{timers.Min(t => t.DueUs)} {timers.Max(t => t.DueUs)}");
            return 0;
        }
        case "leader":
        {
            using var redis = RespConnection.Connect(options.One("redis"));
            int? not = options.Has("not") ? options.Int("not") : null;
            int? pid = null;
            WaitUntil(() => (pid = DrillRedis.LeaderPid(redis)) is not null && pid != not, options.Int("timeout-s", 30), "a proxy holds the lease");
            Console.WriteLine(pid);
            return 0;
        }
        case "takeover":
        {
            using var redis = RespConnection.Connect(options.One("redis"));
            int dead = options.Int("dead");
            // Called once the victim is gone: a fire counted from now on is another proxy's.
            long firedAtStart = DrillRedis.FiredCount(redis);
            int? pid = null;
            WaitUntil(() => DrillRedis.FiredCount(redis) > firedAtStart && (pid = DrillRedis.LeaderPid(redis)) is not null && pid != dead,
                options.Int("timeout-s", 60), "another proxy fired and holds the lease");
            Console.WriteLine(pid);
            return 0;
        }
        case "writer":
        {
            using var stop = new CancellationTokenSource();
            using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
            {
                context.Cancel = true;
                stop.Cancel();
            });
            using var log = new StreamWriter(options.One("log"));
            new Writer(options.List("via"), options.One("key"), log, stop.Token).Run();
            return 0;
        }
        case "ready":
        {
            // Polled closely: the time it prints is when the drill's overdue timers are measured from.
            WaitUntil(() =>
            {
                try
                {
                    using var redis = RespConnection.Connect(options.One("redis"), 1000);
                    return redis.Call("PING") is "PONG";
                }
                catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
                {
                    return false;
                }
            }, options.Int("timeout-s", 60), "Redis answers PING", pollMs: 2);
            Console.WriteLine(DrillRedis.NowUs());
            return 0;
        }
        case "persisted":
        {
            using var redis = RespConnection.Connect(options.One("redis"));
            File.WriteAllLines(options.One("out"), DrillRedis.Persisted(redis, options.One("prefix")));
            return 0;
        }
        case "wait-fired":
        {
            using var redis = RespConnection.Connect(options.One("redis"));
            var ids = File.ReadLines(options.One("ids")).Select(l => l.Split(' ')[0]).Where(l => l.Length > 0).ToList();
            WaitUntil(() =>
            {
                var counts = DrillRedis.FireCounts(redis);
                return ids.All(counts.ContainsKey);
            }, options.Int("timeout-s", 120), $"all {ids.Count} timers fired", pollMs: 200);
            return 0;
        }
        case "report-leader":
            return Reports.LeaderKills(options.One("redis"), DrillTimers.Load(options.One("timers")), options.Int("span-ms"), options.Int("proxies"),
                options.Int("lease-ms"),
                options.All("kill").Select(k => k.Split(',')).Select(k => new Reports.Kill(long.Parse(k[0], CultureInfo.InvariantCulture), long.Parse(k[1], CultureInfo.InvariantCulture))).ToList(),
                options.All("victim-log"), options.One("bystander-log"), options.Int("bystander-killed") == 1);
        case "report-restart":
            return Reports.RedisRestart(options.One("redis"), options.One("kind"), DrillTimers.Load(options.One("timers")), DrillTimers.Load(options.One("late")),
                File.ReadLines(options.One("persisted")).Where(l => l.Length > 0).ToHashSet(), options.Long("killed-us"), options.Long("ready-us"),
                options.One("writer-log"));
        default:
            return Fail($"unknown command {args[0]}");
    }
}
catch (Exception e)
{
    // One line for what the script's log shows; a bug of the driver's own shows its stack too.
    Console.Error.WriteLine(e is TimeoutException or InvalidOperationException or IOException or System.Net.Sockets.SocketException or ArgumentException
        ? $"DrillBench {args[0]}: {e.Message}"
        : $"DrillBench {args[0]} failed: {e}");
    return 1;
}

int Fail(string why)
{
    Console.Error.WriteLine($"{why}\n{Usage}");
    return 2;
}

static void WaitUntil(Func<bool> condition, int timeoutS, string what, int pollMs = 10)
{
    var deadline = DateTime.UtcNow.AddSeconds(timeoutS);
    while (!condition())
    {
        if (DateTime.UtcNow > deadline) throw new TimeoutException($"not within {timeoutS} s: {what}");
        Thread.Sleep(pollMs);
    }
}

/// <summary><c>--name value</c> pairs; a name may repeat (<see cref="All"/>).</summary>
internal sealed class Options
{
    private readonly List<(string Name, string Value)> _pairs = new();

    public static Options Parse(IEnumerable<string> args)
    {
        var options = new Options();
        using var e = args.GetEnumerator();
        while (e.MoveNext())
        {
            if (!e.Current.StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"expected --name, not {e.Current}");
            string name = e.Current[2..];
            if (!e.MoveNext()) throw new ArgumentException($"--{name} needs a value");
            options._pairs.Add((name, e.Current));
        }
        return options;
    }

    public bool Has(string name) => _pairs.Any(p => p.Name == name);
    public List<string> All(string name) => _pairs.Where(p => p.Name == name).Select(p => p.Value).ToList();
    public string One(string name) => All(name) is [var v] ? v : throw new ArgumentException($"--{name} is needed once");
    public List<string> List(string name) => One(name).Split(',', StringSplitOptions.RemoveEmptyEntries).ToList();
    public int Int(string name, int? fallback = null) => Has(name) || fallback is null ? int.Parse(One(name), CultureInfo.InvariantCulture) : fallback.Value;
    public long Long(string name) => long.Parse(One(name), CultureInfo.InvariantCulture);
}
