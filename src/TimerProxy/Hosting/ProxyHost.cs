using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using RedisTimer.Proxy.Scheduling;
using RedisTimer.Proxy.Server;
using RedisTimer.Proxy.Timers;
using RedisTimer.Proxy.Upstream;
using Serilog;

namespace RedisTimer.Proxy.Hosting;

/// <summary>Builds the generic host: configuration, Serilog, the embedded Redis, Kestrel with the RESP handler.</summary>
public static class ProxyHost
{
    /// <summary>Short command-line switches, on top of the full --Proxy:Port=... form.</summary>
    public static readonly IReadOnlyDictionary<string, string> Switches = new Dictionary<string, string>
    {
        ["--port"] = "Proxy:Port",
        ["--upstream"] = "Proxy:Upstream",
        ["--listen"] = "Proxy:ListenAddress",
        ["--upstream-user"] = "Proxy:UpstreamUser",
        ["--upstream-password"] = "Proxy:UpstreamPassword",
        ["--upstream-db"] = "Proxy:UpstreamDatabase",
    };

    public static IHost Build(string[] args, Action<IConfigurationBuilder>? overrides = null)
    {
        var builder = Host.CreateDefaultBuilder()
            .UseContentRoot(AppContext.BaseDirectory)
            .ConfigureAppConfiguration((_, config) =>
            {
                config.AddCommandLine(args, Switches.ToDictionary());
                overrides?.Invoke(config);
            })
            .UseSerilog((context, _, logger) => logger.ReadFrom.Configuration(context.Configuration))
            .ConfigureServices((context, services) =>
            {
                services.Configure<ProxyOptions>(context.Configuration.GetSection(ProxyOptions.Section));
                services.AddSingleton<UpstreamEndpoint>();
                services.AddSingleton<UpstreamConnector>();
                services.AddSingleton<ControlPlane>();
                services.AddSingleton<TimerLibrary>();
                services.AddSingleton<TimerServices>();
                services.Configure<TimerOptions>(context.Configuration.GetSection(TimerOptions.Section));
                services.AddSingleton<TimerScheduler>();
                // Hosted services start in order: the upstream must be known before Kestrel accepts.
                services.AddHostedService<EmbeddedRedis>();
                services.AddHostedService<UpstreamWatch>();
                services.AddHostedService<StartupBanner>();
                services.AddHostedService(sp => sp.GetRequiredService<TimerScheduler>());
                services.AddHostedService<ExistingTimersCheck>();
                services.Configure<HostOptions>(o =>
                    o.ShutdownTimeout = TimeSpan.FromMilliseconds(
                        context.Configuration.GetValue($"{ProxyOptions.Section}:ShutdownDrainMs", 5000) + 2000));
            })
            .ConfigureWebHost(web => web
                .UseKestrel((context, kestrel) =>
                {
                    var proxy = context.Configuration.GetSection(ProxyOptions.Section).Get<ProxyOptions>() ?? new ProxyOptions();
                    kestrel.Listen(IPAddress.Parse(proxy.ListenAddress), proxy.Port,
                        listen => listen.UseConnectionHandler<ClientConnectionHandler>());
                    kestrel.AddServerHeader = false;
                })
                .UseSockets(sockets =>
                {
                    sockets.UnsafePreferInlineScheduling = true;
                    sockets.WaitForDataBeforeAllocatingBuffer = false;
                })
                .Configure(_ => { }));
        return builder.Build();
    }

    /// <summary>The port Kestrel bound (useful with Port = 0).</summary>
    public static int BoundPort(IHost host)
    {
        var addresses = host.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!;
        var address = addresses.Addresses.First();
        return new Uri(address).Port;
    }
}
