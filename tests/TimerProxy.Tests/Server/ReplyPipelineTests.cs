using System.IO.Pipelines;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using RedisTimer.Proxy.Server.Replies;
using RedisTimer.Proxy.Upstream;

namespace RedisTimer.Proxy.Tests.Server;

/// <summary>
/// The reply pipeline fed with upstream bytes as Redis would send them, split at every position: the replies
/// that were expected to need it are rewritten (TIMER.INFO re-encoded, a merged call split, EXEC elements
/// checked), everything else passes unchanged, and nothing is held but the start of a reply being rewritten.
/// </summary>
public class ReplyPipelineTests
{
    private const string Magic = "\u001bRedisTimerInfo1";

    private static string Marked(string payload, bool resp3) =>
        (resp3 ? "%1\r\n" : "*2\r\n") + $"${Magic.Length}\r\n{Magic}\r\n${payload.Length}\r\n{payload}\r\n";

    private static string Batch(long token, string replies, bool resp3) => Marked($"b{token}:{replies}", resp3);

    private static string Bulk(string s) => $"${s.Length}\r\n{s}\r\n";

    // What timer_info returns for a LOOP timer with one key and one arg, and what the module answers.
    private static string InfoPayload(string arg)
    {
        string head = Bulk("function") + Bulk("rt_log") + Bulk("interval") + ":600000\r\n" + Bulk("remaining") + ":599999\r\n" + Bulk("loop");
        return $"v12:{Encoding.Latin1.GetByteCount(head)}\r\n" + head + ":1\r\n" + Bulk("key1") + Bulk("k") + Bulk("arg1") + Bulk(arg);
    }

    private static string ModuleInfo(string arg, bool resp3)
    {
        string head = Bulk("function") + Bulk("rt_log") + Bulk("interval") + ":600000\r\n" + Bulk("remaining") + ":599999\r\n" + Bulk("loop");
        return (resp3 ? "%6\r\n" : "*12\r\n") + head + (resp3 ? "#t\r\n" : ":1\r\n") + Bulk("key1") + Bulk("k") + Bulk("arg1") + Bulk(arg);
    }

    /// <summary>Upstream replies numbered as the requests were, what the client must get, and what was expected.</summary>
    private static (string Upstream, string Client, ReplyExpectation[] Expected) Conversation(string bigValue, bool resp3)
    {
        const string push = ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n";
        const string oom = "-OOM command not allowed when used memory > 'maxmemory'.\r\n";
        const string wrongType = "-ERR wrong type";
        string big = Bulk(bigValue);
        string exec = $"*3\r\n+OK\r\n{big}:7\r\n";
        string bigPush = $">2\r\n$10\r\ninvalidate\r\n*1\r\n{big}";
        string info = Marked(InfoPayload(bigValue), resp3);
        var up = new StringBuilder();
        var client = new StringBuilder();
        var expected = new List<ReplyExpectation>();
        long n = 0;
        void Reply(string upstream, string toClient, ReplyAction? action = null, int timers = 0)
        {
            if (action is { } a) expected.Add(new ReplyExpectation(n, a, timers));
            up.Append(upstream);
            client.Append(toClient);
            n++;
        }
        Reply(Batch(0, ":1\r\n:0\r\n", resp3), ":1\r\n:0\r\n", ReplyAction.SplitBatch, 2);
        Reply("+PONG\r\n", "+PONG\r\n");
        up.Append(push); client.Append(push); // not a reply
        Reply(Bulk("hello"), Bulk("hello"));
        Reply(Batch(3, ":1\r\n:0\r\n-ERR invalid interval\r\n", resp3), ":1\r\n:0\r\n-ERR invalid interval\r\n", ReplyAction.SplitBatch, 3);
        Reply(big, big);
        Reply(oom, oom + oom, ReplyAction.SplitBatch, 2);
        Reply(exec, exec);
        up.Append(bigPush); client.Append(bigPush);
        Reply(info, ModuleInfo(bigValue, resp3), ReplyAction.RewriteInfo);
        Reply(Marked("n", resp3), resp3 ? "_\r\n" : "$-1\r\n", ReplyAction.RewriteInfo);
        Reply(Marked("e" + wrongType[1..], resp3), wrongType + "\r\n", ReplyAction.RewriteInfo);
        Reply("-NOSCRIPT No matching script\r\n", "-NOSCRIPT No matching script\r\n", ReplyAction.RewriteInfo);
        // MULTI / TIMER.INFO / GET / EXEC
        Reply("+OK\r\n", "+OK\r\n");
        Reply("+QUEUED\r\n", "+QUEUED\r\n", ReplyAction.RewriteInfo);
        Reply("+QUEUED\r\n", "+QUEUED\r\n");
        Reply($"*3\r\n{info}{big}{Marked("n", resp3)}", "*3\r\n" + ModuleInfo(bigValue, resp3) + big + (resp3 ? "_\r\n" : "$-1\r\n"), ReplyAction.Exec);
        // An aborted EXEC of another transaction that queued a TIMER.INFO.
        Reply(resp3 ? "_\r\n" : "*-1\r\n", resp3 ? "_\r\n" : "*-1\r\n", ReplyAction.Exec);
        // A value that looks like a marked reply, where none is expected, is the client's own.
        Reply(info, info);
        Reply(Batch(18, ":1\r\n:1\r\n", resp3), ":1\r\n:1\r\n", ReplyAction.SplitBatch, 2);
        // SUBSCRIBE (RESP2): from here on marked replies are known by their shape.
        expected.Add(new ReplyExpectation(n, ReplyAction.EndCounting));
        string subscribed = "*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n";
        string message = $"*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n{big}";
        up.Append(subscribed + message + info + message + $"*2\r\n{info}:1\r\n");
        client.Append(subscribed + message + ModuleInfo(bigValue, resp3) + message + $"*2\r\n{ModuleInfo(bigValue, resp3)}:1\r\n");
        return (up.ToString(), client.ToString(), expected.ToArray());
    }

    /// <summary>Feeds <paramref name="chunks"/> through a pipeline as the reply pump does; returns what the client
    /// got and the most upstream bytes left unread after a write (held for later).</summary>
    private static async Task<(string Client, long MostHeld)> RunAsync(IEnumerable<byte[]> chunks, ReplyExpectation[] expected,
        ReplicaWait? wait = null)
    {
        var replies = new ReplyPipeline(NullLogger.Instance, wait);
        foreach (var e in expected) replies.Expect(e);
        long mostHeld = 0;
        var upstream = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        var client = new MemoryStream();
        var output = PipeWriter.Create(client);
        foreach (var chunk in chunks.Where(c => c.Length > 0))
        {
            await upstream.Writer.WriteAsync(chunk);
            Assert.True(upstream.Reader.TryRead(out var result));
            var buffer = result.Buffer;
            replies.Write(buffer, output, final: false, out var consumed);
            mostHeld = Math.Max(mostHeld, buffer.Slice(consumed).Length);
            upstream.Reader.AdvanceTo(consumed, buffer.End);
            await output.FlushAsync();
        }
        await upstream.Writer.CompleteAsync();
        // As the reply pump does: Redis's close is written through even with nothing left to read.
        if (upstream.Reader.TryRead(out var last))
        {
            replies.Write(last.Buffer, output, final: true, out var consumed);
            upstream.Reader.AdvanceTo(consumed, last.Buffer.End);
        }
        await output.FlushAsync();
        return (Encoding.Latin1.GetString(client.ToArray()), mostHeld);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Split_in_two_at_every_position_each_reply_is_what_the_client_must_get(bool resp3)
    {
        var (upstream, expected, expectations) = Conversation(new string('v', 300), resp3);
        byte[] bytes = Encoding.Latin1.GetBytes(upstream);
        for (int at = 0; at <= bytes.Length; at++)
        {
            var (got, _) = await RunAsync([bytes[..at], bytes[at..]], expectations);
            Assert.True(expected == got, $"split at {at}: got {got.Replace("\r\n", "|")}");
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Byte_by_byte_and_in_blocks_each_reply_is_what_the_client_must_get(bool resp3)
    {
        var (upstream, expected, expectations) = Conversation(new string('v', 70_000), resp3);
        byte[] bytes = Encoding.Latin1.GetBytes(upstream);
        Assert.Equal(expected, (await RunAsync(bytes.Select(b => new[] { b }), expectations)).Client);
        Assert.Equal(expected, (await RunAsync(bytes.Chunk(4096), expectations)).Client);
    }

    [Fact]
    public async Task Large_replies_and_a_large_timer_info_stream_through_without_being_held()
    {
        // Held whole, a 1.5 MB reply would fill the upstream pipe (1 MB) and stop it for good.
        var (upstream, expected, expectations) = Conversation(new string('v', 1_500_000), resp3: true);
        byte[] bytes = Encoding.Latin1.GetBytes(upstream);
        var (got, mostHeld) = await RunAsync(bytes.Chunk(64 * 1024), expectations);
        Assert.True(expected == got, "replies differ");
        Assert.True(mostHeld < 1024, $"{mostHeld} bytes held");
    }

    [Fact]
    public async Task A_session_that_expects_nothing_gets_every_byte_as_it_came()
    {
        var (upstream, _, _) = Conversation(new string('v', 1000), resp3: false);
        byte[] bytes = Encoding.Latin1.GetBytes(upstream);
        for (int at = 0; at <= bytes.Length; at += 13)
            Assert.Equal(upstream, (await RunAsync([bytes[..at], bytes[at..]], [])).Client);
    }

    [Fact]
    public async Task Upstream_closing_inside_a_reply_being_rewritten_passes_on_what_came()
    {
        string start = Marked(InfoPayload("x"), resp3: false)[..30];
        var (got, _) = await RunAsync([Encoding.Latin1.GetBytes("+OK\r\n" + start)], [new ReplyExpectation(1, ReplyAction.RewriteInfo)]);
        Assert.Equal("+OK\r\n" + start, got);
    }

    [Fact]
    public async Task A_reply_nested_thousands_deep_is_framed_and_the_replies_after_it_are_still_rewritten()
    {
        // A Lua script may return tables nested far deeper than the scanner's inline 128 levels.
        string deep = string.Concat(Enumerable.Repeat("*1\r\n", 3000)) + ":1\r\n";
        string upstream = Batch(0, ":1\r\n:0\r\n", false) + deep + Batch(2, ":1\r\n:1\r\n", false) + "+OK\r\n";
        string expected = ":1\r\n:0\r\n" + deep + ":1\r\n:1\r\n+OK\r\n";
        byte[] bytes = Encoding.Latin1.GetBytes(upstream);
        ReplyExpectation[] expectations = [new(0, ReplyAction.SplitBatch, 2), new(2, ReplyAction.SplitBatch, 2)];
        for (int at = 0; at <= bytes.Length; at += 97)
            Assert.Equal(expected, (await RunAsync([bytes[..at], bytes[at..]], expectations)).Client);
    }

    [Fact]
    public async Task Bytes_that_are_not_RESP_stop_rewriting_and_pass_everything_on()
    {
        string upstream = Batch(0, ":1\r\n:0\r\n", false) + "?garbage\r\n" + Batch(2, ":1\r\n:1\r\n", false);
        var (got, _) = await RunAsync([Encoding.Latin1.GetBytes(upstream)],
            [new ReplyExpectation(0, ReplyAction.SplitBatch, 2), new ReplyExpectation(2, ReplyAction.SplitBatch, 2)]);
        Assert.Equal(":1\r\n:0\r\n?garbage\r\n" + Batch(2, ":1\r\n:1\r\n", false), got);
    }

    /// <summary>Timer writes whose replies wait for the proxy's WAIT (--wait-replicas 1, 200 ms), and what the client gets.</summary>
    private static (string Upstream, string Client, ReplyExpectation[] Expected) WaitConversation(bool resp3)
    {
        var wait = new ReplicaWait(1, 200);
        string noReplicas = "-" + wait.ShortfallError(0) + "\r\n";
        const string push = ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n";
        var up = new StringBuilder();
        var client = new StringBuilder();
        var expected = new List<ReplyExpectation>();
        long n = 0;
        void Held(string upstream, ReplyAction action = ReplyAction.Pass, int timers = 0)
        {
            expected.Add(new ReplyExpectation(n++, action, timers, Held: true));
            up.Append(upstream);
        }
        void Wait(string upstream, string toClient)
        {
            expected.Add(new ReplyExpectation(n++, ReplyAction.ReplicaWait));
            up.Append(upstream);
            client.Append(toClient);
        }
        void Reply(string both)
        {
            n++;
            up.Append(both);
            client.Append(both);
        }
        // TIMER.NEW acknowledged: its reply as it came.
        Held(":1\r\n");
        Wait(":1\r\n", ":1\r\n");
        Reply(Bulk("hello"));
        // Merged TIMER.NEWs that no replica acknowledged, a push between: the refused one keeps its error.
        Held(Batch(3, ":1\r\n:0\r\n-ERR invalid interval\r\n", resp3), ReplyAction.SplitBatch, 3);
        up.Append(push);
        Wait(":0\r\n", noReplicas + noReplicas + "-ERR invalid interval\r\n" + push);
        // EXEC of a transaction with TIMER.NEW, acknowledged by more than asked.
        Held("*2\r\n:1\r\n+OK\r\n");
        Wait(":2\r\n", "*2\r\n:1\r\n+OK\r\n");
        // An EXEC that WATCH aborted changed nothing: it stays, acknowledged or not.
        Held(resp3 ? "_\r\n" : "*-1\r\n");
        Wait(":0\r\n", resp3 ? "_\r\n" : "*-1\r\n");
        // TIMER.KILL whose WAIT was refused (an ACL user without WAIT).
        Held(":1\r\n");
        const string noPerm = "-NOPERM this user has no permissions to run the 'wait' command\r\n";
        Wait(noPerm, "-" + ReplicaWait.UnconfirmedError("WAIT answered " + noPerm[..^2]) + "\r\n");
        Reply("+PONG\r\n");
        return (up.ToString(), client.ToString(), expected.ToArray());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Replies_held_for_a_replica_wait_are_released_or_replaced_when_it_answers_split_at_every_position(bool resp3)
    {
        var (upstream, expected, expectations) = WaitConversation(resp3);
        byte[] bytes = Encoding.Latin1.GetBytes(upstream);
        for (int at = 0; at <= bytes.Length; at++)
        {
            var (got, _) = await RunAsync([bytes[..at], bytes[at..]], expectations, new ReplicaWait(1, 200));
            Assert.True(expected == got, $"split at {at}: got {got.Replace("\r\n", "|")}");
        }
        var (oneByOne, _) = await RunAsync(bytes.Select(b => new[] { b }), expectations, new ReplicaWait(1, 200));
        Assert.Equal(expected, oneByOne);
    }

    [Fact]
    public async Task A_held_reply_whose_wait_never_came_is_not_passed_on_as_acknowledged_when_redis_closes()
    {
        var expectations = new[] { new ReplyExpectation(0, ReplyAction.Pass, Held: true), new ReplyExpectation(1, ReplyAction.ReplicaWait) };
        var (got, _) = await RunAsync([Encoding.Latin1.GetBytes(":1\r\n")], expectations, new ReplicaWait(1, 200));
        Assert.Equal("-" + ReplicaWait.UnconfirmedError("the connection closed before WAIT answered") + "\r\n", got);
    }
}
