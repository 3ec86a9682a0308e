using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using RedisTimer.Proxy.Server;

namespace RedisTimer.Proxy.Tests.Server;

/// <summary>
/// The reply side of merged TIMER.NEWs, fed with upstream bytes as Redis would send them, split at every
/// position: each merged call's reply becomes one reply per timer, everything else passes unchanged.
/// </summary>
public class ReplyStreamTests
{
    private const string Magic = "\u001bRedisTimerInfo1";

    private static string Marked(string payload, bool resp3) =>
        (resp3 ? "%1\r\n" : "*2\r\n") + $"${Magic.Length}\r\n{Magic}\r\n${payload.Length}\r\n{payload}\r\n";

    private static string Batch(long token, string replies, bool resp3 = false) => Marked($"b{token}:{replies}", resp3);

    /// <summary>Upstream replies numbered as the requests were, what the client must get, and the calls to expect.</summary>
    private static (string Upstream, string Client, (long Index, int Timers)[] Calls) Conversation(string bigValue, bool resp3)
    {
        const string push = ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n";
        const string oom = "-OOM command not allowed when used memory > 'maxmemory'.\r\n";
        string big = $"${bigValue.Length}\r\n{bigValue}\r\n";
        string exec = $"*3\r\n+OK\r\n{big}:7\r\n";
        // Just before a merged reply: as long as the value (longer than what may be held, with the large one).
        string bigPush = $">2\r\n$10\r\ninvalidate\r\n*1\r\n{big}";
        var upstream = new StringBuilder()
            .Append(Batch(0, ":1\r\n", resp3))                          // 0: the call that starts counting
            .Append("+PONG\r\n")                                        // 1
            .Append(push)                                               // (not a reply)
            .Append("$5\r\nhello\r\n")                                  // 2
            .Append(Batch(3, ":1\r\n:0\r\n-ERR invalid interval\r\n", resp3)) // 3: three timers
            .Append(big)                                                // 4
            .Append(oom)                                                // 5: two timers, refused whole
            .Append(exec)                                               // 6
            .Append(bigPush)
            .Append(Batch(7, ":1\r\n:1\r\n", resp3))                    // 7: two timers
            .Append(Batch(8, ":0\r\n", resp3))                          // 8: one timer
            .Append("+OK\r\n")                                          // 9
            .ToString();
        string client = ":1\r\n+PONG\r\n" + push + "$5\r\nhello\r\n:1\r\n:0\r\n-ERR invalid interval\r\n" + big + oom + oom + exec
            + bigPush + ":1\r\n:1\r\n:0\r\n+OK\r\n";
        return (upstream, client, [(0, 1), (3, 3), (5, 2), (7, 2), (8, 1)]);
    }

    /// <summary>Feeds <paramref name="chunks"/> through a ReplyStream as the reply pump does; returns what the client got.</summary>
    private static async Task<string> RunAsync(IEnumerable<byte[]> chunks, (long Index, int Timers)[] calls) =>
        (await RunMeasuredAsync(chunks, calls)).Client;

    /// <summary>Also returns the most upstream bytes left unread after a write (held for later).</summary>
    private static async Task<(string Client, long MostHeld)> RunMeasuredAsync(IEnumerable<byte[]> chunks, (long Index, int Timers)[] calls)
    {
        var replies = new ReplyStream(NullLogger.Instance);
        foreach (var (index, timers) in calls) replies.ExpectBatch(index, timers);
        long mostHeld = 0;
        var upstream = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        var client = new MemoryStream();
        var output = PipeWriter.Create(client);
        foreach (var chunk in chunks.Where(c => c.Length > 0))
        {
            await upstream.Writer.WriteAsync(chunk);
            Assert.True(upstream.Reader.TryRead(out var result));
            var buffer = result.Buffer;
            if (replies.Active)
            {
                replies.Write(buffer, output, final: false, out var consumed);
                mostHeld = Math.Max(mostHeld, buffer.Slice(consumed).Length);
                upstream.Reader.AdvanceTo(consumed, buffer.End);
            }
            else
            {
                foreach (var segment in buffer) output.Write(segment.Span);
                upstream.Reader.AdvanceTo(buffer.End);
            }
            await output.FlushAsync();
        }
        await upstream.Writer.CompleteAsync();
        if (upstream.Reader.TryRead(out var last) && !last.Buffer.IsEmpty)
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
    public async Task Split_in_two_at_every_position_the_client_gets_one_reply_per_timer(bool resp3)
    {
        var (upstream, expected, calls) = Conversation(new string('v', 300), resp3);
        byte[] bytes = Encoding.Latin1.GetBytes(upstream);
        for (int at = 0; at <= bytes.Length; at++)
        {
            string got = await RunAsync([bytes[..at], bytes[at..]], calls);
            Assert.True(expected == got, $"split at {at}: got {got.Replace("\r\n", "|")}");
        }
    }

    [Fact]
    public async Task Byte_by_byte_with_a_large_value_the_client_gets_one_reply_per_timer()
    {
        // Larger than what is held while a merged reply may be coming: it streams through.
        var (upstream, expected, calls) = Conversation(new string('v', 70_000), resp3: false);
        byte[] bytes = Encoding.Latin1.GetBytes(upstream);
        Assert.Equal(expected, await RunAsync(bytes.Select(b => new[] { b }), calls));
        Assert.Equal(expected, await RunAsync(bytes.Chunk(4096), calls));
    }

    [Fact]
    public async Task A_reply_longer_than_what_may_be_held_streams_through_before_a_merged_reply()
    {
        // Held whole, a 1.5 MB push just before a merged call's reply would fill the upstream pipe (1 MB) and
        // stop it for good.
        var (upstream, expected, calls) = Conversation(new string('v', 1_500_000), resp3: false);
        byte[] bytes = Encoding.Latin1.GetBytes(upstream);
        var (got, mostHeld) = await RunMeasuredAsync(bytes.Chunk(64 * 1024), calls);
        Assert.True(expected == got, "replies differ");
        Assert.True(mostHeld <= 128 * 1024, $"{mostHeld} bytes held");
    }

    [Fact]
    public async Task After_a_reply_too_deep_to_frame_merged_replies_are_found_by_their_marks()
    {
        // A script may return arrays nested deeper than the 128 levels the reply scanner follows.
        string deep = string.Concat(Enumerable.Repeat("*1\r\n", 200)) + ":1\r\n";
        string upstream = Batch(0, ":1\r\n") + deep + Batch(2, ":1\r\n:0\r\n") + "+OK\r\n" + Batch(4, ":1\r\n:1\r\n:1\r\n");
        string expected = ":1\r\n" + deep + ":1\r\n:0\r\n+OK\r\n:1\r\n:1\r\n:1\r\n";
        byte[] bytes = Encoding.Latin1.GetBytes(upstream);
        for (int at = 0; at <= bytes.Length; at += 7)
            Assert.Equal(expected, await RunAsync([bytes[..at], bytes[at..]], [(0, 1), (2, 2), (4, 3)]));
    }
}
