using RedisTimer.Proxy.Scheduling;
using RedisTimer.Proxy.Tests.Infrastructure;
using StackExchange.Redis;

namespace RedisTimer.Proxy.Tests.Timers;

/// <summary>Paged reads of the due-time index give what one ZRANGEBYSCORE gives, ties across pages included.</summary>
public class IndexPagesTests : IAsyncLifetime
{
    private readonly RedisServer _redis = new();
    private ConnectionMultiplexer _mux = null!;
    private IDatabase Db => _mux.GetDatabase();

    public async Task InitializeAsync()
    {
        _mux = await ConnectionMultiplexer.ConnectAsync($"{_redis.Endpoint},connectTimeout=10000,syncTimeout=10000");
        // 20 entries before the tie, 150 tied at score 100, then 30 a point apart.
        var entries = Enumerable.Range(0, 20).Select(i => new SortedSetEntry($"a{i:D2}", 50 + i))
            .Concat(Enumerable.Range(0, 150).Select(i => new SortedSetEntry($"t{i:D3}", 100)))
            .Concat(Enumerable.Range(0, 30).Select(i => new SortedSetEntry($"z{i:D2}", 101 + i)))
            .ToArray();
        await Db.SortedSetAddAsync("idx", entries);
    }

    public async Task DisposeAsync()
    {
        await _mux.DisposeAsync();
        _redis.Dispose();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(100)]
    [InlineData(150)]
    [InlineData(1000)]
    public async Task Reads_the_same_entries_as_one_range_read(int pageSize)
    {
        foreach (var (from, exclude, to) in new[]
                 {
                     (double.NegativeInfinity, Exclude.None, double.PositiveInfinity),
                     (100d, Exclude.None, 120d),
                     (100d, Exclude.Start, 120d),
                     (60d, Exclude.Start, 100d),
                     (60d, Exclude.Stop, 100d),
                     (60d, Exclude.Both, 101d),
                     (100d, Exclude.Both, 101d),
                 })
        {
            var whole = await Db.SortedSetRangeByScoreWithScoresAsync("idx", from, to, exclude);
            var paged = await IndexPages.ReadAsync(Db, "idx", from, exclude, to, max: 10_000, pageSize);
            Assert.Equal(whole.Select(e => (string)e.Element!), paged.Select(e => (string)e.Element!));
            Assert.Equal(whole.Select(e => e.Score), paged.Select(e => e.Score));
        }
    }

    [Theory]
    [InlineData(7)]
    [InlineData(1000)]
    public async Task Stops_at_max_entries_in_order(int pageSize)
    {
        var whole = await Db.SortedSetRangeByScoreWithScoresAsync("idx", double.NegativeInfinity, double.PositiveInfinity, take: 95);
        var paged = await IndexPages.ReadAsync(Db, "idx", double.NegativeInfinity, Exclude.None, double.PositiveInfinity, max: 95, pageSize);
        Assert.Equal(whole.Select(e => (string)e.Element!), paged.Select(e => (string)e.Element!));
    }
}
