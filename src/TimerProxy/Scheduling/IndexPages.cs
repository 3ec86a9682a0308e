using StackExchange.Redis;

namespace RedisTimer.Proxy.Scheduling;

/// <summary>
/// Reads a score range of a sorted set a page at a time. One ZRANGEBYSCORE over the 100k timers of a burst held
/// Redis, and every client's command behind it, for about 40 ms (bench/timer-bench.sh: a PING waited 47 ms);
/// pages keep each read short. Reading a whole range costs Redis more in total (a page's LIMIT offset is walked
/// one entry at a time: 100k equal scores cost about 3 times one read), but in short pieces.
/// </summary>
public static class IndexPages
{
    public const int PageSize = 1000;

    /// <summary>
    /// The entries of <paramref name="key"/> scored from <paramref name="from"/> to <paramref name="to"/>, at most
    /// <paramref name="max"/>, in order. A page starts at the last score read, skipping the entries with that score
    /// already read (Redis orders equal scores by member). Entries that change between pages may be missed or read
    /// twice; for the scheduler, the next pass and the change events cover them.
    /// </summary>
    public static async Task<List<SortedSetEntry>> ReadAsync(IDatabase db, RedisKey key, double from, Exclude exclude, double to,
        int max, int pageSize = PageSize)
    {
        var entries = new List<SortedSetEntry>();
        double start = from;
        int skip = 0;
        while (entries.Count < max)
        {
            int take = Math.Min(pageSize, max - entries.Count);
            var page = await db.SortedSetRangeByScoreWithScoresAsync(key, start, to, exclude, skip: skip, take: take);
            entries.AddRange(page);
            if (page.Length < take) break;
            double last = page[^1].Score;
            int atLast = 0;
            for (int i = page.Length - 1; i >= 0 && page[i].Score == last; i--) atLast++;
            // A page all of one score that the previous page also ended with: skip what both read.
            skip = last == start && (exclude & Exclude.Start) == 0 ? skip + atLast : atLast;
            start = last;
            exclude &= ~Exclude.Start; // the next page starts at the last score, included; the end stays as asked
        }
        return entries;
    }
}
