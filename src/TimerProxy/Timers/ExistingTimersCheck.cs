using System.Buffers;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RedisTimer.Proxy.Scheduling;
using RedisTimer.Proxy.Upstream;
using StackExchange.Redis;

namespace RedisTimer.Proxy.Timers;

/// <summary>
/// At start-up, asks Redis once whether the timer library is there (FUNCTION LIST LIBRARYNAME; asked again on the
/// same connection while Redis is still loading its data and refuses it). If it is,
/// timers may exist: the library is refreshed and the scheduler starts, so a restarted proxy fires what is
/// due (overdue timers at once). If not, nothing more is sent until a client uses a timer command.
/// </summary>
public sealed class ExistingTimersCheck(UpstreamConnector connector, ITimerActivation timers, ILogger<ExistingTimersCheck> logger)
    : BackgroundService
{
    private static readonly byte[] Query = "*4\r\n$8\r\nFUNCTION\r\n$4\r\nLIST\r\n$11\r\nLIBRARYNAME\r\n$10\r\nredistimer\r\n"u8.ToArray();

    protected override async Task ExecuteAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                if (await LibraryPresentAsync(stopping))
                {
                    logger.LogInformation("Timer library found in Redis: resuming timers");
                    await timers.EnsureActiveAsync();
                }
                return;
            }
            catch (Exception e) when (e is UpstreamUnavailableException or IOException or RedisException)
            {
                logger.LogDebug("Existing-timers check postponed: {Reason}", e.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), stopping);
            }
        }
    }

    private async Task<bool> LibraryPresentAsync(CancellationToken cancel)
    {
        await using var link = await connector.ConnectForSchedulerAsync(cancel);
        bool loading = false;
        while (true)
        {
            string reply = await AskAsync(link, cancel);
            if (!reply.StartsWith('-')) return reply != "*0";
            if (!RedisLoading.Is(reply[1..])) throw new RedisServerException(reply[1..]);
            if (!loading) logger.LogInformation("Redis is loading its dataset; existing timers resume when it is done");
            loading = true;
            await Task.Delay(RedisLoading.RetryEvery, cancel);
        }
    }

    /// <summary>Sends the query and returns the first line of its reply (an error is one line).</summary>
    private static async Task<string> AskAsync(UpstreamLink link, CancellationToken cancel)
    {
        link.Output.Write(Query);
        await link.Output.FlushAsync(cancel);
        while (true)
        {
            var result = await link.Input.ReadAsync(cancel);
            var buffer = result.Buffer;
            var reader = new SequenceReader<byte>(buffer);
            if (reader.TryReadTo(out ReadOnlySequence<byte> line, "\r\n"u8))
            {
                var text = System.Text.Encoding.ASCII.GetString(line.ToArray());
                link.Input.AdvanceTo(buffer.End);
                return text;
            }
            if (result.IsCompleted) throw new IOException("connection closed during FUNCTION LIST");
            link.Input.AdvanceTo(buffer.Start, buffer.End);
        }
    }
}
