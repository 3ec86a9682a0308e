using System.Buffers;
using RedisTimer.Proxy.Timers;
using RedisTimer.Resp;

namespace RedisTimer.Proxy.Server.Replies;

/// <summary>
/// TIMER.LIST's reply, composed here from what the library read (an <c>l</c> payload, <see cref="TimerListPage"/>),
/// so that Redis spends a page's time only on reading:
/// SCAN's <c>[cursor, entries]</c>, each entry a map (a flat array in RESP2).
/// </summary>
public static class TimerListReply
{
    private const int FieldsPerEntry = 10;

    /// <summary>Writes the reply for a whole payload (after its <c>l</c>); false, with nothing written, when the
    /// payload is not what the library sends.</summary>
    public static bool TryWrite(ReadOnlySpan<byte> rows, bool resp3, IBufferWriter<byte> output)
    {
        var reply = new ArrayBufferWriter<byte>(rows.Length * 2 + 64);
        try
        {
            if (!TryCompose(rows, resp3, reply)) return false;
        }
        catch (InvalidDataException)
        {
            return false;
        }
        output.Write(reply.WrittenSpan);
        return true;
    }

    private static bool TryCompose(ReadOnlySpan<byte> rows, bool resp3, IBufferWriter<byte> output)
    {
        if (!TimerListPage.TryOpen(rows, out var page)) return false;
        RespWriter.WriteArrayHeader(output, 2);
        RespWriter.WriteBulkString(output, page.Cursor);
        RespWriter.WriteArrayHeader(output, (int)page.Count);
        while (page.TryReadEntry(out var e))
        {
            RespWriter.WriteMapHeader(output, FieldsPerEntry, resp3);
            Field(output, "id"u8);
            RespWriter.WriteBulkString(output, e.Id);
            Field(output, "function"u8);
            RespWriter.WriteBulkString(output, e.Function);
            Field(output, "interval"u8);
            RespWriter.WriteInteger(output, e.IntervalMs);
            Field(output, "loop"u8);
            RespWriter.WriteBoolean(output, e.Loop, resp3);
            Field(output, "remaining"u8);
            RespWriter.WriteInteger(output, e.RemainingMs);
            Field(output, "runs_ok"u8);
            RespWriter.WriteInteger(output, e.RunsOk);
            Field(output, "runs_failed"u8);
            RespWriter.WriteInteger(output, e.RunsFailed);
            Field(output, "last_run"u8);
            NullableInteger(output, e.LastRun, resp3);
            Field(output, "last_lateness"u8);
            NullableInteger(output, e.LastLateness, resp3);
            Field(output, "last_error"u8);
            // '' is a run that succeeded: no error to show, as for a timer that has not run.
            if (e.LastError.IsEmpty) RespWriter.WriteNull(output, resp3);
            else RespWriter.WriteBulkString(output, e.LastError);
        }
        return true;
    }

    private static void Field(IBufferWriter<byte> output, ReadOnlySpan<byte> name) => RespWriter.WriteBulkString(output, name);

    private static void NullableInteger(IBufferWriter<byte> output, long? value, bool resp3)
    {
        if (value is { } v) RespWriter.WriteInteger(output, v);
        else RespWriter.WriteNull(output, resp3);
    }
}
