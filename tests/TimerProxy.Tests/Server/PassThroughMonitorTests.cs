using System.Text.RegularExpressions;
using RedisTimer.Proxy.Tests.Infrastructure;
using static RedisTimer.Proxy.Tests.Server.PassThroughSupport;

namespace RedisTimer.Proxy.Tests.Server;

public class PassThroughMonitorTests(ProxyFixture fx) : IClassFixture<ProxyFixture>
{
    // Reads MONITOR lines until one mentions the marker (other clients of this Redis may show up too).
    private static async Task<string> ReadMonitorLineWithAsync(RawClient monitor, string marker)
    {
        var deadline = DateTime.UtcNow + Generous;
        while (DateTime.UtcNow < deadline)
        {
            string line = await monitor.ReadReplyAsync(Generous);
            Assert.StartsWith("+", line);
            if (line.Contains(marker)) return line;
        }
        throw new TimeoutException($"no MONITOR line with {marker}");
    }

    [Fact]
    public async Task Monitor_through_the_proxy_sees_commands_of_another_proxied_client()
    {
        string key = Key("mon");
        using var monitor = await fx.ConnectProxyAsync();
        using var other = await fx.ConnectProxyAsync();
        Assert.Equal("+OK\r\n", await monitor.CallAsync("MONITOR"));
        Assert.Equal("+OK\r\n", await other.CallAsync("SET", key, "seen value"));
        string line = await ReadMonitorLineWithAsync(monitor, key);
        Assert.Matches(new Regex(@"^\+\d+\.\d{6} \[0 127\.0\.0\.1:\d+\] ""SET"" """ + Regex.Escape(key) + @""" ""seen value""\r\n$"), line);
    }

    [Fact]
    public async Task Monitor_through_the_proxy_sees_a_direct_client_in_another_db_and_escapes_binary()
    {
        string key = Key("mon-direct");
        using var monitor = await fx.ConnectProxyAsync();
        using var direct = await fx.ConnectRedisAsync();
        Assert.Equal("+OK\r\n", await monitor.CallAsync("MONITOR"));
        Assert.Equal("+OK\r\n", await direct.CallAsync("SELECT", "2"));
        Assert.Equal("+OK\r\n", await direct.CallAsync("SET", key, new byte[] { (byte)'a', 13, 10, 0 }));
        string line = await ReadMonitorLineWithAsync(monitor, key);
        Assert.Matches(new Regex(@"^\+\d+\.\d{6} \[2 127\.0\.0\.1:\d+\] ""SET"" """ + Regex.Escape(key) + @""" ""a\\r\\n\\x00""\r\n$"), line);
    }

    [Fact]
    public async Task Monitor_shows_commands_sent_through_the_proxy_exactly_once_and_unchanged()
    {
        // The proxy forwards each command as is (MONITOR shows the client's own spelling): one line per command.
        string key = Key("mon-once");
        using var monitor = await fx.ConnectRedisAsync();
        Assert.Equal("+OK\r\n", await monitor.CallAsync("MONITOR"));
        using var c = await fx.ConnectProxyAsync();
        Assert.Equal("+OK\r\n", await c.CallAsync("SET", key, "1"));
        Assert.Equal(":2\r\n", await c.CallAsync("INCR", key));
        Assert.Equal("+OK\r\n", await c.CallAsync("SET", key + ":end", "1"));

        var lines = new List<string>();
        while (true)
        {
            string line = await monitor.ReadReplyAsync(Generous);
            lines.Add(line);
            if (line.Contains(key + ":end")) break;
        }
        var mine = lines.Where(l => l.Contains(key)).Select(l => l[(l.IndexOf("] ") + 2)..]).ToList();
        Assert.Equal(new[] { $"\"SET\" \"{key}\" \"1\"\r\n", $"\"INCR\" \"{key}\"\r\n", $"\"SET\" \"{key}:end\" \"1\"\r\n" }, mine);
    }
}
