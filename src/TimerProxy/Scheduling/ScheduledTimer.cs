using StackExchange.Redis;

namespace RedisTimer.Proxy.Scheduling;

/// <summary>
/// One timer as the scheduler holds it: enough to fire it (the user's FCALL) and the version that the
/// fire transaction checks, so a timer changed meanwhile is not fired in its old form.
/// </summary>
public sealed record ScheduledTimer(
    int Db,
    RedisKey Id,
    string Version,
    double DueMs,
    bool Loop,
    string Interval,
    byte[] Function,
    RedisKey[] Keys,
    RedisValue[] Args)
{
    public (int, RedisKey) Slot => (Db, Id);
}
