namespace RedisTimer.Proxy.Timers;

/// <summary>What a client session needs of the timer machinery.</summary>
public sealed class TimerServices(TimerLibrary library)
{
    public TimerLibrary Library { get; } = library;
}
