using System.Net.Sockets;

namespace RedisTimer.Bench;

/// <summary>
/// Sends PING in rounds (1 ms apart) on one connection per endpoint and records each round trip with its start time,
/// so the worst wait during a window can be read afterwards. Runs on its own thread. With several endpoints, one round
/// sends a PING on each connection at the same moment and times each reply as it arrives: Redis stalls in bursts (a
/// fire transaction runs for a millisecond or more), and samplers that pinged different moments would compare whichever
/// of them happened to hit the longest stall, not the endpoints. One thread, blocked in poll, takes no CPU from the
/// processes it measures (a barrier between two threads spun for a quarter of a core).
/// </summary>
public sealed class Pinger : IDisposable
{
    private readonly RespConnection[] _connections;
    private readonly List<(long StartMicros, long RoundTripMicros)>[] _samples;
    private readonly Thread _thread;
    private volatile bool _stop;
    private Exception? _failure;

    public Pinger(params string[] endpoints)
    {
        _connections = endpoints.Select(endpoint => RespConnection.Connect(endpoint)).ToArray();
        _samples = endpoints.Select(_ => new List<(long, long)>(1 << 16)).ToArray();
        _thread = new Thread(Loop) { IsBackground = true, Name = "ping " + string.Join(' ', endpoints) };
        _thread.Start();
    }

    private void Loop()
    {
        var waiting = new List<Socket>(_connections.Length);
        try
        {
            while (!_stop)
            {
                var start = Clock.LocalMicros();
                foreach (var connection in _connections)
                {
                    connection.Write("PING");
                    connection.Flush();
                }
                var pending = _connections.ToList();
                while (pending.Count > 0)
                {
                    waiting.Clear();
                    waiting.AddRange(pending.Select(c => c.Socket));
                    Socket.Select(waiting, null, null, -1);
                    var end = Clock.LocalMicros();
                    foreach (var socket in waiting)
                    {
                        var index = Array.FindIndex(_connections, c => c.Socket == socket);
                        ReadPong(_connections[index]);
                        lock (_samples) _samples[index].Add((start, end - start));
                        pending.Remove(_connections[index]);
                    }
                }
                Thread.Sleep(1);
            }
        }
        catch (Exception e)
        {
            _failure = e;
        }
    }

    private static void ReadPong(RespConnection connection)
    {
        object? reply;
        try { reply = connection.Read(); }
        catch (Exception e) when (e is IOException or SocketException) { throw new IOException($"PING {connection.Endpoint}: {e.Message}", e); }
        if (reply is not "PONG") throw new InvalidOperationException($"PING {connection.Endpoint} -> {Target.Describe(reply)}");
    }

    /// <summary>Stops the loop; returns, per endpoint, the worst round trip (µs) among pings that overlapped [from, to]
    /// (local µs).</summary>
    public long[] StopAndWorst(long fromMicros, long toMicros)
    {
        Stop();
        if (_failure is not null) throw new InvalidOperationException($"pinger: {_failure.Message}", _failure);
        lock (_samples)
            return _samples.Select(samples => samples
                .Where(s => s.StartMicros <= toMicros && s.StartMicros + s.RoundTripMicros >= fromMicros)
                .Select(s => s.RoundTripMicros).DefaultIfEmpty(0).Max()).ToArray();
    }

    private void Stop()
    {
        _stop = true;
        _thread.Join();
    }

    public void Dispose()
    {
        Stop();
        foreach (var connection in _connections) connection.Dispose();
    }
}

public static class Clock
{
    /// <summary>Wall clock in µs since the epoch; the same clock Redis's TIME reads on this host.</summary>
    public static long LocalMicros() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) / 10;
}
