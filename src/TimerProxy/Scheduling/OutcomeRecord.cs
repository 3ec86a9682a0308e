using System.Buffers;
using System.Buffers.Text;
using System.Text;
using RedisTimer.Proxy.Timers;
using RedisTimer.Resp;

namespace RedisTimer.Proxy.Scheduling;

/// <summary>
/// The call that keeps what a fire came to with its timers in Redis (the library's <c>timer_outcomes</c>): written
/// right after the fire's EXEC, since only its reply tells whether each function failed. Only fires worth keeping
/// are in it: a LOOP timer's run (its counters and last outcome) and any failure (the db's list of recent
/// failures); a burst of one-shot timers that all succeed writes nothing more.
/// </summary>
internal static class OutcomeRecord
{
    private static readonly byte[] FailuresKey = Encoding.ASCII.GetBytes(TimerSchema.FailuresKey);

    public static bool Worth(in ScheduledTimer timer, in FireOutcome outcome) =>
        outcome.Result == FireResult.FiredWithFunctionError || (outcome.Result == FireResult.Fired && timer.Loop);

    /// <summary>FCALL timer_outcomes 1+n failures id.. at (version lateness error function)..; <paramref name="count"/>
    /// of the outcomes are <see cref="Worth"/> keeping.</summary>
    public static void Write(IBufferWriter<byte> output, List<ScheduledTimer> timers, ArraySegment<FireOutcome> outcomes, int count, double nowMs)
    {
        Span<byte> number = stackalloc byte[24];
        RespWriter.WriteArrayHeader(output, 5 + 5 * count);
        output.Write("$5\r\nFCALL\r\n$14\r\ntimer_outcomes\r\n"u8);
        WriteInteger(output, number, 1 + count);
        RespWriter.WriteBulkString(output, FailuresKey);
        for (int i = 0; i < timers.Count; i++)
            if (Worth(timers[i], outcomes[i])) RespWriter.WriteBulkString(output, timers[i].Id);
        WriteInteger(output, number, (long)nowMs);
        for (int i = 0; i < timers.Count; i++)
        {
            var t = timers[i];
            var o = outcomes[i];
            if (!Worth(t, o)) continue;
            RespWriter.WriteBulkString(output, o.Rearmed.IsEmpty ? default : o.Rearmed.Version);
            WriteInteger(output, number, (long)Math.Max(0, nowMs - t.DueMs));
            if (o.Result == FireResult.FiredWithFunctionError) RespWriter.WriteBulkString(output, Encoding.UTF8.GetBytes(o.FunctionError ?? "ERR"));
            else RespWriter.WriteBulkString(output, default);
            var def = new MsgPackStrings.Reader(t.Definition);
            def.TryRead(out var fn);
            RespWriter.WriteBulkString(output, fn);
        }
    }

    private static void WriteInteger(IBufferWriter<byte> output, Span<byte> scratch, long value)
    {
        Utf8Formatter.TryFormat(value, scratch, out int length);
        RespWriter.WriteBulkString(output, scratch[..length]);
    }
}
