using System.Buffers;
using System.Buffers.Text;
using RedisTimer.Proxy.Scheduling;
using RedisTimer.Resp;

namespace RedisTimer.Proxy.Server.Replies;

/// <summary>
/// TIMER.LIST's reply, composed here from what the library read (an <c>l</c> payload: a msgpack array of strings,
/// the ZSCAN cursor, the server's time in ms, then per timer its id, due, def, runs_ok, runs_failed, last_at,
/// last_late and last_err, '' for a field absent), so that Redis spends a page's time only on reading:
/// SCAN's <c>[cursor, entries]</c>, each entry a map (a flat array in RESP2).
/// </summary>
public static class TimerListReply
{
    private const int ValuesPerTimer = 8;
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
        var values = new MsgPackStrings.Reader(rows);
        if (values.Count < 2 || (values.Count - 2) % ValuesPerTimer != 0) return false;
        values.TryRead(out var cursor);
        values.TryRead(out var nowText);
        if (!TryReadNumber(nowText, out double nowMs)) return false;
        RespWriter.WriteArrayHeader(output, 2);
        RespWriter.WriteBulkString(output, cursor);
        RespWriter.WriteArrayHeader(output, (int)((values.Count - 2) / ValuesPerTimer));
        while (values.TryRead(out var id))
        {
            values.TryRead(out var due);
            values.TryRead(out var packedDef);
            values.TryRead(out var runsOk);
            values.TryRead(out var runsFailed);
            values.TryRead(out var lastAt);
            values.TryRead(out var lastLate);
            values.TryRead(out var lastError);
            var def = new MsgPackStrings.Reader(packedDef);
            if (def.Count < 3 || !def.TryRead(out var function) || !def.TryRead(out var interval) || !def.TryRead(out var loop)) return false;
            if (!Utf8Parser.TryParse(interval, out long intervalMs, out int used) || used != interval.Length) return false;
            if (!TryReadNumber(due, out double dueMs)) return false;

            RespWriter.WriteMapHeader(output, FieldsPerEntry, resp3);
            Field(output, "id"u8);
            RespWriter.WriteBulkString(output, id);
            Field(output, "function"u8);
            RespWriter.WriteBulkString(output, function);
            Field(output, "interval"u8);
            RespWriter.WriteInteger(output, intervalMs);
            Field(output, "loop"u8);
            RespWriter.WriteBoolean(output, loop.SequenceEqual("1"u8), resp3);
            Field(output, "remaining"u8);
            RespWriter.WriteInteger(output, (long)Math.Max(0, Math.Floor(dueMs - nowMs)));
            Field(output, "runs_ok"u8);
            RespWriter.WriteInteger(output, TryReadInteger(runsOk, out long ok) ? ok : 0);
            Field(output, "runs_failed"u8);
            RespWriter.WriteInteger(output, TryReadInteger(runsFailed, out long failed) ? failed : 0);
            Field(output, "last_run"u8);
            NullableInteger(output, lastAt, resp3);
            Field(output, "last_lateness"u8);
            NullableInteger(output, lastLate, resp3);
            Field(output, "last_error"u8);
            // '' is a run that succeeded: no error to show, as for a timer that has not run.
            if (lastError.IsEmpty) RespWriter.WriteNull(output, resp3);
            else RespWriter.WriteBulkString(output, lastError);
        }
        return true;
    }

    private static void Field(IBufferWriter<byte> output, ReadOnlySpan<byte> name) => RespWriter.WriteBulkString(output, name);

    private static void NullableInteger(IBufferWriter<byte> output, ReadOnlySpan<byte> text, bool resp3)
    {
        if (TryReadInteger(text, out long value)) RespWriter.WriteInteger(output, value);
        else RespWriter.WriteNull(output, resp3);
    }

    /// <summary>The library writes integers; a field someone edited by hand to another number is shown rounded,
    /// anything else as absent.</summary>
    private static bool TryReadInteger(ReadOnlySpan<byte> text, out long value)
    {
        if (Utf8Parser.TryParse(text, out value, out int used) && used == text.Length) return true;
        if (TryReadNumber(text, out double number) && Math.Abs(number) < 9.2e18)
        {
            value = (long)Math.Round(number, MidpointRounding.ToEven);
            return true;
        }
        value = 0;
        return false;
    }

    private static bool TryReadNumber(ReadOnlySpan<byte> text, out double value) =>
        Utf8Parser.TryParse(text, out value, out int used) && used == text.Length && !text.IsEmpty && double.IsFinite(value);
}
