using RedisTimer.Proxy.Hosting;
using Microsoft.Extensions.Hosting;

using var host = ProxyHost.Build(args);
await host.RunAsync();
