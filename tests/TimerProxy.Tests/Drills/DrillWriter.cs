using System.Globalization;
using System.Net.Sockets;
using RedisTimer.Proxy.Tests.Infrastructure;

namespace RedisTimer.Proxy.Tests.Drills;

/// <summary>
/// An application writing through the proxy during an outage: one command at a time; after an error it waits a
/// moment and goes on, reconnecting when the connection is gone, and moving to the next endpoint when a connect
/// fails, as a client with a list of proxies would. Each write is <c>SET key seq GET</c>, so every reply says which
/// write came before it and a wrong reply cannot pass for a right one: it must be the last acknowledged value, or
/// one whose reply was lost with its connection (Redis may have applied it), or, when Redis may have lost writes
/// (a restart from disk), an older one.
/// </summary>
internal sealed class DrillWriter : IAsyncDisposable
{
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Pace = TimeSpan.FromMilliseconds(5), RetryAfter = TimeSpan.FromMilliseconds(20);

    private readonly string _key;
    private readonly IReadOnlyList<int> _ports;
    private readonly bool _redisMayLoseWrites;
    private readonly CancellationTokenSource _stop = new();
    private readonly object _sync = new();
    private readonly List<long> _successUs = new();
    private readonly List<WriterError> _errors = new();
    private readonly List<string> _wrongReplies = new();
    private int _rollbacks;
    private Task? _running;

    public sealed record WriterError(long AtUs, int Port, string Text);

    /// <param name="ports">The proxies it may use, the first one first.</param>
    /// <param name="redisMayLoseWrites">Redis restarts from disk meanwhile: an acknowledged write may come back older.</param>
    public DrillWriter(string key, IReadOnlyList<int> ports, bool redisMayLoseWrites)
    {
        _key = key;
        _ports = ports;
        _redisMayLoseWrites = redisMayLoseWrites;
    }

    public void Start() => _running = Task.Run(RunAsync);

    private async Task RunAsync()
    {
        RawClient? client = null;
        int endpoint = 0;
        long seq = 0, lastAcked = 0;
        var unanswered = new HashSet<long>();
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                int port = _ports[endpoint];
                if (client is null)
                {
                    try
                    {
                        client = await RawClient.ConnectAsync(port);
                    }
                    catch (SocketException e)
                    {
                        Error(port, $"connect failed: {e.SocketErrorCode}");
                        endpoint = (endpoint + 1) % _ports.Count;
                        await Task.Delay(RetryAfter, _stop.Token);
                        continue;
                    }
                }
                long value = ++seq;
                string reply;
                try
                {
                    await client.SendCommandAsync("SET", _key, value, "GET");
                    unanswered.Add(value);
                    reply = await client.ReadReplyAsync(ReplyTimeout);
                }
                catch (Exception e) when (e is EndOfStreamException or IOException or OperationCanceledException && !_stop.IsCancellationRequested)
                {
                    Error(port, e switch
                    {
                        EndOfStreamException => "connection closed",
                        OperationCanceledException => $"no reply within {ReplyTimeout.TotalSeconds:0} s",
                        _ => "connection reset",
                    });
                    client.Dispose();
                    client = null;
                    await Task.Delay(RetryAfter, _stop.Token);
                    continue;
                }
                if (reply.StartsWith('-'))
                {
                    Error(port, reply.TrimEnd());
                    unanswered.Remove(value); // refused, so not applied
                    await Task.Delay(RetryAfter, _stop.Token);
                    continue;
                }
                long? previous = reply switch
                {
                    "$-1\r\n" => null,
                    _ when reply.StartsWith('$') && long.TryParse(reply.AsSpan(reply.IndexOf('\n') + 1).TrimEnd("\r\n"), CultureInfo.InvariantCulture, out long v) => v,
                    _ => -1,
                };
                bool expected = previous is null ? lastAcked == 0 : previous == lastAcked || unanswered.Contains(previous.Value);
                bool older = !expected && (previous is null || (previous >= 0 && previous < lastAcked));
                lock (_sync)
                {
                    if (expected || (older && _redisMayLoseWrites))
                    {
                        if (older) _rollbacks++;
                        _successUs.Add(DrillTimers.NowUs());
                    }
                    else _wrongReplies.Add($"SET {value} GET after {lastAcked} acknowledged: {reply.TrimEnd()}");
                }
                lastAcked = value;
                unanswered.Clear();
                await Task.Delay(Pace, _stop.Token);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested) { }
        finally
        {
            client?.Dispose();
        }
    }

    private void Error(int port, string text)
    {
        lock (_sync) _errors.Add(new WriterError(DrillTimers.NowUs(), port, text));
    }

    public int SuccessesSince(long sinceUs)
    {
        lock (_sync) return _successUs.Count(us => us > sinceUs);
    }

    /// <summary>Waits until <paramref name="count"/> writes succeeded after <paramref name="sinceUs"/>.</summary>
    public Task WaitForSuccessesAsync(int count, long sinceUs, TimeSpan timeout) =>
        TimerFixture.WaitUntilAsync(() => Task.FromResult(SuccessesSince(sinceUs) >= count), timeout,
            $"{count} writes on {_key} succeeded after the outage; errors: {string.Join("; ", Summary().Errors.TakeLast(5).Select(e => e.Text))}");

    /// <summary>What the writer saw so far.</summary>
    public Report Summary()
    {
        lock (_sync)
        {
            long gap = 0, gapFrom = 0;
            for (int i = 1; i < _successUs.Count; i++)
            {
                if (_successUs[i] - _successUs[i - 1] <= gap) continue;
                gap = _successUs[i] - _successUs[i - 1];
                gapFrom = _successUs[i - 1];
            }
            return new Report(_successUs.Count, [.. _errors], [.. _wrongReplies], _rollbacks, gap / 1000.0, gapFrom);
        }
    }

    /// <param name="LongestGapMs">The longest time between two successful writes.</param>
    /// <param name="Rollbacks">Replies showing Redis had lost acknowledged writes (allowed only across a restart from disk).</param>
    public sealed record Report(int Successes, IReadOnlyList<WriterError> Errors, IReadOnlyList<string> WrongReplies, int Rollbacks,
        double LongestGapMs, long LongestGapFromUs)
    {
        /// <summary>The distinct error texts, with how often each came.</summary>
        public string ErrorTexts => string.Join("; ", Errors.GroupBy(e => e.Text).Select(g => $"{g.Key} (x{g.Count()})"));

        public override string ToString() =>
            $"{Successes} writes, longest gap {LongestGapMs:0} ms, {Rollbacks} rolled back, {WrongReplies.Count} wrong replies, errors: {(Errors.Count == 0 ? "none" : ErrorTexts)}";
    }

    /// <summary>
    /// An error a client can act on: the proxy's connection closed or refused, the proxy's own
    /// <c>-ERR upstream host:port unavailable: reason</c>, or Redis's <c>-LOADING</c>. A timeout (a hang) is not.
    /// </summary>
    public static bool IsClear(string text, string redisEndpoint) =>
        text is "connection closed" or "connection reset" or "connect failed: ConnectionRefused"
        || (text.StartsWith($"-ERR upstream {redisEndpoint} unavailable: ", StringComparison.Ordinal) && text.Length > $"-ERR upstream {redisEndpoint} unavailable: ".Length)
        || text.StartsWith("-LOADING ", StringComparison.Ordinal);

    public async Task<Report> StopAsync()
    {
        _stop.Cancel();
        if (_running is not null) await _running;
        return Summary();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }
}
