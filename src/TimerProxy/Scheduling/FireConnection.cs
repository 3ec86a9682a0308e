using System.Buffers;
using System.Runtime.CompilerServices;
using System.Globalization;
using System.Buffers.Text;
using System.IO.Pipelines;
using System.Text;
using RedisTimer.Proxy.Timers;
using RedisTimer.Proxy.Upstream;
using RedisTimer.Resp;
using StackExchange.Redis;

namespace RedisTimer.Proxy.Scheduling;

/// <summary>What became of one timer handed to <see cref="FireConnection.FireAsync"/>.</summary>
public enum FireResult : byte { Fired, FiredWithFunctionError, Stale }

/// <summary>
/// The scheduler's own connection for firing, speaking RESP directly so that a batch costs two round trips
/// and never blocks a thread: (1) WATCH the ids and read their versions; (2) for the timers still in the
/// version the scheduler loaded, MULTI / the claim (DEL+ZREM, or the LOOP re-arm) / FCALL user function / EXEC. A timer changed
/// before the WATCH fails the version check and is left out; one changed after it makes EXEC abort and
/// the batch is checked again. So a reset, kill or another proxy's fire is never followed by a fire of
/// the old definition.
/// </summary>
public sealed class FireConnection(UpstreamConnector connector) : IAsyncDisposable
{
    private UpstreamLink? _link;
    private int _db = -1;

    /// <summary>For a re-armed LOOP timer, its new version and due time.</summary>
    public sealed record Outcome(FireResult Result, string? Version, double DueMs, string? FunctionError)
    {
        public static readonly Outcome Stale = new(FireResult.Stale, null, 0, null);
    }

    // As the library's EVENT_HORIZON_MS: re-arms further ahead are found by reconciliation.
    private const double EventHorizonMs = 10000;

    /// <param name="nowMs">The Redis server's time as the scheduler knows it: a LOOP timer's next due time is counted from it.</param>
    // Pooled: a fire awaits the network several times, and each await would otherwise box a state machine.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<Outcome[]> FireAsync(int db, IReadOnlyList<ScheduledTimer> timers, double nowMs, CancellationToken cancel)
    {
        // A connection that stops answering (a peer gone without a reset) must not stall firing for minutes.
        // One timeout source serves fire after fire (reset when a fire completes), not one per fire.
        if (_timeout is null || _timeoutLinkedTo != cancel)
        {
            _timeout?.Dispose();
            _timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            _timeoutLinkedTo = cancel;
        }
        var timeout = _timeout;
        timeout.CancelAfter(RoundTripTimeout);
        try
        {
            var outcomes = await FireCoreAsync(db, timers, nowMs, timeout.Token);
            if (!timeout.TryReset()) DropTimeout();
            return outcomes;
        }
        catch (OperationCanceledException) when (!cancel.IsCancellationRequested)
        {
            DropTimeout();
            await ResetAsync();
            throw new TimeoutException("the fire connection did not answer in time");
        }
        catch (RedisServerException)
        {
            // A refusal read whole (the check, or EXEC): the connection is in a known state and is kept.
            DropTimeout();
            throw;
        }
        catch
        {
            // The connection's state is unknown now: start afresh next time. Timers of this batch that did
            // fire have a new version (or are gone), so trying them again cannot fire them twice.
            DropTimeout();
            await ResetAsync();
            throw;
        }
    }

    private CancellationTokenSource? _timeout;
    private CancellationToken _timeoutLinkedTo;

    private void DropTimeout()
    {
        _timeout?.Dispose();
        _timeout = null;
    }

    private static readonly TimeSpan RoundTripTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Connects ahead of the first fire, so that it does not wait for the connection (and its AUTH).
    /// A failure is left for the first fire to meet, and report (at shutdown there is nothing to report).</summary>
    public async Task OpenAsync(CancellationToken cancel)
    {
        try
        {
            _link ??= await connector.ConnectForSchedulerAsync(cancel);
        }
        catch (Exception)
        {
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<Outcome[]> FireCoreAsync(int db, IReadOnlyList<ScheduledTimer> timers, double nowMs, CancellationToken cancel)
    {
        var claimsOf = new int[timers.Count];
        var link = _link ??= await connector.ConnectForSchedulerAsync(cancel);
        if (_db < 0) _db = connector.ConfiguredDatabase;
        var outcomes = new Outcome[timers.Count];
        for (int attempt = 0; ; attempt++)
        {
            var output = link.Output;
            int expected = 0;
            if (db != _db)
            {
                Write(output, "SELECT", db);
                expected++;
            }
            RespWriter.WriteArrayHeader(output, 1 + timers.Count);
            RespWriter.WriteBulkString(output, "WATCH"u8);
            foreach (var t in timers) RespWriter.WriteBulkString(output, (byte[])t.Id!);
            expected++;
            foreach (var t in timers) Command(output, "HGET"u8, (byte[])t.Id!, "ver"u8);
            expected += timers.Count;
            await output.FlushAsync(cancel);
            var replies = await ReadAsync(link.Input, expected, cancel);
            if (db != _db)
            {
                if (replies[0].IsError) await RefusedAsync(link, replies[0], cancel);
                _db = db;
            }
            int first = replies.Length - timers.Count;
            var current = new List<int>();
            for (int i = 0; i < timers.Count; i++)
            {
                var ver = replies[first + i];
                // WRONGTYPE: the key is no timer now. Any other error (LOADING after a restart, BUSY) says
                // nothing about the timer: the batch is tried again.
                if (ver.IsError && !ver.Text.StartsWith("WRONGTYPE", StringComparison.Ordinal)) await RefusedAsync(link, ver, cancel);
                // Decoded as the loaded version was (UTF-8): a version of other bytes, written by hand, must still
                // match itself, or it would be refused, read again and refused without end.
                if (!ver.IsError && ver.Bytes is not null && Encoding.UTF8.GetString(ver.Bytes) == timers[i].Version) current.Add(i);
                else outcomes[i] = Outcome.Stale;
            }
            if (current.Count == 0)
            {
                Command(output, "UNWATCH"u8);
                await output.FlushAsync(cancel);
                await ReadAsync(link.Input, 1, cancel);
                return outcomes;
            }

            // The claim is plain commands, not a library call: it cannot fail while the user's function runs
            // (a missing library would otherwise leave a fired timer in place, to fire again).
            Command(output, "MULTI"u8);
            int queued = 0;
            var rearmed = new (string Version, double DueMs)[timers.Count];
            foreach (int i in current)
            {
                var t = timers[i];
                byte[] id = (byte[])t.Id!;
                if (t.Loop)
                {
                    double dueMs = nowMs + t.IntervalMs;
                    string due = dueMs.ToString("F3", CultureInfo.InvariantCulture);
                    string version = ((long)(nowMs * 1000)).ToString(CultureInfo.InvariantCulture) + "f";
                    if (version == t.Version) version += "f";
                    rearmed[i] = (version, dueMs);
                    Write(output, "HSET", id, "due", due, "ver", version);
                    Write(output, "ZADD", TimerSchema.IndexKey, due, id);
                    queued += 2;
                    if (t.IntervalMs <= EventHorizonMs)
                    {
                        Write(output, "PUBLISH", TimerSchema.EventsChannel, (byte[])[.. Encoding.ASCII.GetBytes($"{db}:{due}:"), .. id]);
                        queued++;
                    }
                }
                else
                {
                    Command(output, "DEL"u8, id);
                    Command(output, "ZREM"u8, IndexKey, id);
                    queued += 2;
                }
                claimsOf[i] = queued;
                WriteUserCall(output, t.Definition);
            }
            Command(output, "EXEC"u8);
            await output.FlushAsync(cancel);
            var exec = await ReadAsync(link.Input, 2 + queued + current.Count, cancel);
            var results = exec[^1];
            if (results.IsError) throw new RedisServerException("EXEC: " + results.Text);
            if (results.Items is null)
            {
                // A watched timer changed between the check and EXEC: check again (bounded, then give up
                // on this batch; the scheduler reloads changed timers from their events).
                if (attempt < 3) continue;
                foreach (int i in current) outcomes[i] = Outcome.Stale;
                return outcomes;
            }
            for (int j = 0; j < current.Count; j++)
            {
                int i = current[j];
                var call = results.Items[claimsOf[i] + j]; // the user's call follows its timer's claim
                var rearm = timers[i].Loop ? rearmed[i] : default;
                outcomes[i] = new Outcome(call.IsError ? FireResult.FiredWithFunctionError : FireResult.Fired,
                    rearm.Version, rearm.DueMs, call.IsError ? call.Text : null);
            }
            return outcomes;
        }
    }

    /// <summary>Redis refused the check: nothing is watched any more, and the connection stays usable.</summary>
    private static async Task RefusedAsync(UpstreamLink link, RespValue error, CancellationToken cancel)
    {
        Command(link.Output, "UNWATCH"u8);
        await link.Output.FlushAsync(cancel);
        await ReadAsync(link.Input, 1, cancel);
        throw new RedisServerException(error.Text);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private static async ValueTask<RespValue[]> ReadAsync(PipeReader input, int count, CancellationToken cancel)
    {
        var values = new RespValue[count];
        int got = 0;
        while (got < count)
        {
            var result = await input.ReadAsync(cancel);
            var reader = new SequenceReader<byte>(result.Buffer);
            while (got < count && RespValue.TryRead(ref reader, out var value)) values[got++] = value;
            input.AdvanceTo(reader.Position, result.Buffer.End);
            if (got < count && result.IsCompleted) throw new IOException("the fire connection was closed");
        }
        return values;
    }

    private static readonly byte[] IndexKey = Encoding.ASCII.GetBytes(TimerSchema.IndexKey);

    // The commands of every fire, written without encoding their constant parts each time.
    private static void Command(PipeWriter output, ReadOnlySpan<byte> name)
    {
        RespWriter.WriteArrayHeader(output, 1);
        RespWriter.WriteBulkString(output, name);
    }

    private static void Command(PipeWriter output, ReadOnlySpan<byte> name, ReadOnlySpan<byte> a)
    {
        RespWriter.WriteArrayHeader(output, 2);
        RespWriter.WriteBulkString(output, name);
        RespWriter.WriteBulkString(output, a);
    }

    private static void Command(PipeWriter output, ReadOnlySpan<byte> name, ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        RespWriter.WriteArrayHeader(output, 3);
        RespWriter.WriteBulkString(output, name);
        RespWriter.WriteBulkString(output, a);
        RespWriter.WriteBulkString(output, b);
    }

    /// <summary>FCALL fn numkeys keys.. args.., straight from the stored definition {fn, iv, loop, numkeys, keys.., args..}
    /// (checked when the timer was loaded).</summary>
    private static void WriteUserCall(PipeWriter output, byte[] definition)
    {
        var def = new MsgPackStrings.Reader(definition);
        RespWriter.WriteArrayHeader(output, (int)def.Count - 1);
        RespWriter.WriteBulkString(output, "FCALL"u8);
        def.TryRead(out var fn);
        def.TryRead(out _);
        def.TryRead(out _);
        RespWriter.WriteBulkString(output, fn);
        while (def.TryRead(out var item)) RespWriter.WriteBulkString(output, item);
    }

    private static void Write(PipeWriter output, params object[] args)
    {
        RespWriter.WriteArrayHeader(output, args.Length);
        foreach (var a in args)
        {
            switch (a)
            {
                case byte[] b: RespWriter.WriteBulkString(output, b); break;
                case string[] texts: foreach (var t in texts) RespWriter.WriteBulkString(output, Encoding.UTF8.GetBytes(t)); break;
                case string s: RespWriter.WriteBulkString(output, Encoding.UTF8.GetBytes(s)); break;
                case int n: RespWriter.WriteBulkString(output, Encoding.ASCII.GetBytes(n.ToString())); break;
                default: throw new ArgumentException($"unsupported argument {a.GetType()}");
            }
        }
    }




    private async Task ResetAsync()
    {
        var link = _link;
        _link = null;
        _db = -1;
        if (link is not null) await link.DisposeAsync();
    }

    // The timeout source is left to the collector, not disposed: a fire still running at shutdown (its stop
    // waited for no longer) would meet a disposed source.
    public ValueTask DisposeAsync() => new(ResetAsync());
}
