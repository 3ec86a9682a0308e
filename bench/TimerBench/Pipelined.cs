namespace RedisTimer.Bench;

/// <summary>Result of sending <c>count</c> commands over several pipelined connections.</summary>
public sealed record PipelinedResult(int Count, double Seconds, long Errors, string? FirstError, long MaxBatchMicros)
{
    public double Rate => Count / Seconds;
}

public static class Pipelined
{
    /// <summary>
    /// Sends commands 0..count-1 over <paramref name="connections"/> connections, each owning a contiguous
    /// range and keeping one batch of <paramref name="pipeline"/> commands in flight (write the batch, flush,
    /// read its replies). With <paramref name="timePerBatch"/> each batch is preceded by a TIME round trip on
    /// the same connection, and the server time (µs) is passed to <paramref name="command"/>.
    /// </summary>
    public static PipelinedResult Run(string endpoint, int count, int connections, int pipeline,
        Func<int, long, string[]> command, Func<object?, bool> isExpected, bool timePerBatch = false)
    {
        var clients = Enumerable.Range(0, connections).Select(_ => RespConnection.Connect(endpoint)).ToArray();
        long errors = 0, maxBatch = 0;
        string? firstError = null;
        Exception? failure = null;
        using var ready = new Barrier(connections + 1);
        var threads = new Thread[connections];
        for (var c = 0; c < connections; c++)
        {
            var client = clients[c];
            var from = (int)((long)count * c / connections);
            var to = (int)((long)count * (c + 1) / connections);
            threads[c] = new Thread(() =>
            {
                try
                {
                    ready.SignalAndWait();
                    for (var i = from; i < to; i += pipeline)
                    {
                        var end = Math.Min(to, i + pipeline);
                        var started = Environment.TickCount64;
                        var now = timePerBatch ? Target.ServerMicros(client) : 0;
                        for (var k = i; k < end; k++) client.Write(command(k, now));
                        client.Flush();
                        for (var k = i; k < end; k++)
                        {
                            var reply = client.Read();
                            if (isExpected(reply)) continue;
                            Interlocked.Increment(ref errors);
                            Interlocked.CompareExchange(ref firstError, $"{command(k, now)[0]} {command(k, now)[1]} -> {Target.Describe(reply)}", null);
                        }
                        var took = (Environment.TickCount64 - started) * 1000;
                        if (took > Interlocked.Read(ref maxBatch)) Interlocked.Exchange(ref maxBatch, took);
                    }
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref failure, e, null);
                }
            }) { IsBackground = true, Name = $"pipeline-{c}" };
            threads[c].Start();
        }
        ready.SignalAndWait();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        foreach (var thread in threads) thread.Join();
        var seconds = clock.Elapsed.TotalSeconds;
        foreach (var client in clients) client.Dispose();
        if (failure is not null) throw new InvalidOperationException($"pipelined run against {endpoint} failed: {failure.Message}", failure);
        return new PipelinedResult(count, seconds, errors, firstError, maxBatch);
    }

    public static bool IsOne(object? reply) => reply is 1L;
    public static bool IsInteger(object? reply) => reply is long;
}
