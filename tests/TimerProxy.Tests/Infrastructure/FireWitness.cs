using System.Collections.Concurrent;

namespace RedisTimer.Proxy.Tests.Infrastructure;

/// <summary>
/// Counts fires as the world outside Redis sees them, for drills where a master dies: the drill function publishes
/// <c>id@server-time</c> on <see cref="Channel"/>, and a subscriber on every node (master and replicas: a replicated
/// PUBLISH reaches a replica's subscribers too, with the same text) collects the distinct messages per timer. A fire
/// the dead master made but never replicated is still counted (its subscriber got it), so is the new master's
/// second fire of that timer: a duplicate shows up as two times for one id, which counting in Redis would hide.
/// Subscribers reconnect when a node closes them (Sentinel kills pub/sub clients on every node it reconfigures).
/// </summary>
public sealed class FireWitness : IDisposable
{
    public const string Channel = "drill:fired";

    public const string Library = """
        #!lua name=drill
        redis.register_function('drill_fire', function(keys, args)
          local t = redis.call('TIME')
          redis.call('HINCRBY', keys[1], args[1], 1)
          redis.call('PUBLISH', 'drill:fired', args[1] .. '@' .. t[1] .. '.' .. t[2])
        end)
        """;

    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, string>> _fires = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _listeners = new();
    private readonly ConcurrentBag<RawClient> _clients = new();

    public FireWitness(IEnumerable<int> redisPorts)
    {
        foreach (int port in redisPorts) _listeners.Add(Task.Run(() => ListenAsync(port)));
    }

    /// <summary>Resolves once every node has been subscribed once (fires before that would go unseen).</summary>
    public async Task WaitSubscribedAsync(int nodes)
    {
        await TimerFixture.WaitUntilAsync(() => Task.FromResult(_subscribed >= nodes), TimeSpan.FromSeconds(20), "the witness subscribed everywhere");
    }

    private int _subscribed;

    private async Task ListenAsync(int port)
    {
        bool first = true;
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                using var c = await RawClient.ConnectAsync(port);
                _clients.Add(c);
                if (_stop.IsCancellationRequested) return;
                await c.SendCommandAsync("SUBSCRIBE", Channel);
                await c.ReadReplyAsync();
                if (first) Interlocked.Increment(ref _subscribed);
                first = false;
                while (true)
                {
                    var parts = TimerFixture.ParseBulkArray(await c.ReadReplyAsync(TimeSpan.FromHours(1)));
                    if (parts.Count == 3 && parts[0] == "message") Record(parts[2], port);
                }
            }
            catch (Exception) when (!_stop.IsCancellationRequested)
            {
                await Task.Delay(20); // closed, killed or not up: subscribe again
            }
            catch (Exception)
            {
                return;
            }
        }
    }

    private void Record(string message, int port)
    {
        int at = message.LastIndexOf('@');
        _fires.GetOrAdd(message[..at], _ => new()).AddOrUpdate(message[(at + 1)..], port.ToString(), (_, seen) => seen + "," + port);
    }

    /// <summary>For each fire of the timer, the ports whose subscribers saw it.</summary>
    public string SeenBy(string id) => _fires.TryGetValue(id, out var times) ? string.Join(" | ", times.OrderBy(t => t.Key).Select(t => t.Value)) : "";

    /// <summary>How many distinct fires the timer with this drill id had.</summary>
    public int FiresOf(string id) => _fires.TryGetValue(id, out var times) ? times.Count : 0;

    /// <summary>The Redis server times (seconds) of the timer's fires, in order.</summary>
    public double[] TimesOf(string id) => _fires.TryGetValue(id, out var times)
        ? times.Keys.Select(t => double.Parse(t.Split('.')[0]) + double.Parse(t.Split('.')[1]) / 1e6).Order().ToArray() : [];

    public void Dispose()
    {
        _stop.Cancel();
        foreach (var c in _clients) c.Dispose();
        Task.WaitAll(_listeners.ToArray(), TimeSpan.FromSeconds(10));
    }
}
