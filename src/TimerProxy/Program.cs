using RedisTimer.Proxy.Hosting;
using Microsoft.Extensions.Hosting;

// Run socket completions on the epoll thread instead of hopping to the thread pool: every forwarded
// command crosses two sockets, and the hop cost dominates latency (measured with bench/proxy-bench.sh).
// Must be set before the first socket exists; an explicit setting in the environment wins.
if (Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is null)
    Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");

using var host = ProxyHost.Build(args);
await host.RunAsync();
