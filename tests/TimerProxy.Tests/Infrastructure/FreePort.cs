using System.Net;
using System.Net.Sockets;

namespace RedisTimer.Proxy.Tests.Infrastructure;

public static class FreePort
{
    private static readonly HashSet<int> HandedOut = [];

    /// <summary>
    /// A port the OS just handed out on loopback (bound to 0, then released), never one this test run handed out
    /// before: the OS may hand the same free port to the next bind to 0, so two servers asked for before either
    /// binds (three proxies of a drill) would get the same port, and the second would fail to start.
    /// </summary>
    public static int Next()
    {
        while (true)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            lock (HandedOut)
                if (HandedOut.Add(port)) return port;
        }
    }
}
