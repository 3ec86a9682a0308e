using System.Net;
using System.Net.Sockets;
using System.Text;

namespace RedisTimer.Proxy.Hosting;

/// <summary>
/// <c>--healthcheck</c>: instead of serving, the binary connects to the plain port the configuration gives the proxy
/// (the same sources: appsettings.json, <c>Proxy__*</c> environment variables, the command line), sends <c>PING</c>,
/// and reads one reply line. For Docker's <c>HEALTHCHECK</c>, which then needs no shell tools in the image.
/// <list type="bullet">
/// <item>healthy: <c>+PONG</c>, or <c>-NOAUTH</c> (Redis answered through the proxy and only asks this client to
/// authenticate: a Redis with a password whose clients send their own AUTH);</item>
/// <item>unhealthy: nothing listening, no reply within the timeout, the connection closed, or any other reply, such as
/// the proxy's <c>-ERR upstream ... unavailable: ...</c> when Redis is down, or <c>-LOADING</c> while Redis loads.</item>
/// </list>
/// A listen address of 0.0.0.0 (or ::) is checked on 127.0.0.1 (or ::1).
/// </summary>
public static class HealthCheck
{
    public const string Switch = "--healthcheck";

    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(2);

    public readonly record struct Result(bool Healthy, string Message);

    /// <summary>The address a client on this host reaches a listener bound to <paramref name="listenAddress"/> at.</summary>
    public static IPAddress TargetOf(string listenAddress)
    {
        var address = IPAddress.Parse(listenAddress.Trim());
        if (address.Equals(IPAddress.Any)) return IPAddress.Loopback;
        if (address.Equals(IPAddress.IPv6Any)) return IPAddress.IPv6Loopback;
        return address;
    }

    /// <summary>Checks the proxy the options describe.</summary>
    public static Task<Result> CheckAsync(ProxyOptions options, TimeSpan? timeout = null)
    {
        if (options.Port == 0)
            return Task.FromResult(new Result(false, "Proxy:Port is 0: the health check needs the plain-text port"));
        return CheckAsync(new IPEndPoint(TargetOf(options.ListenAddress), options.Port), timeout ?? DefaultTimeout);
    }

    /// <summary>Connects, sends PING, judges the first reply line; everything within <paramref name="timeout"/>.</summary>
    public static async Task<Result> CheckAsync(IPEndPoint target, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        using var socket = new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        string line;
        try
        {
            await socket.ConnectAsync(target, cts.Token);
            await socket.SendAsync("*1\r\n$4\r\nPING\r\n"u8.ToArray(), SocketFlags.None, cts.Token);
            line = await ReadLineAsync(socket, cts.Token);
        }
        catch (OperationCanceledException)
        {
            return new Result(false, $"no reply to PING from {target} within {timeout.TotalMilliseconds:0} ms");
        }
        catch (SocketException e)
        {
            return new Result(false, $"cannot reach {target}: {e.Message}");
        }
        catch (EndOfStreamException)
        {
            return new Result(false, $"{target} closed the connection without replying to PING");
        }

        if (line == "+PONG" || line.StartsWith("-NOAUTH", StringComparison.Ordinal))
            return new Result(true, $"{target} answered PING: {line}");
        return new Result(false, $"{target} answered PING with: {line}");
    }

    // One reply line (a status or an error: the replies this check judges), at most 4 KiB of it.
    private static async Task<string> ReadLineAsync(Socket socket, CancellationToken cancel)
    {
        var buffer = new byte[4096];
        int length = 0;
        while (true)
        {
            int n = await socket.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None, cancel);
            if (n == 0) throw new EndOfStreamException();
            length += n;
            int end = Array.IndexOf(buffer, (byte)'\n', 0, length);
            if (end >= 0) return Encoding.UTF8.GetString(buffer, 0, end).TrimEnd('\r');
            if (length == buffer.Length) return Encoding.UTF8.GetString(buffer, 0, length);
        }
    }
}
