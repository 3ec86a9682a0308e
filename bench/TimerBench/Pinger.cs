namespace RedisTimer.Bench;

/// <summary>
/// Sends PING in a loop (one at a time, 1 ms apart) on one connection per endpoint, each from its own thread, and
/// records each round trip with its start time, so the worst wait during a window can be read afterwards. With
/// several endpoints the PINGs go out together (a barrier per round): Redis stalls in bursts (a fire transaction runs
/// for a millisecond or more), and two pingers that sampled different moments would compare whichever of them happened
/// to hit the longest stall, not the endpoints.
/// </summary>
public sealed class Pinger : IDisposable
{
    private readonly RespConnection[] _connections;
    private readonly Thread[] _threads;
    private readonly List<(long StartMicros, long RoundTripMicros)>[] _samples;
    private readonly Barrier _together;
    private volatile bool _stop;
    private Exception? _failure;

    public Pinger(params string[] endpoints)
    {
        _connections = endpoints.Select(endpoint => RespConnection.Connect(endpoint)).ToArray();
        _samples = endpoints.Select(_ => new List<(long, long)>(1 << 16)).ToArray();
        _together = new Barrier(endpoints.Length);
        _threads = endpoints.Select((endpoint, i) => new Thread(() => Loop(i)) { IsBackground = true, Name = $"ping {endpoint}" }).ToArray();
        foreach (var thread in _threads) thread.Start();
    }

    private void Loop(int index)
    {
        var connection = _connections[index];
        try
        {
            while (!_stop)
            {
                _together.SignalAndWait();
                var start = Clock.LocalMicros();
                var reply = connection.Call("PING");
                var end = Clock.LocalMicros();
                if (reply is not "PONG") throw new InvalidOperationException($"PING -> {Target.Describe(reply)}");
                lock (_samples[index]) _samples[index].Add((start, end - start));
                Thread.Sleep(1);
            }
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref _failure, new InvalidOperationException($"pinger {connection.Endpoint}: {e.Message}", e), null);
        }
        finally
        {
            _together.RemoveParticipant(); // the others go on alone
        }
    }

    /// <summary>Stops the loops; returns, per endpoint, the worst round trip (µs) among pings that overlapped [from, to]
    /// (local µs).</summary>
    public long[] StopAndWorst(long fromMicros, long toMicros)
    {
        Stop();
        if (_failure is not null) throw _failure;
        return _samples.Select(samples =>
        {
            lock (samples)
                return samples.Where(s => s.StartMicros <= toMicros && s.StartMicros + s.RoundTripMicros >= fromMicros)
                    .Select(s => s.RoundTripMicros).DefaultIfEmpty(0).Max();
        }).ToArray();
    }

    private void Stop()
    {
        _stop = true;
        foreach (var thread in _threads) thread.Join();
    }

    public void Dispose()
    {
        Stop();
        foreach (var connection in _connections) connection.Dispose();
        _together.Dispose();
    }
}

public static class Clock
{
    /// <summary>Wall clock in µs since the epoch; the same clock Redis's TIME reads on this host.</summary>
    public static long LocalMicros() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) / 10;
}
