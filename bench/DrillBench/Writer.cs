using System.Globalization;
using System.Net.Sockets;

namespace RedisTimer.Bench.Drills;

/// <summary>
/// An application writing through the proxy during an outage, as in the tests' DrillWriter: one command at a time;
/// after an error it waits a moment and goes on, reconnecting when the connection is gone and moving to the next
/// proxy when a connect fails. Each write is <c>SET key seq GET</c>, so each reply says which write came before it:
/// the last acknowledged one, or one whose reply was lost with its connection; an older one only when Redis lost
/// acknowledged writes (a restart from disk), logged as a rollback. Runs until SIGTERM; every event is a line of
/// its log (times in µs, the machine's clock, which is Redis's):
/// <c>S us</c> a write succeeded, <c>R us</c> it showed a rollback, <c>E us host:port text</c> an error, <c>W us text</c> a wrong
/// (or unreadable) reply.
/// </summary>
internal sealed class Writer(IReadOnlyList<string> endpoints, string key, TextWriter log, CancellationToken stop)
{
    public const int ReplyTimeoutMs = 10_000;
    private static readonly TimeSpan Pace = TimeSpan.FromMilliseconds(2), RetryAfter = TimeSpan.FromMilliseconds(20);

    public void Run()
    {
        RespConnection? connection = null;
        int endpoint = 0;
        long seq = 0, lastAcked = 0;
        var unanswered = new HashSet<long>();
        while (!stop.IsCancellationRequested)
        {
            string target = endpoints[endpoint];
            if (connection is null)
            {
                try
                {
                    connection = RespConnection.Connect(target, ReplyTimeoutMs);
                }
                catch (SocketException e)
                {
                    Error(target, $"connect failed: {e.SocketErrorCode}");
                    endpoint = (endpoint + 1) % endpoints.Count;
                    stop.WaitHandle.WaitOne(RetryAfter);
                    continue;
                }
            }
            long value = ++seq;
            object? reply;
            try
            {
                connection.Write("SET", key, value.ToString(CultureInfo.InvariantCulture), "GET");
                connection.Flush();
                unanswered.Add(value);
                reply = connection.Read();
            }
            catch (Exception e) when (e is not (IOException or SocketException))
            {
                // Not a connection's end: a reply the client could not read (RespConnection's framing). A wrong reply.
                log.WriteLine($"W {DrillRedis.NowUs()} SET {value} GET via {target}: unreadable reply: {e.GetType().Name}: {e.Message.ReplaceLineEndings(" ")}");
                Console.Error.WriteLine($"unreadable reply via {target}: {e}");
                connection.Dispose();
                connection = null;
                stop.WaitHandle.WaitOne(RetryAfter);
                continue;
            }
            catch (Exception e) when (e is IOException or SocketException)
            {
                Error(target, e switch
                {
                    SocketException { SocketErrorCode: SocketError.TimedOut } => $"no reply within {ReplyTimeoutMs / 1000} s",
                    SocketException { SocketErrorCode: SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown } => "connection reset",
                    SocketException s => $"socket error {s.SocketErrorCode}",
                    _ => "connection closed",
                });
                connection.Dispose();
                connection = null;
                stop.WaitHandle.WaitOne(RetryAfter);
                continue;
            }
            if (reply is RespError error)
            {
                Error(target, "-" + error.Message);
                unanswered.Remove(value); // refused, so not applied
                stop.WaitHandle.WaitOne(RetryAfter);
                continue;
            }
            long? previous = reply switch
            {
                null => null,
                string s when long.TryParse(s, CultureInfo.InvariantCulture, out long v) => v,
                _ => -1,
            };
            bool expected = previous is null ? lastAcked == 0 : previous == lastAcked || unanswered.Contains(previous.Value);
            bool older = !expected && (previous is null || (previous >= 0 && previous < lastAcked));
            long now = DrillRedis.NowUs();
            if (expected) log.WriteLine($"S {now}");
            else if (older) log.WriteLine($"R {now}");
            else log.WriteLine($"W {now} SET {value} GET after {lastAcked} acknowledged: {reply}");
            lastAcked = value;
            unanswered.Clear();
            stop.WaitHandle.WaitOne(Pace);
        }
        connection?.Dispose();
    }

    private void Error(string endpoint, string text) => log.WriteLine($"E {DrillRedis.NowUs()} {endpoint} {text.ReplaceLineEndings(" ")}");
}

/// <summary>A writer's log read back, and what it says about one outage.</summary>
internal sealed class WriterLog
{
    public sealed record Event(char Kind, long Us, string Endpoint, string Text);

    public List<Event> Events { get; } = new();

    public static WriterLog Read(string path)
    {
        var log = new WriterLog();
        foreach (var line in File.ReadLines(path))
        {
            var parts = line.Split(' ', 4);
            if (parts.Length < 2) continue;
            if (!long.TryParse(parts[1], CultureInfo.InvariantCulture, out long us))
                throw new InvalidDataException($"{path}: unreadable line '{line}'");
            log.Events.Add(parts[0][0] switch
            {
                'E' => new Event('E', us, parts[2], parts.Length > 3 ? parts[3] : ""),
                'W' => new Event('W', us, "", string.Join(' ', parts.Skip(2))),
                var k => new Event(k, us, "", ""),
            });
        }
        return log;
    }

    private IEnumerable<long> Writes => Events.Where(e => e.Kind is 'S' or 'R').Select(e => e.Us);

    public int WritesAfter(long us) => Writes.Count(w => w > us);

    /// <summary>
    /// The longest time without a successful write that ended after <paramref name="us"/>: the outage's gap (a write
    /// can still succeed just after the kill was sent, before the process is gone).
    /// </summary>
    public double LongestGapEndingAfterMs(long us)
    {
        long previous = 0, longest = 0;
        foreach (long w in Writes)
        {
            if (previous != 0 && w > us) longest = Math.Max(longest, w - previous);
            previous = w;
        }
        return longest == 0 ? double.NaN : longest / 1000.0;
    }

    public double LongestGapMs
    {
        get
        {
            long previous = 0, longest = 0;
            foreach (long w in Writes)
            {
                if (previous != 0) longest = Math.Max(longest, w - previous);
                previous = w;
            }
            return longest / 1000.0;
        }
    }

    public IEnumerable<Event> Errors => Events.Where(e => e.Kind == 'E');
    public IEnumerable<Event> WrongReplies => Events.Where(e => e.Kind == 'W');
    public int Rollbacks => Events.Count(e => e.Kind == 'R');

    /// <summary>Distinct error texts with their counts, in the order first seen.</summary>
    public string ErrorTexts() => Errors.Any()
        ? string.Join("; ", Errors.GroupBy(e => e.Text).Select(g => $"`{g.Key}` ×{g.Count()}"))
        : "none";

    /// <summary>
    /// An error a client can act on: the proxy's connection closed or refused, the proxy's own
    /// <c>-ERR upstream host:port unavailable: reason</c>, or Redis's <c>-LOADING</c>. A timeout (a hang) is not.
    /// </summary>
    public static bool IsClear(string text, string redisEndpoint) =>
        text is "connection closed" or "connection reset" or "connect failed: ConnectionRefused"
        || (text.StartsWith($"-ERR upstream {redisEndpoint} unavailable: ", StringComparison.Ordinal) && text.Length > $"-ERR upstream {redisEndpoint} unavailable: ".Length)
        || text.StartsWith("-LOADING ", StringComparison.Ordinal);

    public List<string> UnclearErrors(string redisEndpoint) => Errors.Where(e => !IsClear(e.Text, redisEndpoint)).Select(e => e.Text).Distinct().ToList();
}
