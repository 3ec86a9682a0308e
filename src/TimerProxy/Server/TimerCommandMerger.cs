using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.InteropServices;
using RedisTimer.Proxy.Commands;
using RedisTimer.Proxy.Server.Replies;
using RedisTimer.Proxy.Upstream;

namespace RedisTimer.Proxy.Server;

/// <summary>
/// The request side of the reply pipeline: numbers every request a session sends upstream (as the reply side
/// numbers replies), says which replies need rewriting (<see cref="ReplyPipeline.Expect"/>), gathers consecutive
/// TIMER.NEW (or TIMER.KILL) frames of one read and sends them as one timer_batch (timer_kills) call, and knows when merging would change what
/// the client sees (a transaction is open, or replies no longer answer requests one to one). With
/// <c>--wait-replicas</c> it holds the replies of timer writes and sends a WAIT after each (after the EXEC of a
/// transaction that queued some).
/// </summary>
/// <remarks>
/// Gathered frames are slices of the session's current read: the session sends them (<see cref="Send"/>)
/// before anything after them is written upstream and before that read is released.
/// </remarks>
public sealed class TimerCommandMerger(ReplyPipeline replies, ReplicaWait? wait = null)
{
    private readonly ReplicaWait _wait = wait ?? ReplicaWait.None;
    private const int MaxTimers = 64;
    private const long MaxFrame = 4096;

    private readonly List<MergedTimerFrame> _gathered = new(MaxTimers);
    private long _sent;                   // requests sent upstream that Redis answers
    private bool _inMulti;                // a transaction is open: each TIMER.NEW must be queued alone
    private bool _infoInTransaction;      // the open transaction queued a rewritten TIMER.INFO
    private bool _repliesCounted = true;  // every request gets exactly one reply
    private bool _merging = true;
    private bool _writeInTransaction;     // the open transaction queued a TIMER.NEW or TIMER.KILL
    private bool _waitDue;                // the request being written is a held timer write: a WAIT follows it

    /// <summary>A request Redis answers was written upstream (after what was gathered: <see cref="Send"/> first);
    /// a WAIT follows it when it was a held timer write.</summary>
    /// <summary>How many requests Redis answers have been sent (read by the idle check, on another thread).</summary>
    public long SentCount => Volatile.Read(ref _sent);

    /// <summary>Replies answer requests one to one (not subscribed, MONITOR, CLIENT REPLY OFF/SKIP).</summary>
    public bool RepliesCounted => Volatile.Read(ref _repliesCounted);

    /// <summary>A MULTI is open: replies are +QUEUED until its EXEC.</summary>
    public bool InTransaction => _inMulti;

    public void Sent(PipeWriter output)
    {
        _sent++;
        if (_waitDue) SendWait(output);
    }

    /// <summary>
    /// The request being written creates or kills timers (before <see cref="Sent"/>): with replica waits, its reply
    /// is held until a WAIT after it answers; inside a transaction the WAIT follows the EXEC. Not while replies
    /// stop answering requests one to one (CLIENT REPLY OFF, subscribed), where nothing could be held.
    /// </summary>
    /// <param name="counts">The reply reports TIMER.NEWs or TIMER.KILLs to count (outside transactions: in one, the
    /// EXEC's array answers).</param>
    public void TimerWrite(TimerCount counts = TimerCount.None)
    {
        if (_inMulti)
        {
            if (_wait.Enabled) _writeInTransaction = true;
            return;
        }
        if (!_repliesCounted || replies.Lost) return;
        if (_wait.Enabled)
        {
            replies.Expect(new ReplyExpectation(_sent, ReplyAction.Pass, Held: true, Counts: counts));
            _waitDue = true;
        }
        else if (counts != TimerCount.None) replies.Expect(new ReplyExpectation(_sent, ReplyAction.Pass, Counts: counts));
    }

    /// <summary>The request being written is followed by a WAIT: its bytes must be written before <see cref="Sent"/>.</summary>
    public bool WaitDue => _waitDue;

    private void SendWait(PipeWriter output)
    {
        _waitDue = false;
        _wait.Write(output);
        replies.Expect(new ReplyExpectation(_sent, ReplyAction.ReplicaWait));
        _sent++;
    }

    /// <summary>The rewritten request being written has a reply that needs <paramref name="action"/> (TIMER.INFO's).</summary>
    public void Expect(ReplyAction action, byte[][]? names = null)
    {
        if (!_repliesCounted) return; // marked replies are then recognised by their shape
        replies.Expect(new ReplyExpectation(_sent, action, Names: names));
        if (_inMulti && action == ReplyAction.RewriteInfo) _infoInTransaction = true;
    }

    /// <summary>
    /// Keeps a whole TIMER.NEW frame, or a TIMER.KILL id (<paramref name="kill"/>; <paramref name="arguments"/> counts
    /// the name) to be sent with the ones that follow; false when it must go alone. Sends the gathered ones when they
    /// are as many as one call takes.
    /// </summary>
    public bool TryGather(in ReadOnlySequence<byte> frame, long arguments, bool kill, int db, PipeWriter output)
    {
        if (!_merging || !_repliesCounted || _inMulti || replies.Lost || frame.Length > MaxFrame) return false;
        // One call holds one kind: a TIMER.KILL runs when Redis is out of memory (allow-oom), a TIMER.NEW does not.
        if (_gathered.Count > 0 && _gathered[0].IsKill != kill) Send(db, output);
        _gathered.Add(new MergedTimerFrame(frame, arguments, kill));
        if (_gathered.Count == MaxTimers) Send(db, output);
        return true;
    }

    /// <summary>Sends the timer commands gathered so far: several as one timer_batch or timer_kills call, a single one alone.</summary>
    public void Send(int db, PipeWriter output)
    {
        int count = _gathered.Count;
        if (count == 0) return;
        var gathered = CollectionsMarshal.AsSpan(_gathered);
        if (count > 1)
        {
            TimerCommandRewriter.WriteBatch(gathered, db, _sent, output);
            replies.Expect(new ReplyExpectation(_sent, ReplyAction.SplitBatch, count, Held: _wait.Enabled,
                Counts: gathered[0].IsKill ? TimerCount.Kill : TimerCount.New));
            _waitDue = _wait.Enabled;
        }
        else if (gathered[0].IsKill)
        {
            TimerCommandRewriter.WriteKillSpliced(gathered[0].Frame, db, output);
            TimerWrite(TimerCount.Kill);
        }
        else
        {
            TimerCommandRewriter.WriteNewSpliced(gathered[0].Frame, gathered[0].Arguments, db, output);
            TimerWrite(TimerCount.New);
        }
        _gathered.Clear();
        Sent(output);
    }

    /// <summary>Transactions, and the commands after which replies stop answering requests one to one.</summary>
    public void Note(CommandInfo command, long arguments)
    {
        if (command.Has(CommandFlags.BeginsTransaction) && command.ArityFits(arguments))
        {
            _inMulti = true;
            _infoInTransaction = false;
            _writeInTransaction = false;
        }
        else if (command.Has(CommandFlags.EndsTransaction) && command.ArityFits(arguments))
        {
            if (command == CommandTable.Exec && _repliesCounted)
            {
                bool held = _writeInTransaction && !replies.Lost;
                if (_infoInTransaction || held)
                    replies.Expect(new ReplyExpectation(_sent, _infoInTransaction ? ReplyAction.Exec : ReplyAction.Pass, Held: held));
                _waitDue = held;
            }
            _inMulti = false;
            _infoInTransaction = false;
            _writeInTransaction = false;
        }
        else if (command.Has(CommandFlags.Resets))
        {
            _inMulti = false;
            _infoInTransaction = false;
            _writeInTransaction = false;
            _merging = false;
        }
        else if (command.Has(CommandFlags.EndsCounting))
        {
            EndCounting();
        }
    }

    /// <summary>From the request being written on, replies no longer answer requests one to one (CLIENT REPLY,
    /// SUBSCRIBE, MONITOR...): no more merging on this connection, and marked replies are found by their shape.</summary>
    public void EndCounting()
    {
        if (!_repliesCounted) return;
        _repliesCounted = false;
        replies.Expect(new ReplyExpectation(_sent, ReplyAction.EndCounting));
    }
}
