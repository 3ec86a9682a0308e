using System.Globalization;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using RedisTimer.Proxy.Timers;
using StackExchange.Redis;

namespace RedisTimer.Proxy.Scheduling;

/// <summary>
/// Follows the library's change events ("&lt;db&gt;:&lt;due ms, 0 when gone&gt;:&lt;id&gt;" on the events channel): each
/// timer changed within the window is read again and held in its new form, or dropped.
/// </summary>
internal sealed class ChangeFeed(TimerLoader loader, DueQueue queue, TimerDatabases databases, ServerClock clock, TimerOptions options,
    Wakeup wakeReconcile, ILogger logger)
{
    private readonly Channel<(int Db, RedisKey Id)> _changed = Channel.CreateUnbounded<(int, RedisKey)>(new() { SingleReader = true });
    private long _eventsSeen;

    /// <summary>Set while reconciliation is idle: any event wakes it.</summary>
    public volatile bool ReconcileIdle;

    /// <summary>Counts every event seen, so reconciliation can tell whether one came during its pass.</summary>
    public long EventsSeen => Interlocked.Read(ref _eventsSeen);

    public async Task SubscribeAsync(ConnectionMultiplexer mux)
    {
        var subscriber = mux.GetSubscriber();
        await subscriber.SubscribeAsync(RedisChannel.Literal(TimerSchema.EventsChannel), (_, message) => OnEvent(message));
        // Renames, moves and restores done directly on Redis, not through the proxy, are seen here when
        // keyspace notifications are enabled (notify-keyspace-events with E and g); the timer is then
        // indexed under its new name. Without them, such changes must go through the proxy.
        foreach (var evt in new[] { "rename_to", "move_to", "restore" })
            await subscriber.SubscribeAsync(RedisChannel.Pattern($"__keyevent@*__:{evt}"), (channel, key) => OnKeyEvent(mux, channel, key));
    }

    /// <summary>Reads a timer again soon (its fire found it changed).</summary>
    public void Reread(int db, RedisKey id) => _changed.Writer.TryWrite((db, id));

    /// <summary>Reads the changed timers, in batches, until stopped.</summary>
    public async Task RunAsync(ConnectionMultiplexer mux, CancellationToken stop)
    {
        var reader = _changed.Reader;
        var batch = new List<(int Db, RedisKey Id)>();
        while (await reader.WaitToReadAsync(stop))
        {
            batch.Clear();
            while (batch.Count < 1000 && reader.TryRead(out var e)) batch.Add(e);
            foreach (var e in batch) NoteDatabase(e.Db);
            await loader.LoadAndApplyAsync(db => mux.GetDatabase(db), batch);
        }
    }

    // A change due beyond the window is left to reconciliation, so a burst of far-future TIMER.NEW costs the
    // scheduler no reads.
    private void OnEvent(RedisValue message)
    {
        byte[] bytes = message!;
        int first = Array.IndexOf(bytes, (byte)':');
        int second = first < 0 ? -1 : Array.IndexOf(bytes, (byte)':', first + 1);
        if (first <= 0 || second < 0 || !int.TryParse(Encoding.ASCII.GetString(bytes, 0, first), out int db)) return;
        double.TryParse(Encoding.ASCII.GetString(bytes, first + 1, second - first - 1), NumberStyles.Float,
            CultureInfo.InvariantCulture, out double due);
        byte[] id = bytes.AsSpan(second + 1).ToArray();
        // A kill of a timer not held (beyond the window, or already taken to be fired) changes nothing here: no read,
        // so that a burst of TIMER.KILL costs Redis no HMGET each. A kill of a held one is read again, since its db is
        // only the session's belief (a live timer of that name there stays). A read in flight for an earlier change
        // may still bring back the killed timer; its fire then finds it gone (the version check) and drops it.
        if (due == 0 && !queue.Holds(TimerSlot.Of(db, id)))
        {
            NoteDatabase(db);
            return;
        }
        if (due > clock.NowMs + options.WindowMs)
        {
            queue.Remove(TimerSlot.Of(db, id)); // its old form, if held, is no longer what will fire
            NoteDatabase(db);
            return;
        }
        _changed.Writer.TryWrite((db, id));
    }

    private void NoteDatabase(int db)
    {
        if (!TimerDatabases.IsValid(db)) return;
        bool added = databases.Note(db);
        Interlocked.Increment(ref _eventsSeen);
        if (added || ReconcileIdle) wakeReconcile.Set();
    }

    // "__keyevent@<db>__:<event>" carrying the key name
    private void OnKeyEvent(ConnectionMultiplexer mux, RedisChannel channel, RedisValue key)
    {
        string name = channel.ToString();
        int at = name.IndexOf('@') + 1, end = name.IndexOf("__:", StringComparison.Ordinal);
        if (at <= 0 || end < at || !int.TryParse(name.AsSpan(at, end - at), out int db)) return;
        _ = mux.GetDatabase(db).ExecuteAsync("FCALL", "timer_adopt", 2, (RedisKey)(byte[])key!, TimerSchema.IndexKey, db)
            .ContinueWith(t => logger.LogWarning(t.Exception!.GetBaseException(), "Adopting {Key} in db {Db} failed", (string?)key, db),
                TaskContinuationOptions.OnlyOnFaulted);
    }
}
