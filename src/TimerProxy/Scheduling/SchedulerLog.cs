using Microsoft.Extensions.Logging;

namespace RedisTimer.Proxy.Scheduling;

/// <summary>What the fire path logs, possibly once per fire: source-generated, so a level that is off costs one check.</summary>
internal static partial class SchedulerLog
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "Timer {Id} (db {Db}): function {Function} failed: {Error}")]
    public static partial void FunctionFailed(this ILogger logger, string id, int db, string function, string? error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} more fires failed in the last {Seconds} s without a line each (TIMER.LIST shows a LOOP timer's last error; the db's list timer-tzw:failed keeps the latest 100)")]
    public static partial void FunctionFailuresNotLogged(this ILogger logger, long count, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "What {Count} fired timers in db {Db} came to was not kept in Redis ({Error}): they fired, but their runs and last outcome are not counted")]
    public static partial void OutcomesNotKept(this ILogger logger, int count, int db, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The outcomes of {Count} more fire batches were not kept in Redis in the last {Seconds} s")]
    public static partial void OutcomesNotKeptAgain(this ILogger logger, long count, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Firing {Count} timers in db {Db} failed ({Error}); retrying in {Delay} ms")]
    public static partial void FiringFailed(this ILogger logger, int count, int db, string error, double delay);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Fired {Count} timers in db {Db} with replicas short ({Shortfall}): firing waits while they are, and a failover now could fire them again ({Fires} batches short since the last such line)")]
    public static partial void FireNotReplicated(this ILogger logger, int count, int db, string shortfall, int fires);
}
