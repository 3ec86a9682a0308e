using StackExchange.Redis;

namespace RedisTimer.Proxy.Scheduling;

/// <summary>Reads timers from their hashes and puts those due within the window in the <see cref="DueQueue"/>.</summary>
internal sealed class TimerLoader(DueQueue queue, ServerClock clock, TimerOptions options, Wakeup wakeFire)
{
    public enum Loaded : byte { Timer, NotATimer, Unreadable }

    private static readonly RedisValue[] Fields = [Timers.TimerSchema.Tag, "ver", "due", "def"];

    public static async Task<(Loaded, ScheduledTimer)> LoadAsync(IDatabase db, int dbNumber, RedisKey id)
    {
        try
        {
            var h = await db.HashGetAsync(id, Fields);
            if (h[0].IsNull || h[1].IsNull || h[2].IsNull || h[3].IsNull) return (Loaded.NotATimer, default);
            return (Loaded.Timer, ScheduledTimer.FromFields(dbNumber, (byte[])id!, (byte[])h[1]!, (string)h[2]!, (byte[])h[3]!));
        }
        catch (RedisServerException e) when (e.Message.StartsWith("WRONGTYPE"))
        {
            return (Loaded.NotATimer, default); // not a hash: not a timer
        }
        catch (Exception e) when (e is RedisException or TimeoutException or FormatException or InvalidDataException
                                      or IndexOutOfRangeException or ArgumentException)
        {
            // Unreadable now (a timeout) or malformed (written by hand): neither fired nor dropped from the
            // index; the fire-time version check and later passes decide.
            return (Loaded.Unreadable, default);
        }
    }

    /// <summary>Loads every timer named and applies what was read; returns the ids that are not timers.</summary>
    public async Task<List<RedisKey>> LoadAndApplyAsync(Func<int, IDatabase> database, List<(int Db, RedisKey Id)> ids)
    {
        var loads = ids.Select(e => LoadAsync(database(e.Db), e.Db, e.Id)).ToArray();
        await Task.WhenAll(loads);
        return Apply(loads.Select(l => l.Result), ids);
    }

    // Puts loaded timers due within the window in the queue (later ones come with a later reconciliation).
    private List<RedisKey> Apply(IEnumerable<(Loaded, ScheduledTimer)> loaded, List<(int Db, RedisKey Id)> ids)
    {
        double horizon = clock.NowMs + options.WindowMs;
        var gone = new List<RedisKey>();
        bool earlier = false;
        int i = 0;
        foreach (var (status, timer) in loaded)
        {
            var (db, id) = ids[i++];
            if (status == Loaded.Unreadable) continue;
            if (status == Loaded.NotATimer)
            {
                queue.Remove(TimerSlot.Of(db, (byte[])id!));
                gone.Add(id);
            }
            else if (timer.DueMs <= horizon)
            {
                earlier |= queue.Upsert(timer);
            }
        }
        if (earlier) wakeFire.Set();
        return gone;
    }
}
