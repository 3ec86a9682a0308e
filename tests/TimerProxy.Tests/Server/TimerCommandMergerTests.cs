using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using RedisTimer.Proxy.Commands;
using RedisTimer.Proxy.Server;
using RedisTimer.Proxy.Server.Replies;
using RedisTimer.Resp;

namespace RedisTimer.Proxy.Tests.Server;

/// <summary>
/// The merger driven as the session drives it (Note at each command's name, TryGather for a whole TIMER.NEW,
/// Send before anything else is written, Sent for each request written), with what it writes upstream read
/// back from a pipe, and what it told the reply pipeline seen in what the pipeline makes of Redis's replies.
/// </summary>
public class TimerCommandMergerTests
{
    private const string Oom = "-OOM command not allowed when used memory > 'maxmemory'.\r\n";

    private sealed class Session
    {
        public readonly ReplyPipeline Replies = new(NullLogger.Instance);
        public readonly TimerCommandMerger Merger;
        private readonly Pipe _upstream = new();
        public int Db { get; set; }

        public Session() => Merger = new TimerCommandMerger(Replies);

        /// <summary>A TIMER.NEW id fn 100 0 frame as a client sends it; true when it was gathered.</summary>
        public bool TimerNew(string id, int padding = 0)
        {
            var frame = Frame("TIMER.NEW", id, "rt_log" + new string('x', padding), "100", "0");
            Merger.Note(CommandTable.TimerNew, 5);
            if (Merger.TryGather(frame, 5, kill: false, Db, _upstream.Writer)) return true;
            Merger.Send(Db, _upstream.Writer);
            TimerCommandRewriter.WriteNewSpliced(frame, 5, Db, _upstream.Writer);
            Merger.Sent(_upstream.Writer);
            return false;
        }

        /// <summary>A TIMER.KILL id frame as a client sends it; true when it was gathered.</summary>
        public bool TimerKill(string id)
        {
            var frame = Frame("TIMER.KILL", id);
            Merger.Note(CommandTable.TimerKill, 2);
            if (Merger.TryGather(frame, 2, kill: true, Db, _upstream.Writer)) return true;
            Merger.Send(Db, _upstream.Writer);
            TimerCommandRewriter.WriteKillSpliced(frame, Db, _upstream.Writer);
            Merger.Sent(_upstream.Writer);
            return false;
        }

        /// <summary>Any other command: the gathered TIMER.NEWs go first, then it is forwarded
        /// (<paramref name="handling"/>: what the session does on looking into its frame, before counting it).</summary>
        public void Other(string[] args, Action? handling = null)
        {
            Merger.Send(Db, _upstream.Writer);
            Merger.Note(CommandTable.Find(Encoding.ASCII.GetBytes(args[0])), args.Length);
            handling?.Invoke();
            RespWriter.WriteRaw(_upstream.Writer, Frame(args));
            Merger.Sent(_upstream.Writer);
        }

        public void Other(params string[] args) => Other(args, null);

        /// <summary>The end of a read: what was gathered is sent.</summary>
        public void EndOfRead() => Merger.Send(Db, _upstream.Writer);

        /// <summary>Each request written upstream so far, as its arguments.</summary>
        public async Task<List<string[]>> UpstreamAsync()
        {
            await _upstream.Writer.FlushAsync();
            var requests = new List<string[]>();
            if (!_upstream.Reader.TryRead(out var read)) return requests;
            var buffer = read.Buffer;
            var scanner = new RespFrameScanner(new RespFrameLimits());
            var reader = new SequenceReader<byte>(buffer);
            while (!reader.End)
            {
                long start = reader.Consumed;
                Assert.Equal(RespFrameStatus.Complete, scanner.TryScan(ref reader, out _));
                var frame = buffer.Slice(start, reader.Consumed - start);
                requests.Add(RequestArguments.Parse(frame).Select(a => Encoding.ASCII.GetString(a)).ToArray());
            }
            _upstream.Reader.AdvanceTo(buffer.End);
            return requests;
        }

        /// <summary>What the client gets of these upstream replies, numbered from the connection's first.</summary>
        public string ClientGets(string upstreamReplies)
        {
            var client = new ArrayBufferWriter<byte>();
            Replies.Write(new ReadOnlySequence<byte>(Encoding.Latin1.GetBytes(upstreamReplies)), client, final: true, out _);
            return Encoding.Latin1.GetString(client.WrittenSpan);
        }
    }

    private static ReadOnlySequence<byte> Frame(params string[] args)
    {
        var sb = new StringBuilder($"*{args.Length}\r\n");
        foreach (var a in args) sb.Append($"${a.Length}\r\n{a}\r\n");
        return new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(sb.ToString()));
    }

    // The library's reply for TIMER.INFO of a timer that does not exist; the module's is a nil.
    private const string MarkedNil = "*2\r\n$16\r\n\u001bRedisTimerInfo1\r\n$1\r\nn\r\n";

    [Fact]
    public async Task Several_gathered_TIMER_NEWs_are_sent_as_one_timer_batch_call_with_the_session_database()
    {
        var session = new Session { Db = 2 };
        Assert.True(session.TimerNew("a"));
        Assert.True(session.TimerNew("b"));
        Assert.True(session.TimerNew("c"));
        Assert.Empty(await session.UpstreamAsync()); // held until the read ends
        session.EndOfRead();

        var sent = Assert.Single(await session.UpstreamAsync());
        // db:token (the call's request number), then per timer: arguments after the id, the id, those arguments.
        Assert.Equal(["FCALL", "timer_batch", "1", "timer-tzw:due", "2:0",
                      "3", "a", "rt_log", "100", "0",
                      "3", "b", "rt_log", "100", "0",
                      "3", "c", "rt_log", "100", "0"], sent);
    }

    [Fact]
    public async Task TIMER_KILLs_are_gathered_apart_from_TIMER_NEWs_in_their_order_and_a_single_one_goes_as_timer_kill()
    {
        var session = new Session { Db = 3 };
        Assert.True(session.TimerKill("a"));
        Assert.True(session.TimerKill("b"));
        Assert.True(session.TimerNew("b"));
        Assert.True(session.TimerNew("c"));
        Assert.True(session.TimerKill("b"));
        session.EndOfRead();

        var sent = await session.UpstreamAsync();
        Assert.Equal(["FCALL", "timer_kills", "1", "timer-tzw:due", "3:0", "a", "b"], sent[0]);
        Assert.Equal(["FCALL", "timer_batch", "1", "timer-tzw:due", "3:1", "3", "b", "rt_log", "100", "0", "3", "c", "rt_log", "100", "0"], sent[1]);
        Assert.Equal(["FCALL", "timer_kill", "2", "b", "timer-tzw:due", "3"], sent[2]);
        // Out of memory, the kills still run (allow-oom) and the timer_batch is refused whole.
        Assert.Equal(":0\r\n:0\r\n" + Oom + Oom + ":1\r\n",
            session.ClientGets("*2\r\n$16\r\n\u001bRedisTimerInfo1\r\n$11\r\nb0::0\r\n:0\r\n\r\n" + Oom + ":1\r\n"));
    }

    [Fact]
    public async Task A_single_gathered_TIMER_NEW_is_sent_as_timer_new_and_its_reply_passes_as_it_is()
    {
        var session = new Session { Db = 1 };
        Assert.True(session.TimerNew("a"));
        session.EndOfRead();

        Assert.Equal([["FCALL", "timer_new", "2", "a", "timer-tzw:due", "1", "rt_log", "100", "0"]], await session.UpstreamAsync());
        // No batch to split: a refusal is its one reply, not repeated.
        Assert.Equal(Oom, session.ClientGets(Oom));
    }

    [Fact]
    public async Task A_batch_reply_is_expected_at_its_own_request_number_and_a_refusal_repeated_for_each_timer()
    {
        var session = new Session();
        session.Other("PING");             // request 0
        session.TimerNew("a");
        session.TimerNew("b");
        session.TimerNew("c");
        session.Other("PING");             // the batch goes first: request 1, this PING request 2
        session.TimerNew("d");
        session.TimerNew("e");
        session.EndOfRead();               // request 3

        var sent = await session.UpstreamAsync();
        Assert.Equal(["PING", "timer_batch", "PING", "timer_batch"], sent.Select(r => r[0] == "FCALL" ? r[1] : r[0]));
        Assert.Equal("0:1", sent[1][4]);
        Assert.Equal("0:3", sent[3][4]);
        // A refusal of a whole call (here OOM) is what each of its timers would have got alone.
        Assert.Equal("+PONG\r\n" + Oom + Oom + Oom + "+PONG\r\n" + Oom + Oom,
            session.ClientGets("+PONG\r\n" + Oom + "+PONG\r\n" + Oom));
    }

    [Fact]
    public async Task The_64th_gathered_TIMER_NEW_sends_the_call_by_itself_and_gathering_starts_again()
    {
        var session = new Session();
        for (int i = 0; i < 63; i++) Assert.True(session.TimerNew("t" + i));
        Assert.Empty(await session.UpstreamAsync());
        Assert.True(session.TimerNew("t63"));

        var full = Assert.Single(await session.UpstreamAsync());
        Assert.Equal("timer_batch", full[1]);
        Assert.Equal(5 + 64 * 5, full.Length);
        Assert.Equal("t0", full[6]);
        Assert.Equal("t63", full[^4]);

        Assert.True(session.TimerNew("t64"));
        session.EndOfRead();
        var next = Assert.Single(await session.UpstreamAsync());
        Assert.Equal(["FCALL", "timer_new", "2", "t64"], next[..4]);
        // Each full call got its count: a refusal of the 64 is repeated 64 times.
        Assert.Equal(string.Concat(Enumerable.Repeat(Oom, 64)) + Oom, session.ClientGets(Oom + Oom));
    }

    [Fact]
    public async Task Inside_MULTI_each_TIMER_NEW_goes_alone_and_after_EXEC_they_are_gathered_again()
    {
        var session = new Session();
        session.Other("MULTI");
        Assert.False(session.TimerNew("a"));
        Assert.False(session.TimerNew("b"));
        session.Other("EXEC");
        Assert.True(session.TimerNew("c"));
        Assert.True(session.TimerNew("d"));
        session.EndOfRead();

        var sent = await session.UpstreamAsync();
        Assert.Equal(["MULTI", "timer_new", "timer_new", "EXEC", "timer_batch"], sent.Select(r => r[0] == "FCALL" ? r[1] : r[0]));
        Assert.Equal("0:4", sent[4][4]);
    }

    [Fact]
    public void A_MULTI_with_arguments_opens_no_transaction_and_does_not_stop_gathering()
    {
        // Redis refuses "MULTI x" (wrong number of arguments): no transaction follows.
        var session = new Session();
        session.Other("MULTI", "x");
        Assert.True(session.TimerNew("a"));
    }

    [Fact]
    public void After_RESET_no_TIMER_NEW_is_gathered_on_the_connection()
    {
        var session = new Session();
        session.Other("RESET");
        Assert.False(session.TimerNew("a"));
    }

    [Fact]
    public async Task After_CLIENT_REPLY_OFF_no_TIMER_NEW_is_gathered_and_replies_are_no_longer_counted_from_it()
    {
        var session = new Session();
        session.Other("PING");            // request 0
        // The session ends counting on seeing CLIENT REPLY, before it counts that request: request 1.
        session.Other(["CLIENT", "REPLY", "OFF"], session.Merger.EndCounting);
        Assert.False(session.TimerNew("a"));
        Assert.False(session.TimerNew("b"));
        Assert.Equal(["PING", "CLIENT", "timer_new", "timer_new"], (await session.UpstreamAsync()).Select(r => r[0] == "FCALL" ? r[1] : r[0]));

        // Up to request 0 a reply that looks marked is the client's own value; from request 1 on marked replies are
        // found by their shape (no reply may answer a request any more).
        Assert.Equal(MarkedNil + "$-1\r\n", session.ClientGets(MarkedNil + MarkedNil));
    }

    [Fact]
    public void After_SUBSCRIBE_no_TIMER_NEW_is_gathered()
    {
        var session = new Session();
        session.Other("SUBSCRIBE", "c");
        Assert.False(session.TimerNew("a"));
    }

    [Fact]
    public void A_TIMER_NEW_larger_than_a_merged_frame_may_be_goes_alone()
    {
        var session = new Session();
        Assert.True(session.TimerNew("small"));
        Assert.False(session.TimerNew("big", padding: 5000));
    }
}
