using System.Text;
using RedisTimer.Proxy.Tests.Infrastructure;

namespace RedisTimer.Proxy.Tests.Server;

/// <summary>Small helpers shared by the pass-through tests (kept beside them, not in Infrastructure).</summary>
internal static class PassThroughSupport
{
    public static readonly TimeSpan Generous = TimeSpan.FromSeconds(10);

    /// <summary>A key name no other test uses: prefix plus a fixed-length unique suffix.</summary>
    public static string Key(string prefix) => $"pt:{prefix}:{Guid.NewGuid():N}";

    /// <summary>RESP bulk string encoding of a UTF-8 string.</summary>
    public static string Bulk(string s) => $"${Encoding.UTF8.GetByteCount(s)}\r\n{s}\r\n";

    public static long ParseInteger(string reply)
    {
        Assert.True(reply.StartsWith(':') && reply.EndsWith("\r\n"), $"not an integer reply: {reply}");
        return long.Parse(reply[1..^2]);
    }

    /// <summary>The connection's id as Redis numbers it (the upstream connection's id, for a proxied client).</summary>
    public static async Task<long> ClientIdAsync(RawClient c) => ParseInteger(await c.CallAsync("CLIENT", "ID"));

    /// <summary>Polls a real condition (not a fixed sleep) until it holds, failing after <paramref name="timeout"/>.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Generous);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out waiting until {what}");
            await Task.Delay(10);
        }
    }

    /// <summary>Waits until Redis reports the client with this id as blocked (flags contain 'b').</summary>
    public static async Task WaitUntilBlockedAsync(ProxyFixture fx, long clientId)
    {
        using var direct = await fx.ConnectRedisAsync();
        await WaitUntilAsync(async () =>
        {
            string list = await direct.CallAsync("CLIENT", "LIST", "ID", clientId);
            var flags = list.Split(' ').FirstOrDefault(f => f.StartsWith("flags="));
            return flags is not null && flags.Contains('b');
        }, $"client {clientId} is blocked in Redis");
    }

    /// <summary>
    /// Runs the commands built for a fresh key (same length on both sides) over a direct connection and over
    /// the proxy; the transcripts must be identical when replies carry no per-connection data.
    /// </summary>
    public static async Task<(string Direct, string Proxied)> DifferentialAsync(ProxyFixture fx, string prefix,
        Func<string, object[][]> commands)
    {
        string dk = Key(prefix), pk = Key(prefix);
        using var direct = await fx.ConnectRedisAsync();
        using var proxied = await fx.ConnectProxyAsync();
        var d = new StringBuilder();
        var p = new StringBuilder();
        foreach (var command in commands(dk)) d.Append((await direct.CallAsync(command)).Replace(dk, "<key>"));
        foreach (var command in commands(pk)) p.Append((await proxied.CallAsync(command)).Replace(pk, "<key>"));
        return (d.ToString(), p.ToString());
    }
}
