using System.Buffers;
using RedisTimer.Proxy.Hosting;
using Microsoft.Extensions.Logging;
using RedisTimer.Proxy.Scheduling;
using RedisTimer.Proxy.Upstream;
using RedisTimer.Resp;
using StackExchange.Redis;

namespace RedisTimer.Proxy.Timers;

/// <summary>
/// At start-up, asks Redis once which function libraries it holds (FUNCTION LIST WITHCODE; asked again on the same
/// connection while Redis is still loading its data and refuses it). With the timer library there, or a library that
/// got the prelude (docs/LUA.md), timers may exist or be created at any time: the library is refreshed and the
/// scheduler starts, so a restarted proxy fires what is due (overdue timers at once). If not, nothing more is sent
/// until a client uses a timer command. Libraries that call TIMER.* but were loaded straight into Redis, where those
/// calls fail, are named in one warning.
/// </summary>
public sealed class ExistingTimersCheck(UpstreamConnector connector, ITimerActivation timers, ILogger<ExistingTimersCheck> logger)
    : StartupWork
{
    private static readonly byte[] Query = "*3\r\n$8\r\nFUNCTION\r\n$4\r\nLIST\r\n$8\r\nWITHCODE\r\n"u8.ToArray();

    protected override async Task RunAsync(CancellationToken stopping)
    {
        bool warnedRefused = false;
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
            catch (Exception e) when (IsAuthRefusal(e))
            {
                // Clients may sign in themselves, but the proxy's own connections need credentials of their own.
                if (!warnedRefused)
                    logger.LogWarning("Redis at {Upstream} refuses the proxy's own connection ({Reason}): timers already in it do not fire and " +
                        "timer commands fail until the proxy is given a user and password (--upstream-user / --upstream-password, or user= / " +
                        "password= in --upstream)", connector.Describe, e.Message);
                warnedRefused = true;
                await Task.Delay(TimeSpan.FromSeconds(10), stopping);
            }
            catch (Exception e) when (e is UpstreamUnavailableException or IOException or InvalidDataException or RedisException)
            {
                logger.LogDebug("Existing-timers check postponed: {Reason}", e.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), stopping);
            }
        }
    }

    private static bool IsAuthRefusal(Exception e) =>
        e is UpstreamUnavailableException { AuthRefused: true }
        || e is RedisServerException && UpstreamConnector.IsAuthError(e.Message);

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
            if (!reply.IsError)
            {
                var libraries = LoadedLibrary.Parse(reply.Bytes.ToArray());
                var without = libraries.Where(l => l.CallsTimersWithoutPrelude).Select(l => l.Name).ToList();
                if (without.Count > 0)
                    logger.LogWarning("Function libraries {Libraries} call TIMER.* but were loaded straight into Redis, where those calls fail; "
                        + "load them through the proxy (FUNCTION LOAD REPLACE) to give them the prelude (docs/LUA.md)", string.Join(", ", without));
                return libraries.Any(l => l.IsTimerLibrary || l.HasPrelude);
            }
            if (!RedisLoading.Is(reply.Text)) throw new RedisServerException(reply.Text);
            if (!loading) logger.LogInformation("Redis is loading its dataset; existing timers resume when it is done");
            loading = true;
            await Task.Delay(RedisLoading.RetryEvery, cancel);
        }
    }
}
