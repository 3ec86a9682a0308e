namespace RedisTimer.Bench;

/// <summary>
/// Sends PING in a loop (one at a time, 1 ms apart) on its own connection and records each round trip with
/// its start time, so the worst wait during a window can be read afterwards. Runs on its own thread.
/// </summary>
public sealed class Pinger : IDisposable
{
    private readonly RespConnection _connection;
    private readonly Thread _thread;
    private readonly List<(long StartMicros, long RoundTripMicros)> _samples = new(1 << 16);
    private volatile bool _stop;
    private Exception? _failure;

    public Pinger(string endpoint)
    {
        _connection = RespConnection.Connect(endpoint);
        _thread = new Thread(Loop) { IsBackground = true, Name = $"ping {endpoint}" };
        _thread.Start();
    }

    private void Loop()
    {
        try
        {
            while (!_stop)
            {
                var start = Clock.LocalMicros();
                var reply = _connection.Call("PING");
                var end = Clock.LocalMicros();
                if (reply is not "PONG") throw new InvalidOperationException($"PING -> {Target.Describe(reply)}");
                lock (_samples) _samples.Add((start, end - start));
                Thread.Sleep(1);
            }
        }
        catch (Exception e)
        {
            _failure = e;
        }
    }

    /// <summary>Stops the loop; returns the worst round trip (µs) among pings that overlapped [from, to] (local µs).</summary>
    public long StopAndWorst(long fromMicros, long toMicros)
    {
        _stop = true;
        _thread.Join();
        if (_failure is not null) throw new InvalidOperationException($"pinger {_connection.Endpoint}: {_failure.Message}", _failure);
        lock (_samples)
            return _samples.Where(s => s.StartMicros <= toMicros && s.StartMicros + s.RoundTripMicros >= fromMicros)
                .Select(s => s.RoundTripMicros).DefaultIfEmpty(0).Max();
    }

    public void Dispose()
    {
        _stop = true;
        _thread.Join();
        _connection.Dispose();
    }
}

public static class Clock
{
    /// <summary>Wall clock in µs since the epoch; the same clock Redis's TIME reads on this host.</summary>
    public static long LocalMicros() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) / 10;
}
