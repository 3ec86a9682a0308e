using Microsoft.Extensions.Options;
using RedisTimer.Proxy.Scheduling;
using RedisTimer.Proxy.Tls;
using RedisTimer.Proxy.Upstream;

namespace RedisTimer.Proxy.Hosting;

/// <summary>
/// Refuses, at start-up, settings that would make the proxy misbehave later (a fire batch of 0 spun a core and
/// fired nothing; a reconciliation interval of 0 busy-waited): one line per setting, naming it and its range.
/// </summary>
public sealed class ProxyOptionsValidation : IValidateOptions<ProxyOptions>
{
    public ValidateOptionsResult Validate(string? name, ProxyOptions o)
    {
        var errors = new List<string>();
        Range.Check(errors, "Proxy:Port", o.Port, 0, 65535);
        Range.Check(errors, "Proxy:Tls:Port", o.Tls.Port, 0, 65535);
        Range.Check(errors, "Proxy:Tls:HandshakeTimeoutMs", o.Tls.HandshakeTimeoutMs, 1, 600_000);
        if (o.Port == 0 && o.Tls.Port == 0) errors.Add("Proxy:Port is 0 and Proxy:Tls:Port is not set: nothing to listen on");
        if (o.Port != 0 && o.Port == o.Tls.Port) errors.Add($"Proxy:Port and Proxy:Tls:Port are both {o.Port}");
        if (o.Tls.Port is >= 0 and <= 65535) ListenerTls.TryCreate(o.Tls, errors);
        Range.Check(errors, "Proxy:UpstreamDatabase", o.UpstreamDatabase, 0, int.MaxValue);
        Range.Check(errors, "Proxy:UpstreamConnectTimeoutMs", o.UpstreamConnectTimeoutMs, 1, 600_000);
        Range.Check(errors, "Proxy:MasterCheckMs", o.MasterCheckMs, 50, 60_000);
        Range.Check(errors, "Proxy:MaxBulkLength", o.MaxBulkLength, 1, long.MaxValue);
        Range.Check(errors, "Proxy:MaxClients", o.MaxClients, 1, 1_000_000);
        Range.Check(errors, "Proxy:Timeout", o.Timeout, 0, 2_000_000_000);
        Range.Check(errors, "Proxy:ShutdownDrainMs", o.ShutdownDrainMs, 0, 3_600_000);
        Range.Check(errors, "Proxy:EpollThreads", o.EpollThreads, 1, 256);
        Range.Check(errors, "Proxy:Metrics:Port", o.Metrics.Port, 0, 65535);
        if (o.Metrics.Port != 0 && (o.Metrics.Port == o.Port || o.Metrics.Port == o.Tls.Port))
            errors.Add($"Proxy:Metrics:Port {o.Metrics.Port} is also the proxy's RESP port");
        if (!System.Net.IPAddress.TryParse(o.Metrics.Address, out _))
            errors.Add($"Proxy:Metrics:Address must be an IP address (0.0.0.0 or :: for all), not '{o.Metrics.Address}'");
        if (string.IsNullOrWhiteSpace(o.ListenAddress)) errors.Add("Proxy:ListenAddress must not be empty");
        if (!string.IsNullOrWhiteSpace(o.Upstream)) UpstreamSettings.TryParse(o, o.Upstream.Trim(), errors);
        return Range.Result(errors);
    }
}

public sealed class TimerOptionsValidation : IValidateOptions<TimerOptions>
{
    public ValidateOptionsResult Validate(string? name, TimerOptions o)
    {
        var errors = new List<string>();
        Range.Check(errors, "Timers:ReconcileIntervalMs", o.ReconcileIntervalMs, 10, 3_600_000);
        Range.Check(errors, "Timers:WindowMs", o.WindowMs, 100, 86_400_000);
        Range.Check(errors, "Timers:MaxLoaded", o.MaxLoaded, 1, 100_000_000);
        // Above 1024, the WATCH of one transaction alone would hold Redis for more than 8 ms (see FireBatchSize).
        Range.Check(errors, "Timers:FireBatchSize", o.FireBatchSize, 1, 1024);
        Range.Check(errors, "Timers:LeaseMs", o.LeaseMs, 300, 600_000);
        Range.Check(errors, "Timers:WaitReplicas", o.WaitReplicas, 0, 1000);
        // Not 0, WAIT's "forever": a client must get an answer.
        Range.Check(errors, "Timers:WaitTimeoutMs", o.WaitTimeoutMs, 1, 3_600_000);
        return Range.Result(errors);
    }
}

internal static class Range
{
    public static void Check(List<string> errors, string key, long value, long min, long max)
    {
        if (value < min || value > max) errors.Add($"{key} must be {min}..{max}, not {value}");
    }

    public static ValidateOptionsResult Result(List<string> errors) =>
        errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
}
