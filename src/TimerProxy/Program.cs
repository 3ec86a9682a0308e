using RedisTimer.Proxy.Hosting;
using Microsoft.Extensions.Hosting;

// Run socket completions on the epoll thread instead of hopping to the thread pool: every forwarded
// command crosses two sockets, and the hop cost dominates latency (measured with bench/proxy-bench.sh).
// Must be set before the first socket exists; an explicit setting in the environment wins.
if (Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is null)
    Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");

try
{
    if (args.Contains(HealthCheck.Switch))
    {
        // The HEALTHCHECK of the image: PING the port these settings give the proxy, and say how it went.
        using var configured = ProxyHost.Build(args.Where(a => a != HealthCheck.Switch).ToArray());
        var health = await HealthCheck.CheckAsync(ProxyHost.Options(configured));
        (health.Healthy ? Console.Out : Console.Error).WriteLine($"redistimer: {(health.Healthy ? "healthy" : "unhealthy")}: {health.Message}");
        return health.Healthy ? 0 : 1;
    }

    using var host = ProxyHost.Build(args);
    ProxyHost.ValidateOptions(host); // before the host starts, so that a bad setting is one line, not a logged failure
    await host.RunAsync();
}
catch (Exception e) when (ProxyHost.IsConfigurationError(e, out string message))
{
    // A setting out of range, or one that does not convert (Proxy:Transport=foo): one line, and no stack trace.
    Console.Error.WriteLine($"redistimer: invalid configuration: {message}");
    return 2;
}
catch (IOException e) when (ProxyHost.IsListenError(e))
{
    // A port already taken or an address this host does not have (client or metrics listener): one line and exit 1,
    // as redis-server does, instead of an unhandled exception that aborts the process.
    Console.Error.WriteLine($"redistimer: cannot listen: {e.Message}");
    return 1;
}
return 0;
