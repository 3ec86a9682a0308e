namespace RedisTimer.Proxy.Server.Replies;

/// <summary>What the reply to one request needs on its way to the client; a reply with none is passed on as it is.</summary>
public enum ReplyAction : byte
{
    /// <summary>TIMER.INFO: the library's marked reply becomes the module's (a flat array, or a map with a boolean).
    /// Any other reply (an error, <c>+QUEUED</c> in a transaction) is passed on.</summary>
    RewriteInfo,
    /// <summary>A timer_batch call: its reply becomes one reply per merged TIMER.NEW, and a refusal of the whole
    /// call (OOM, NOPERM, a missing library...) is repeated for each of them, as each would have got it alone.</summary>
    SplitBatch,
    /// <summary>An EXEC whose transaction queued a rewritten TIMER.INFO: each element of its array is checked for
    /// a marked reply.</summary>
    Exec,
    /// <summary>From this request on, replies no longer answer requests one to one (SUBSCRIBE, MONITOR, CLIENT
    /// REPLY, SYNC...): marked replies are then recognised by their shape, at the top level and one level down.</summary>
    EndCounting,
    /// <summary>Passed on as it is (an expectation only to carry <see cref="ReplyExpectation.Held"/>).</summary>
    Pass,
    /// <summary>The WAIT the proxy sent after a held reply (<c>--wait-replicas</c>): hidden; it releases the
    /// replies held since, unchanged when enough replicas acknowledged, else each one that reports a change
    /// replaced by a NOREPLICAS error.</summary>
    ReplicaWait,
    /// <summary>A COMMAND INFO naming TIMER.* commands: their entries take the place of Redis's nulls.</summary>
    CommandInfo,
    /// <summary>A COMMAND DOCS naming TIMER.* commands: their docs are added where they were asked.</summary>
    CommandDocs,
    /// <summary>A script that got the prelude (EVAL, EVALSHA, SCRIPT LOAD): the SHA1 Redis has it under
    /// (<see cref="ReplyExpectation.Names"/>[0]) becomes the client's ([1]) in an error line or a 40-byte bulk
    /// string (SCRIPT LOAD's reply); any other reply is passed on.</summary>
    ScriptSha,
}

/// <summary>Which timer writes a reply reports, for the created / killed counters.</summary>
public enum TimerCount : byte
{
    None,
    /// <summary>TIMER.NEW: each <c>:1</c> (created) or <c>:0</c> (reset) counts as created.</summary>
    New,
    /// <summary>TIMER.KILL: each <c>:1</c> counts as killed.</summary>
    Kill,
}

/// <summary>An expectation for the reply to request number <paramref name="Request"/> (requests Redis answers are
/// numbered from 0 on each connection). <paramref name="Held"/>: the reply (after its action) is held until the
/// <see cref="ReplyAction.ReplicaWait"/> that follows it. <paramref name="Counts"/>: the timer writes it reports are counted.
/// <paramref name="Names"/>: the command names a COMMAND INFO or DOCS asked about.</summary>
public readonly record struct ReplyExpectation(long Request, ReplyAction Action, int Timers = 0, bool Held = false,
    TimerCount Counts = TimerCount.None, byte[][]? Names = null);
