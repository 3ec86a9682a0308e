using System.Text;
using System.Text.RegularExpressions;
using RedisTimer.Proxy.Tests.Infrastructure;

namespace RedisTimer.Proxy.Tests.Upstream;

/// <summary>
/// <c>--wait-replicas N</c>: a TIMER.NEW / TIMER.KILL (alone, merged, or in an EXEC) is answered once N replicas
/// have it, with the proxy's WAIT hidden; when they do not in time, the client gets NOREPLICAS instead of the
/// acknowledgement; every fire transaction is preceded (replicas in sync?) and followed by a WAIT, and firing waits
/// while the replicas are missing; nothing else gets a WAIT.
/// </summary>
public sealed class ReplicaWaitTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(20);

    private static Dictionary<string, string?> Waiting(int timeoutMs) => new()
    {
        ["Timers:WaitReplicas"] = "1",
        ["Timers:WaitTimeoutMs"] = timeoutMs.ToString(),
    };

    private static async Task<long> CallsAsync(RawClient direct, string command)
    {
        var m = Regex.Match(await direct.CallAsync("INFO", "commandstats"), $@"cmdstat_{command}:calls=(\d+)");
        return m.Success ? long.Parse(m.Groups[1].Value) : 0;
    }

    private static async Task<(RedisServer Master, RedisServer Replica)> MasterAndReplicaAsync()
    {
        var a = new RedisServer();
        var b = new RedisServer("--replicaof", "127.0.0.1", a.Port.ToString());
        using (var direct = await RawClient.ConnectAsync(a.Port)) await TimerFixture.LoadTestLibraryAsync(direct);
        using var c = await RawClient.ConnectAsync(b.Port);
        await TimerFixture.WaitUntilAsync(async () => (await c.CallAsync("INFO", "replication")).Contains("master_link_status:up"),
            Generous, "the replica is in sync");
        return (a, b);
    }

    [Fact]
    public async Task Timer_writes_are_answered_once_the_replica_has_them_and_only_they_are_followed_by_a_wait()
    {
        var (a, b) = await MasterAndReplicaAsync();
        using var _a = a;
        using var _b = b;
        await using var proxy = await InProcessProxy.StartAsync(a.Endpoint, Waiting(15_000));
        using var c = await RawClient.ConnectAsync(proxy.Port);
        using var master = await RawClient.ConnectAsync(a.Port);
        using var replica = await RawClient.ConnectAsync(b.Port);

        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.NEW", "w:one", "rt_count", "600000", "1", "w:one:n"));
        Assert.Equal(":1\r\n", await replica.CallAsync("EXISTS", "w:one"));

        // Pipelined (merged into batches): every reply, in order, and every timer on the replica by then.
        var pipelined = new List<byte>();
        for (int i = 0; i < 50; i++) pipelined.AddRange(RawClient.Command("TIMER.NEW", $"w:p{i}", "rt_count", "600000", "0"));
        pipelined.AddRange(RawClient.Command("GET", "w:none"));
        await c.SendAsync(pipelined.ToArray());
        for (int i = 0; i < 50; i++) Assert.Equal(":1\r\n", await c.ReadReplyAsync());
        Assert.Equal("$-1\r\n", await c.ReadReplyAsync());
        for (int i = 0; i < 50; i++) Assert.Equal(":1\r\n", await replica.CallAsync("EXISTS", $"w:p{i}"));

        // In a transaction the WAIT follows the EXEC.
        await c.SendAsync([.. RawClient.Command("MULTI"), .. RawClient.Command("TIMER.NEW", "w:tx", "rt_count", "600000", "0"),
            .. RawClient.Command("SET", "w:x", "1"), .. RawClient.Command("EXEC")]);
        Assert.Equal("+OK\r\n", await c.ReadReplyAsync());
        Assert.Equal("+QUEUED\r\n", await c.ReadReplyAsync());
        Assert.Equal("+QUEUED\r\n", await c.ReadReplyAsync());
        Assert.Equal("*2\r\n:1\r\n+OK\r\n", await c.ReadReplyAsync());
        Assert.Equal(":1\r\n", await replica.CallAsync("EXISTS", "w:tx"));

        Assert.Equal(":1\r\n", await c.CallAsync("TIMER.KILL", "w:one"));
        Assert.Equal(":0\r\n", await replica.CallAsync("EXISTS", "w:one"));

        // Nothing but timer writes gets a WAIT: reads, other writes and TIMER.INFO do not.
        Assert.Equal("+OK\r\n", await master.CallAsync("CONFIG", "RESETSTAT"));
        Assert.Equal("+OK\r\n", await c.CallAsync("SET", "w:y", "2"));
        Assert.Equal("$1\r\n2\r\n", await c.CallAsync("GET", "w:y"));
        Assert.StartsWith("*8\r\n", await c.CallAsync("TIMER.INFO", "w:tx"));
        Assert.Equal(0, await CallsAsync(master, "wait"));
        Assert.Equal(":0\r\n", await c.CallAsync("TIMER.NEW", "w:tx", "rt_count", "600000", "0"));
        Assert.Equal(1, await CallsAsync(master, "wait"));
    }

    [Fact]
    public async Task A_reply_is_held_while_the_replica_cannot_acknowledge_and_released_when_it_does()
    {
        var (a, b) = await MasterAndReplicaAsync();
        using var _a = a;
        using var _b = b;
        await using var proxy = await InProcessProxy.StartAsync(a.Endpoint, Waiting(15_000));
        using var c = await RawClient.ConnectAsync(proxy.Port);
        Signals.Send(b.Pid, Signals.SIGSTOP);
        try
        {
            await c.SendCommandAsync("TIMER.NEW", "w:held", "rt_count", "600000", "0");
            Assert.True(await c.NothingArrivesWithinAsync(TimeSpan.FromMilliseconds(800)), "answered before the replica had it");
        }
        finally
        {
            Signals.Send(b.Pid, Signals.SIGCONT);
        }
        Assert.Equal(":1\r\n", await c.ReadReplyAsync(Generous));
        using var replica = await RawClient.ConnectAsync(b.Port);
        Assert.Equal(":1\r\n", await replica.CallAsync("EXISTS", "w:held"));
    }

    [Fact]
    public async Task Without_the_replicas_a_timer_write_gets_noreplicas_after_the_timeout_and_its_timer_waits_for_them()
    {
        using var a = new RedisServer();
        using (var direct = await RawClient.ConnectAsync(a.Port)) await TimerFixture.LoadTestLibraryAsync(direct);
        await using var proxy = await InProcessProxy.StartAsync(a.Endpoint, Waiting(200));
        using var c = await RawClient.ConnectAsync(proxy.Port);
        using var master = await RawClient.ConnectAsync(a.Port);
        const string noReplicas = "-NOREPLICAS done on the master, but acknowledged by 0 of 1 replicas within 200 ms (a failover now could undo it)\r\n";

        Assert.Equal(noReplicas, await c.CallAsync("TIMER.NEW", "w:lone", "rt_count", "600000", "0"));
        Assert.Equal(":1\r\n", await master.CallAsync("EXISTS", "w:lone"));
        // A refused write changed nothing: its own error, as without waiting.
        Assert.Equal("-ERR invalid interval\r\n", await c.CallAsync("TIMER.NEW", "w:bad", "rt_count", "0", "0"));
        Assert.Equal("$-1\r\n", await c.CallAsync("GET", "w:none"));

        // Pipelined: the merged ones each get it, the GET after them its own reply.
        await c.SendAsync([.. RawClient.Command("TIMER.NEW", "w:m1", "rt_count", "600000", "0"),
            .. RawClient.Command("TIMER.NEW", "w:m2", "rt_count", "600000", "0"), .. RawClient.Command("GET", "w:none")]);
        Assert.Equal(noReplicas, await c.ReadReplyAsync());
        Assert.Equal(noReplicas, await c.ReadReplyAsync());
        Assert.Equal("$-1\r\n", await c.ReadReplyAsync());

        // Firing waits for a replica (a fire it lacks would be repeated after a failover), and goes on once one is in sync.
        Assert.Equal(noReplicas, await c.CallAsync("TIMER.NEW", "w:due", "rt_count", "100", "1", "w:due:n"));
        await Task.Delay(1500);
        Assert.Equal("$-1\r\n", await master.CallAsync("GET", "w:due:n"));
        Assert.Equal(":1\r\n", await master.CallAsync("EXISTS", "w:due"));
        using var replica = new RedisServer("--replicaof", "127.0.0.1", a.Port.ToString());
        await TimerFixture.WaitUntilAsync(async () => await master.CallAsync("GET", "w:due:n") == "$1\r\n1\r\n", Generous, "the timer fired");
        Assert.Equal(":0\r\n", await master.CallAsync("EXISTS", "w:due"));
    }

    [Fact]
    public async Task Every_fire_transaction_is_preceded_and_followed_by_a_wait()
    {
        var (a, b) = await MasterAndReplicaAsync();
        using var _a = a;
        using var _b = b;
        await using var proxy = await InProcessProxy.StartAsync(a.Endpoint, Waiting(15_000));
        using var c = await RawClient.ConnectAsync(proxy.Port);
        using var master = await RawClient.ConnectAsync(a.Port);
        var create = new List<byte>();
        for (int i = 0; i < 200; i++) create.AddRange(RawClient.Command("TIMER.NEW", $"w:f{i}", "rt_count", "1500", "1", $"w:f{i}:n"));
        await c.SendAsync(create.ToArray());
        for (int i = 0; i < 200; i++) Assert.Equal(":1\r\n", await c.ReadReplyAsync());
        Assert.Equal("+OK\r\n", await master.CallAsync("CONFIG", "RESETSTAT"));

        using var replica = await RawClient.ConnectAsync(b.Port);
        object[] counters = ["EXISTS", .. Enumerable.Range(0, 200).Select(i => (object)$"w:f{i}:n")];
        await TimerFixture.WaitUntilAsync(async () => await replica.CallAsync(counters) == ":200\r\n", Generous, "every fire reached the replica");
        long execs = await CallsAsync(master, "exec"), waits = await CallsAsync(master, "wait");
        Assert.True(execs >= 1, "the timers fired in transactions");
        Assert.Equal(2 * execs, waits); // one checks the replicas are in sync before the batch, one confirms it
        for (int i = 0; i < 200; i += 37) Assert.Equal("$1\r\n1\r\n", await replica.CallAsync("GET", $"w:f{i}:n"));
    }
}
