using System.Buffers;
using System.Buffers.Text;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Text;
using RedisTimer.Proxy.Timers;
using RedisTimer.Proxy.Upstream;
using RedisTimer.Resp;
using StackExchange.Redis;

namespace RedisTimer.Proxy.Scheduling;

/// <summary>What became of one timer handed to <see cref="FireConnection.FireAsync"/>.</summary>
public enum FireResult : byte { Fired, FiredWithFunctionError, Stale }

/// <summary>One timer's outcome; for a fired LOOP timer, its re-armed form (new version and due time).</summary>
public readonly record struct FireOutcome(FireResult Result, ScheduledTimer Rearmed, string? FunctionError)
{
    public static readonly FireOutcome Stale = new(FireResult.Stale, default, null);
}

/// <summary>
/// The scheduler's own connection for firing, speaking RESP directly so that a batch costs two round trips
/// and never blocks a thread: (1) WATCH the ids and read their versions; (2) for the timers still in the
/// version the scheduler loaded, MULTI / the claim (DEL+ZREM, or the LOOP re-arm) / FCALL user function / EXEC. A timer changed
/// before the WATCH fails the version check and is left out; one changed after it makes EXEC abort and
/// the batch is checked again. So a reset, kill or another proxy's fire is never followed by a fire of
/// the old definition. Replies are read as they arrive, never materialised: of a function's reply only
/// "error or not, and the error's text" is kept, so a batch allocates next to nothing. With <c>--wait-replicas</c>
/// a WAIT follows each EXEC in the same write, and the fire is done when it answers: the next batch starts only
/// once replicas have this one (or the WAIT timed out, see <see cref="LastWaitShortfall"/>).
/// </summary>
public sealed class FireConnection(UpstreamConnector connector, ReplicaWait? wait = null) : IAsyncDisposable
{
    private readonly ReplicaWait _wait = wait ?? ReplicaWait.None;

    private UpstreamLink? _link;
    private RespReplyReader? _replies;
    private int _db = -1;

    // Per batch, reused: a fire runs on one loop at a time.
    private FireOutcome[] _outcomes = [];
    private readonly List<int> _current = new();
    private int[] _claims = [];

    // As the library's EVENT_HORIZON_MS: re-arms further ahead are found by reconciliation.
    private const double EventHorizonMs = 10000;

    /// <param name="nowMs">The Redis server's time as the scheduler knows it: a LOOP timer's next due time is counted from it.</param>
    /// <returns>Each timer's outcome, in order; valid until the next fire.</returns>
    // Pooled: a fire awaits the network several times, and each await would otherwise box a state machine.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<ArraySegment<FireOutcome>> FireAsync(int db, List<ScheduledTimer> timers, double nowMs, CancellationToken cancel)
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
        timeout.CancelAfter(RoundTripTimeout + TimeSpan.FromMilliseconds(2.0 * _wait.TimeoutMs));
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
        catch (Exception e) when (e is RedisServerException or ReplicasBehindException)
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

    /// <summary>After a fire that ran a transaction: null when the WAIT after it was answered by enough replicas
    /// (or none is asked for); else what it answered. The timers have fired on the master either way.</summary>
    public string? LastWaitShortfall { get; private set; }

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
    private async ValueTask<ArraySegment<FireOutcome>> FireCoreAsync(int db, List<ScheduledTimer> timers, double nowMs, CancellationToken cancel)
    {
        var link = _link ??= await connector.ConnectForSchedulerAsync(cancel);
        var replies = _replies ??= new RespReplyReader(link.Input);
        if (_db < 0) _db = connector.ConfiguredDatabase;
        if (_outcomes.Length < timers.Count)
        {
            _outcomes = new FireOutcome[timers.Count];
            _claims = new int[timers.Count];
        }
        var outcomes = new ArraySegment<FireOutcome>(_outcomes, 0, timers.Count);
        var current = _current;
        LastWaitShortfall = null;
        for (int attempt = 0; ; attempt++)
        {
            var output = link.Output;
            bool select = db != _db;
            WriteCheck(output, select ? db : -1, timers, _wait);
            await output.FlushAsync(cancel);

            string? refused = null;
            if (select && await replies.SkipAsync(cancel) is { } selectError) refused = selectError;
            string? behind = _wait.Enabled ? Shortfall(await replies.NextAsync(cancel)) : null;
            await replies.SkipAsync(cancel); // WATCH
            current.Clear();
            for (int i = 0; i < timers.Count; i++)
            {
                var ver = await replies.NextAsync(cancel);
                // WRONGTYPE: the key is no timer now. Any other error (LOADING after a restart, BUSY) says
                // nothing about the timer: the batch is tried again.
                if (ver.IsError && !ver.Text.StartsWith("WRONGTYPE", StringComparison.Ordinal)) refused ??= ver.Text;
                // Bytes against bytes: a version written by hand in any encoding still matches itself.
                else if (!ver.IsError && !ver.IsNull && ver.ContentEquals(timers[i].Version)) current.Add(i);
                else outcomes[i] = FireOutcome.Stale;
            }
            if (refused is not null) await RefusedAsync(link, replies, refused, cancel);
            if (behind is not null) await BehindAsync(link, replies, behind, cancel);
            if (select) _db = db;
            if (current.Count == 0)
            {
                Command(output, "UNWATCH"u8);
                await output.FlushAsync(cancel);
                await replies.SkipAsync(cancel);
                replies.Release();
                return outcomes;
            }

            int queued = WriteTransaction(output, db, timers, current, nowMs, outcomes);
            await output.FlushAsync(cancel);
            string? queueError = null;
            for (int q = 0; q < 1 + queued + current.Count; q++) queueError ??= await replies.SkipAsync(cancel); // MULTI, QUEUED..
            var exec = await replies.NextHeaderAsync(cancel);
            if (exec.IsError)
            {
                string refusal = "EXEC: " + exec.Text + (queueError is null ? "" : $" ({queueError})");
                if (_wait.Enabled) await replies.SkipAsync(cancel); // WAIT: the connection stays in step
                replies.Release();
                throw new RedisServerException(refusal);
            }
            if (exec.IsNull)
            {
                if (_wait.Enabled) await replies.SkipAsync(cancel);
                // A watched timer changed between the check and EXEC: check again (bounded, then give up
                // on this batch; the scheduler reloads changed timers from their events).
                if (attempt < 3) continue;
                foreach (int i in current) outcomes[i] = FireOutcome.Stale;
                replies.Release();
                return outcomes;
            }
            int element = 0, calls = 0;
            foreach (int i in current)
            {
                // The user's call follows its timer's claim: results are claims and calls, in the order queued.
                for (; element < _claims[i] + calls; element++) await replies.SkipAsync(cancel);
                string? error = await replies.SkipAsync(cancel);
                element++;
                calls++;
                outcomes[i] = new FireOutcome(error is null ? FireResult.Fired : FireResult.FiredWithFunctionError, outcomes[i].Rearmed, error);
            }
            if (_wait.Enabled) LastWaitShortfall = Shortfall(await replies.NextAsync(cancel));
            replies.Release();
            await RecordOutcomesAsync(link, replies, timers, outcomes, nowMs, cancel);
            return outcomes;
        }
    }

    /// <summary>After a fire: null when what it came to was kept in Redis (or there was nothing worth keeping); else why not.</summary>
    public string? LastOutcomeWriteError { get; private set; }

    /// <summary>
    /// Keeps the fire's outcomes with its timers (<see cref="OutcomeRecord"/>). The timers have fired whatever happens
    /// here: a refusal (OOM, the library flushed) or a lost connection costs only the record, never the fire's outcomes.
    /// </summary>
    private async ValueTask RecordOutcomesAsync(UpstreamLink link, RespReplyReader replies, List<ScheduledTimer> timers,
        ArraySegment<FireOutcome> outcomes, double nowMs, CancellationToken cancel)
    {
        LastOutcomeWriteError = null;
        int worth = 0;
        for (int i = 0; i < timers.Count; i++)
            if (OutcomeRecord.Worth(timers[i], outcomes[i])) worth++;
        if (worth == 0) return;
        try
        {
            OutcomeRecord.Write(link.Output, timers, outcomes, worth, nowMs);
            await link.Output.FlushAsync(cancel);
            LastOutcomeWriteError = await replies.SkipAsync(cancel);
            replies.Release();
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or InvalidDataException or UpstreamUnavailableException)
        {
            LastOutcomeWriteError = e is OperationCanceledException ? "no reply in time" : e.Message;
            await ResetAsync();
        }
    }

    // [SELECT db] [WAIT n timeout] WATCH ids.. then HGET id ver for each. The WAIT first: a fire made while the
    // replicas are not in sync (one re-syncing after a failover) would be lost with this master, and repeated by
    // the next; with them in sync (the WAIT after the last fire said so) it answers at once.
    private static void WriteCheck(PipeWriter output, int select, List<ScheduledTimer> timers, ReplicaWait wait)
    {
        if (select >= 0) Command(output, "SELECT"u8, select);
        if (wait.Enabled) wait.Write(output);
        RespWriter.WriteArrayHeader(output, 1 + timers.Count);
        RespWriter.WriteBulkString(output, "WATCH"u8);
        foreach (var t in timers) RespWriter.WriteBulkString(output, t.Id);
        foreach (var t in timers) Command(output, "HGET"u8, t.Id, "ver"u8);
    }

    /// <summary>
    /// MULTI, then for each current timer its claim and the user's FCALL, then EXEC; notes where each timer's call
    /// falls among the results, and a LOOP timer's re-armed form. Returns the number of commands queued.
    /// </summary>
    // The claim is plain commands, not a library call: it cannot fail while the user's function runs
    // (a missing library would otherwise leave a fired timer in place, to fire again).
    private int WriteTransaction(PipeWriter output, int db, List<ScheduledTimer> timers, List<int> current, double nowMs,
        ArraySegment<FireOutcome> outcomes)
    {
        Command(output, "MULTI"u8);
        int queued = 0;
        Span<byte> due = stackalloc byte[32];
        Span<byte> version = stackalloc byte[32];
        foreach (int i in current)
        {
            var t = timers[i];
            var id = t.Id;
            var rearmed = default(ScheduledTimer);
            if (t.Loop)
            {
                double dueMs = nowMs + t.IntervalMs;
                Utf8Formatter.TryFormat(dueMs, due, out int dueLength, new StandardFormat('F', 3));
                Utf8Formatter.TryFormat((long)(nowMs * 1000), version, out int versionLength);
                version[versionLength++] = (byte)'f';
                if (version[..versionLength].SequenceEqual(t.Version)) version[versionLength++] = (byte)'f';
                rearmed = t.Rearmed(version[..versionLength], dueMs);
                RespWriter.WriteArrayHeader(output, 6);
                RespWriter.WriteBulkString(output, "HSET"u8);
                RespWriter.WriteBulkString(output, id);
                RespWriter.WriteBulkString(output, "due"u8);
                RespWriter.WriteBulkString(output, due[..dueLength]);
                RespWriter.WriteBulkString(output, "ver"u8);
                RespWriter.WriteBulkString(output, version[..versionLength]);
                RespWriter.WriteArrayHeader(output, 4);
                RespWriter.WriteBulkString(output, "ZADD"u8);
                RespWriter.WriteBulkString(output, IndexKey);
                RespWriter.WriteBulkString(output, due[..dueLength]);
                RespWriter.WriteBulkString(output, id);
                queued += 2;
                if (t.IntervalMs <= EventHorizonMs)
                {
                    WritePublish(output, db, due[..dueLength], id);
                    queued++;
                }
            }
            else
            {
                Command(output, "DEL"u8, id);
                Command(output, "ZREM"u8, IndexKey, id);
                queued += 2;
            }
            _claims[i] = queued;
            outcomes[i] = new FireOutcome(FireResult.Fired, rearmed, null);
            WriteUserCall(output, t.Definition);
        }
        Command(output, "EXEC"u8);
        if (_wait.Enabled) _wait.Write(output);
        return queued;
    }

    private string? Shortfall(RespReply acks)
    {
        if (acks.IsError) return "WAIT answered " + acks.Text;
        long n = acks.Type == (byte)':' ? acks.Count : -1;
        return n >= _wait.Replicas ? null : $"{n} of {_wait.Replicas} replicas acknowledged within {_wait.TimeoutMs} ms";
    }

    // PUBLISH events "<db>:<due>:<id>", as the library announces a change.
    private static void WritePublish(PipeWriter output, int db, ReadOnlySpan<byte> due, ReadOnlySpan<byte> id)
    {
        Span<byte> number = stackalloc byte[11];
        Utf8Formatter.TryFormat(db, number, out int dbLength);
        RespWriter.WriteArrayHeader(output, 3);
        RespWriter.WriteBulkString(output, "PUBLISH"u8);
        RespWriter.WriteBulkString(output, EventsChannel);
        // The message is written as a bulk string by hand: its parts are not contiguous anywhere else.
        int length = dbLength + 1 + due.Length + 1 + id.Length;
        var header = output.GetSpan(16 + length);
        int at = 0;
        header[at++] = (byte)'$';
        Utf8Formatter.TryFormat(length, header[at..], out int n);
        at += n;
        header[at++] = (byte)'\r';
        header[at++] = (byte)'\n';
        number[..dbLength].CopyTo(header[at..]);
        at += dbLength;
        header[at++] = (byte)':';
        due.CopyTo(header[at..]);
        at += due.Length;
        header[at++] = (byte)':';
        id.CopyTo(header[at..]);
        at += id.Length;
        header[at++] = (byte)'\r';
        header[at++] = (byte)'\n';
        output.Advance(at);
    }

    /// <summary>Redis refused the check: nothing is watched any more, and the connection stays usable.</summary>
    private static async Task RefusedAsync(UpstreamLink link, RespReplyReader replies, string error, CancellationToken cancel)
    {
        Command(link.Output, "UNWATCH"u8);
        await link.Output.FlushAsync(cancel);
        await replies.SkipAsync(cancel);
        replies.Release();
        throw new RedisServerException(error);
    }

    /// <summary>The replicas are behind: nothing fires now, nothing is watched any more.</summary>
    private static async Task BehindAsync(UpstreamLink link, RespReplyReader replies, string shortfall, CancellationToken cancel)
    {
        Command(link.Output, "UNWATCH"u8);
        await link.Output.FlushAsync(cancel);
        await replies.SkipAsync(cancel);
        replies.Release();
        throw new ReplicasBehindException(shortfall);
    }

    private static readonly byte[] IndexKey = Encoding.ASCII.GetBytes(TimerSchema.IndexKey);
    private static readonly byte[] EventsChannel = Encoding.ASCII.GetBytes(TimerSchema.EventsChannel);

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

    private static void Command(PipeWriter output, ReadOnlySpan<byte> name, int a)
    {
        Span<byte> number = stackalloc byte[11];
        Utf8Formatter.TryFormat(a, number, out int length);
        Command(output, name, number[..length]);
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
    private static void WriteUserCall(PipeWriter output, ReadOnlySpan<byte> definition)
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

    private async Task ResetAsync()
    {
        var link = _link;
        _link = null;
        _replies = null;
        _db = -1;
        if (link is not null) await link.DisposeAsync();
    }

    // The timeout source is left to the collector, not disposed: a fire still running at shutdown (its stop
    // waited for no longer) would meet a disposed source.
    public ValueTask DisposeAsync() => new(ResetAsync());
}
