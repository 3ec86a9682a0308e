using System.Net;
using Microsoft.Extensions.Logging;

namespace RedisTimer.Proxy.Server;

/// <summary>What a client's connection logs, once or more per connection: source-generated, so a level that is off
/// costs one check and no formatting or boxing.</summary>
internal static partial class SessionLog
{
    [LoggerMessage(Level = LogLevel.Debug, Message = "Client {Client} connected, upstream connection to {Upstream} open")]
    public static partial void Connected(this ILogger logger, EndPoint? client, string upstream);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Client {Client} disconnected")]
    public static partial void Disconnected(this ILogger logger, EndPoint? client);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Client {Client} refused: {Reason}")]
    public static partial void Refused(this ILogger logger, EndPoint? client, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Client {Client} idle for more than {Seconds} s (Proxy:Timeout): closed")]
    public static partial void ClosedIdle(this ILogger logger, EndPoint? client, long seconds);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Client protocol error: {Error}")]
    public static partial void ProtocolError(this ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Client read ended")]
    public static partial void ClientReadEnded(this ILogger logger, Exception reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Upstream read ended")]
    public static partial void UpstreamReadEnded(this ILogger logger, Exception reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Upstream {Upstream} closed a client's connection")]
    public static partial void UpstreamClosed(this ILogger logger, string upstream);
}
