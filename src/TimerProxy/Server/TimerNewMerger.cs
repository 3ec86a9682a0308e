using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.InteropServices;
using RedisTimer.Proxy.Commands;

namespace RedisTimer.Proxy.Server;

/// <summary>
/// The request side of merging pipelined TIMER.NEWs (the reply side is <see cref="ReplyStream"/>): numbers
/// every request a session sends upstream, gathers consecutive TIMER.NEW frames of one read and sends them as
/// one timer_batch call, and knows when merging would change what the client sees (a transaction is open,
/// or replies no longer answer requests one to one).
/// </summary>
/// <remarks>
/// Gathered frames are slices of the session's current read: the session sends them (<see cref="Send"/>)
/// before anything after them is written upstream and before that read is released.
/// </remarks>
public sealed class TimerNewMerger(ReplyStream replies)
{
    private const int MaxTimers = 64;
    private const long MaxFrame = 4096;
    // A counting start answered with an error (OOM, NOPERM, NOAUTH...) is tried again this many requests
    // later, a few times at most (each stays in ReplyStream's queue until counting starts).
    private const long CountingRetry = 1000;
    private const int MaxCountingStarts = 8;

    private readonly List<TimerNewFrame> _gathered = new(MaxTimers);
    private long _sent;                   // requests sent upstream that Redis answers
    private bool _inMulti;                // a transaction is open: each TIMER.NEW must be queued alone
    private bool _repliesCounted = true;  // every request gets exactly one reply
    private long _lastCountingStart = -CountingRetry;
    private int _countingStartsLeft = MaxCountingStarts;

    /// <summary>A request Redis answers was written upstream (after what was gathered: <see cref="Send"/> first).</summary>
    public void Sent() => _sent++;

    /// <summary>
    /// Keeps a whole TIMER.NEW frame (<paramref name="arguments"/> counts its name) to be sent with the ones that
    /// follow; false when it must go alone. Sends the gathered ones when they are as many as one call takes.
    /// </summary>
    public bool TryGather(in ReadOnlySequence<byte> frame, long arguments, int db, PipeWriter output)
    {
        if (!_repliesCounted || _inMulti || frame.Length > MaxFrame) return false;
        _gathered.Add(new TimerNewFrame(frame, arguments));
        if (_gathered.Count == MaxTimers) Send(db, output);
        return true;
    }

    /// <summary>
    /// Sends the TIMER.NEWs gathered so far: several as one timer_batch call once replies are counted; before
    /// that, the first as a one-timer call that starts counting, the others alone (as a single one always goes).
    /// </summary>
    public void Send(int db, PipeWriter output)
    {
        int count = _gathered.Count;
        if (count == 0) return;
        var gathered = CollectionsMarshal.AsSpan(_gathered);
        int alone = 0;
        if (count > 1 && replies.Counting)
        {
            TimerCommandRewriter.WriteBatch(gathered, db, _sent, output);
            replies.ExpectBatch(_sent, count);
            _sent++;
            alone = count;
        }
        else if (count > 1 && _sent - _lastCountingStart >= CountingRetry && _countingStartsLeft > 0)
        {
            _countingStartsLeft--;
            TimerCommandRewriter.WriteBatch(gathered[..1], db, _sent, output);
            replies.ExpectBatch(_sent, 1);
            _lastCountingStart = _sent;
            _sent++;
            alone = 1;
        }
        for (int i = alone; i < count; i++)
        {
            TimerCommandRewriter.WriteNewSpliced(gathered[i].Frame, gathered[i].Arguments, db, output);
            _sent++;
        }
        _gathered.Clear();
    }

    /// <summary>Transactions, and the commands after which replies stop answering requests one to one.</summary>
    public void Note(CommandRoute route, long arguments)
    {
        switch (route)
        {
            case CommandRoute.ForwardMulti:
                _inMulti = true;
                break;
            case CommandRoute.ForwardExec:
                _inMulti = false;
                break;
            case CommandRoute.ForwardReset:
                // RESET signs the connection back in as the default user, which may need a password, and Redis
                // closes a connection that is not signed in when it sends a request of more than 10 elements:
                // a merged call (or the first one) could be that. (The proxy signs its connections in.)
                _inMulti = false;
                StopMerging();
                break;
            case CommandRoute.ForwardDiscard when arguments == 1:
                _inMulti = false;
                break;
            case CommandRoute.ForwardRepliesUncounted:
                StopMerging();
                break;
        }
    }

    /// <summary>Replies no longer answer requests one to one (CLIENT REPLY): no more merging on this connection.</summary>
    public void StopMerging()
    {
        _repliesCounted = false;
        replies.EndCounting();
    }
}
