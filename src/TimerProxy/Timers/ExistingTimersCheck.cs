using System.Buffers;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RedisTimer.Proxy.Scheduling;
using RedisTimer.Proxy.Upstream;
using RedisTimer.Resp;
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
            catch (Exception e) when (e is UpstreamUnavailableException or IOException or InvalidDataException or RedisException)
            {
                logger.LogDebug("Existing-timers check postponed: {Reason}", e.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), stopping);
            }
        }
    }

    private async Task<bool> LibraryPresentAsync(CancellationToken cancel)
    {
        await using var link = await connector.ConnectForSchedulerAsync(cancel);
        var replies = new RespReplyReader(link.Input);
        bool loading = false;
        while (true)
        {
            link.Output.Write(Query);
            await link.Output.FlushAsync(cancel);
            var reply = await replies.NextAsync(cancel);
            if (!reply.IsError) return reply.Count != 0; // the libraries found: none, or ours
            if (!RedisLoading.Is(reply.Text)) throw new RedisServerException(reply.Text);
            if (!loading) logger.LogInformation("Redis is loading its dataset; existing timers resume when it is done");
            loading = true;
            await Task.Delay(RedisLoading.RetryEvery, cancel);
        }
    }
}
