using System.Net;
using System.Net.Sockets;

namespace RedisTimer.Proxy.Tests.Infrastructure;

public static class FreePort
{
    /// <summary>A port the OS just handed out on loopback (bound to 0, then released).</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
