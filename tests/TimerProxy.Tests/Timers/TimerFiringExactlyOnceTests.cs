using RedisTimer.Proxy.Tests.Infrastructure;
using static RedisTimer.Proxy.Tests.Timers.TimerFiringSupport;

namespace RedisTimer.Proxy.Tests.Timers;

/// <summary>
/// Exactly-once under resets racing with fires. Each TIMER.NEW carries a unique generation argument. A one-shot
/// timer's key is deleted in the same transaction that runs its function, so TIMER.NEW replies 0 exactly when it
/// replaced a definition that had not fired (that one must never fire) and 1 when the previous one had already
/// fired (it must have fired exactly once); the last definition of each id fires exactly once; nothing fires twice.
/// Own class: its own Redis and scheduler.
/// </summary>
public class TimerFiringExactlyOnceTests(TimerFixture fx) : IClassFixture<TimerFixture>
{
    private const int Ids = 200, Connections = 4, NewsPerConnection = 1000;

    private sealed record Created(string Id, string Generation, string Reply);

    [Fact]
    public async Task Resets_racing_with_fires_never_lose_or_repeat_a_generation()
    {
        string run = Unique("eo");
        var ids = Enumerable.Range(0, Ids).Select(i => $"{run}:{i}").ToArray();

        // Each connection owns the ids i % Connections == its number, so the order of NEWs on one id is the
        // order of that connection's replies.
        var perConnection = await Task.WhenAll(Enumerable.Range(0, Connections).Select(async n =>
        {
            var rng = new Random(n * 7919 + Environment.TickCount);
            var mine = ids.Where((_, i) => i % Connections == n).ToArray();
            var log = new List<Created>(NewsPerConnection);
            using var c = await fx.ConnectAsync();
            for (int seq = 0; seq < NewsPerConnection; seq++)
            {
                string id = mine[rng.Next(mine.Length)];
                string gen = $"{n}-{seq}";
                string iv = rng.Next(1, 31).ToString();
                string reply = await c.CallAsync("TIMER.NEW", id, "rt_log", iv, "1", id, run, gen);
                log.Add(new Created(id, gen, reply));
                if (rng.Next(8) == 0) await Task.Delay(rng.Next(1, 15)); // let some fire before their reset
            }
            return log;
        }));

        var expectedFired = new HashSet<string>();
        var neverFired = new HashSet<string>();
        int replaced0 = 0, replaced1 = 0;
        foreach (var log in perConnection)
        {
            foreach (var byId in log.GroupBy(x => x.Id))
            {
                var seq = byId.ToList();
                Assert.Equal(":1\r\n", seq[0].Reply); // a fresh id
                for (int k = 1; k < seq.Count; k++)
                {
                    if (seq[k].Reply == ":0\r\n") { neverFired.Add(seq[k - 1].Generation); replaced0++; }
                    else { Assert.Equal(":1\r\n", seq[k].Reply); expectedFired.Add(seq[k - 1].Generation); replaced1++; }
                }
                expectedFired.Add(seq[^1].Generation);
            }
        }
        // The test must have exercised both outcomes to prove anything.
        Assert.True(replaced0 > 100, $"only {replaced0} NEWs replaced a pending definition");
        Assert.True(replaced1 > 100, $"only {replaced1} NEWs came after a fire");

        using var direct = await fx.ConnectRedisAsync();
        await TimerFixture.WaitUntilAsync(async () => Integer(await direct.CallAsync("LLEN", "rt:log")) >= expectedFired.Count,
            TimeSpan.FromSeconds(20), $"{expectedFired.Count} fires");
        await Task.Delay(500); // room for any duplicate or stale fire to show up

        var fires = (await fx.FiresAsync()).Where(f => f.Args.Length == 2 && f.Args[0] == run).ToList();
        var firedTwice = fires.GroupBy(f => f.Args[1]).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.True(firedTwice.Count == 0, "fired more than once: " + string.Join(", ", firedTwice.Take(20)));
        var fired = fires.Select(f => f.Args[1]).ToHashSet();
        var wrongly = fired.Intersect(neverFired).ToList();
        Assert.True(wrongly.Count == 0, "replaced while pending (reply 0), yet fired: " + string.Join(", ", wrongly.Take(20)));
        var lost = expectedFired.Except(fired).ToList();
        Assert.True(lost.Count == 0, $"never fired ({lost.Count}): " + string.Join(", ", lost.Take(20)));
        Assert.Equal(expectedFired.Count, fires.Count);
        Assert.All(fires, f => Assert.Equal(0, f.Exists));
        Assert.Equal("*0\r\n", await direct.CallAsync("KEYS", run + ":*"));
    }
}
