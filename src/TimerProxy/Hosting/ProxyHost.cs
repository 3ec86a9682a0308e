using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using RedisTimer.Proxy.Metrics;
using RedisTimer.Proxy.Scheduling;
using RedisTimer.Proxy.Server;
using RedisTimer.Proxy.Transport;
using RedisTimer.Proxy.Timers;
using RedisTimer.Proxy.Upstream;
using Serilog;

namespace RedisTimer.Proxy.Hosting;

/// <summary>Builds the generic host: configuration, Serilog, the embedded Redis, the client listener (Transport) with the RESP handler.</summary>
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
        ["--tls-port"] = "Proxy:Tls:Port",
        ["--tls-cert-file"] = "Proxy:Tls:CertFile",
        ["--tls-key-file"] = "Proxy:Tls:KeyFile",
        ["--tls-ca-cert-file"] = "Proxy:Tls:CaCertFile",
        ["--tls-auth-clients"] = "Proxy:Tls:AuthClients",
        ["--upstream-tls-ca-cert-file"] = "Proxy:UpstreamTls:CaCertFile",
        ["--upstream-tls-cert-file"] = "Proxy:UpstreamTls:CertFile",
        ["--upstream-tls-key-file"] = "Proxy:UpstreamTls:KeyFile",
        ["--wait-replicas"] = "Timers:WaitReplicas",
        ["--wait-timeout-ms"] = "Timers:WaitTimeoutMs",
        ["--metrics-port"] = "Proxy:Metrics:Port",
        ["--maxclients"] = "Proxy:MaxClients",
        ["--timeout"] = "Proxy:Timeout",
        ["--metrics-address"] = "Proxy:Metrics:Address",
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
                services.AddOptions<ProxyOptions>().Bind(context.Configuration.GetSection(ProxyOptions.Section)).ValidateOnStart();
                services.AddSingleton<IValidateOptions<ProxyOptions>, ProxyOptionsValidation>();
                services.AddMetrics();
                services.AddSingleton<ProxyMetrics>();
                services.AddSingleton<UpstreamEndpoint>();
                services.AddSingleton<EpollTransport>();
                services.AddSingleton<UpstreamConnector>();
                services.AddSingleton<ControlPlane>();
                services.AddSingleton<TimerLibrary>();
                services.AddOptions<TimerOptions>().Bind(context.Configuration.GetSection(TimerOptions.Section)).ValidateOnStart();
                services.AddSingleton<IValidateOptions<TimerOptions>, TimerOptionsValidation>();
                services.AddSingleton(sp => sp.GetRequiredService<IOptions<TimerOptions>>().Value is { WaitReplicas: > 0 } o
                    ? new ReplicaWait(o.WaitReplicas, o.WaitTimeoutMs) : ReplicaWait.None);
                services.AddSingleton<TimerScheduler>();
                services.AddSingleton<ITimerActivation>(sp => sp.GetRequiredService<TimerScheduler>());
                // Hosted services start in order: the upstream must be known before the listener accepts.
                services.AddHostedService<EmbeddedRedis>();
                services.AddSingleton<MasterLocator>();
                services.AddHostedService(sp => sp.GetRequiredService<MasterLocator>());
                services.AddHostedService<UpstreamWatch>();
                services.AddHostedService<StartupBanner>();
                services.AddSingleton<MetricsEndpoint>();
                services.AddHostedService(sp => sp.GetRequiredService<MetricsEndpoint>());
                services.AddHostedService(sp => sp.GetRequiredService<TimerScheduler>());
                services.AddHostedService<ExistingTimersCheck>();
                // Last, so it starts accepting after everything above is up and stops accepting first.
                services.AddSingleton<ConnectionHandler, ClientConnectionHandler>();
                services.AddSingleton<ClientListener>();
                services.AddHostedService(sp => sp.GetRequiredService<ClientListener>());
                services.Configure<HostOptions>(o =>
                    o.ShutdownTimeout = TimeSpan.FromMilliseconds(
                        context.Configuration.GetValue($"{ProxyOptions.Section}:ShutdownDrainMs", 5000) + 2000));
            });
        return builder.Build();
    }

    /// <summary>Binds and validates every options section now; throws what <see cref="IsConfigurationError"/> recognises.</summary>
    public static void ValidateOptions(IHost host)
    {
        _ = host.Services.GetRequiredService<IOptions<ProxyOptions>>().Value;
        _ = host.Services.GetRequiredService<IOptions<TimerOptions>>().Value;
    }

    /// <summary>The validated "Proxy" settings of a host built but not started (the health check's).</summary>
    public static ProxyOptions Options(IHost host) => host.Services.GetRequiredService<IOptions<ProxyOptions>>().Value;

    /// <summary>True for a start-up failure caused by a setting: out of range, or not convertible to its type.</summary>
    public static bool IsConfigurationError(Exception e, out string message)
    {
        switch (e)
        {
            case AggregateException all when all.InnerExceptions.All(inner => IsConfigurationError(inner, out _)):
                message = string.Join("; ", all.InnerExceptions.Select(inner => IsConfigurationError(inner, out string m) ? m : ""));
                return true;
            case OptionsValidationException invalid:
                message = string.Join("; ", invalid.Failures);
                return true;
            // The binder's text names the key and the type: "Failed to convert configuration value '...' at 'Proxy:Port' to type 'System.Int32'."
            case InvalidOperationException { Message: var text } when text.StartsWith("Failed to convert configuration value", StringComparison.Ordinal):
                message = text;
                return true;
            default:
                message = "";
                return false;
        }
    }

    /// <summary>True for a start-up failure of a listener to bind (a port already taken, an address this host does not
    /// have), however wrapped: the metrics endpoint names its setting around Kestrel's text.</summary>
    public static bool IsListenError(IOException e)
    {
        for (Exception? inner = e; inner is not null; inner = inner.InnerException)
            if (inner is System.Net.Sockets.SocketException) return true;
        return false;
    }

    /// <summary>The plain and TLS ports the listener bound (0 for one not open).</summary>
    public static (int Port, int TlsPort) BoundPorts(IHost host)
    {
        var listener = host.Services.GetRequiredService<ClientListener>();
        return (listener.Port, listener.TlsPort);
    }
}
