using System.Buffers;
using System.Buffers.Text;
using System.Text;
using RedisTimer.Proxy.Timers;
using RedisTimer.Resp;

namespace RedisTimer.Proxy.Commands;

/// <summary>A whole TIMER.NEW (or, <paramref name="IsKill"/>, TIMER.KILL id) request frame as the client sent it, and its
/// argument count (name included).</summary>
public readonly record struct MergedTimerFrame(ReadOnlySequence<byte> Frame, long Arguments, bool IsKill = false);

/// <summary>
/// Turns a client's TIMER.* command, and the keyspace commands that must know about timers, into a call
/// of the proxy's function library, written to the client's own upstream connection. Redis then answers
/// it in order with everything else, inside MULTI too, with the client's ACL.
/// </summary>
public static class TimerCommandRewriter
{
    private static readonly byte[] Fcall = "FCALL"u8.ToArray();
    private static readonly byte[] Index = Encoding.ASCII.GetBytes(TimerSchema.IndexKey);

    // The rewrites of CommandTable's entries: each is applied to a whole frame whose arity is Redis's for that
    // command (TIMER.* check their own: the library answers the module's arity errors). True when written;
    // false to forward the frame unchanged.

    public static bool New(List<byte[]> args, int db, IBufferWriter<byte> output)
    {
        if (args.Count >= 2) Write(output, "timer_new", [args[1], Index], [Db(db), .. args.Skip(2)]);
        else Write(output, "timer_new", [], [Db(db)]);
        return true;
    }

    public static bool Kill(List<byte[]> args, int db, IBufferWriter<byte> output)
    {
        if (args.Count == 2) Write(output, "timer_kill", [args[1], Index], [Db(db)]);
        else Write(output, "timer_kill", [], [Db(db)]);
        return true;
    }

    public static bool Info(List<byte[]> args, int db, IBufferWriter<byte> output)
    {
        if (args.Count == 2) Write(output, "timer_info", [args[1]], []);
        else Write(output, "timer_info", [], [Db(db)]); // the function answers the arity error
        return true;
    }

    /// <summary>TIMER.LIST [MATCH pattern] [COUNT n] [CURSOR c]: the function reads the options.</summary>
    public static bool List(List<byte[]> args, int db, IBufferWriter<byte> output)
    {
        Write(output, "timer_list", [Index], [.. args.Skip(1)]);
        return true;
    }

    /// <summary>TIMER.STATS with <paramref name="extraArguments"/> after its name (the function answers the arity error).</summary>
    public static void WriteStats(long extraArguments, (string Name, long Value)[] figures, IBufferWriter<byte> output)
    {
        var argv = new List<byte[]>(1 + 2 * figures.Length) { Encoding.ASCII.GetBytes(extraArguments.ToString(System.Globalization.CultureInfo.InvariantCulture)) };
        foreach (var (name, value) in figures)
        {
            argv.Add(Encoding.ASCII.GetBytes(name));
            argv.Add(Encoding.ASCII.GetBytes(value.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
        Write(output, "timer_stats", [], argv);
    }

    public static bool Type(List<byte[]> args, int db, IBufferWriter<byte> output)
    {
        Write(output, "timer_type", [args[1]], []);
        return true;
    }

    public static bool Rename(List<byte[]> args, int db, IBufferWriter<byte> output)
    {
        Write(output, "timer_rename", [args[1], args[2], Index], [Db(db), "RENAME"u8.ToArray()]);
        return true;
    }

    public static bool RenameNx(List<byte[]> args, int db, IBufferWriter<byte> output)
    {
        Write(output, "timer_rename", [args[1], args[2], Index], [Db(db), "RENAMENX"u8.ToArray()]);
        return true;
    }

    public static bool Move(List<byte[]> args, int db, IBufferWriter<byte> output)
    {
        Write(output, "timer_move", [args[1], Index], [Db(db), args[2]]);
        return true;
    }

    /// <summary>A restored timer is indexed where it lands, so it fires.</summary>
    public static bool Restore(List<byte[]> args, int db, IBufferWriter<byte> output)
    {
        Write(output, "timer_restore", [args[1], Index], [Db(db), .. args.Skip(2)]);
        return true;
    }

    public static bool Copy(List<byte[]> args, int db, IBufferWriter<byte> output)
    {
        Write(output, "timer_copy", [args[1], args[2]], [.. args.Skip(3)]);
        return true;
    }

    /// <summary>Only SCAN ... TYPE timer-tzw (list timers) and TYPE hash (leave timers out) need help.</summary>
    public static bool Scan(List<byte[]> args, int db, IBufferWriter<byte> output)
    {
        if (ScanTypeFilter(args) is not int typeAt) return false;
        // Cursor and the other options as they are, the TYPE value last.
        var rest = args.Skip(1).Where((_, i) => i + 1 != typeAt && i + 1 != typeAt + 1).ToList();
        rest.Add(args[typeAt + 1]);
        Write(output, "timer_scan", [], rest);
        return true;
    }

    private static byte[] Db(int db) => Encoding.ASCII.GetBytes(db.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>
    /// TIMER.NEW id rest.. as FCALL timer_new 2 id index db rest.., copying the id's and the rest's bulk
    /// strings as the client sent them. <paramref name="argumentCount"/> includes the command name.
    /// </summary>
    public static void WriteNewSpliced(in ReadOnlySequence<byte> frame, long argumentCount, int db, IBufferWriter<byte> output)
    {
        TryWriteNewHead(frame, argumentCount, db, output, out long headLength);
        RespWriter.WriteRaw(output, frame.Slice(headLength));
    }

    /// <summary>
    /// Writes the rewritten start of a TIMER.NEW frame, up to and including its id, when that much of the
    /// frame is there; the rest of the frame then streams through unchanged (a timer with a 100 MB argument
    /// is never held whole). <paramref name="headLength"/> is how many bytes of the frame that covered.
    /// </summary>
    public static bool TryWriteNewHead(in ReadOnlySequence<byte> frame, long argumentCount, int db, IBufferWriter<byte> output, out long headLength)
    {
        var reader = new SequenceReader<byte>(frame);
        headLength = 0;
        if (!SkipLine(ref reader) || !SkipBulk(ref reader)) return false;   // *N, TIMER.NEW
        long idStart = reader.Consumed;
        if (!SkipBulk(ref reader)) return false;                            // id
        headLength = reader.Consumed;
        RespWriter.WriteArrayHeader(output, (int)(argumentCount + 4));
        output.Write("$5\r\nFCALL\r\n$9\r\ntimer_new\r\n$1\r\n2\r\n"u8);
        RespWriter.WriteRaw(output, frame.Slice(idStart, headLength - idStart));
        RespWriter.WriteBulkString(output, Index);
        Span<byte> digits = stackalloc byte[11];
        Utf8Formatter.TryFormat(db, digits, out int written);
        RespWriter.WriteBulkString(output, digits[..written]);
        return true;
    }

    /// <summary>TIMER.KILL id as FCALL timer_kill 2 id index db, the id copied as the client sent it.</summary>
    public static void WriteKillSpliced(in ReadOnlySequence<byte> frame, int db, IBufferWriter<byte> output)
    {
        var reader = new SequenceReader<byte>(frame);
        SkipLine(ref reader);   // *2
        SkipBulk(ref reader);   // TIMER.KILL
        RespWriter.WriteArrayHeader(output, 6);
        output.Write("$5\r\nFCALL\r\n$10\r\ntimer_kill\r\n$1\r\n2\r\n"u8);
        RespWriter.WriteRaw(output, frame.Slice(reader.Position));
        RespWriter.WriteBulkString(output, Index);
        Span<byte> digits = stackalloc byte[11];
        Utf8Formatter.TryFormat(db, digits, out int written);
        RespWriter.WriteBulkString(output, digits[..written]);
    }

    /// <summary>
    /// Consecutive pipelined TIMER.NEW frames as one call: FCALL timer_batch 1 index "db:token", then per timer the
    /// count of its arguments after the id, the id and those arguments; or consecutive TIMER.KILL frames as FCALL
    /// timer_kills 1 index "db:token" id..; all copied as the client sent them. The members are all of one kind.
    /// </summary>
    public static void WriteBatch(ReadOnlySpan<MergedTimerFrame> members, int db, long token, IBufferWriter<byte> output)
    {
        bool kills = members[0].IsKill;
        long total = 5;
        foreach (var m in members) total += kills ? 1 : m.Arguments;
        RespWriter.WriteArrayHeader(output, (int)total);
        output.Write(kills ? "$5\r\nFCALL\r\n$11\r\ntimer_kills\r\n$1\r\n1\r\n"u8 : "$5\r\nFCALL\r\n$11\r\ntimer_batch\r\n$1\r\n1\r\n"u8);
        RespWriter.WriteBulkString(output, Index);
        Span<byte> digits = stackalloc byte[32];
        Utf8Formatter.TryFormat(db, digits, out int written);
        digits[written++] = (byte)':';
        Utf8Formatter.TryFormat(token, digits[written..], out int tokenLength);
        RespWriter.WriteBulkString(output, digits[..(written + tokenLength)]);
        foreach (var m in members)
        {
            if (!kills)
            {
                Utf8Formatter.TryFormat(m.Arguments - 2, digits, out written);
                RespWriter.WriteBulkString(output, digits[..written]);
            }
            var reader = new SequenceReader<byte>(m.Frame);
            SkipLine(ref reader);   // *N
            SkipBulk(ref reader);   // TIMER.NEW or TIMER.KILL
            RespWriter.WriteRaw(output, m.Frame.Slice(reader.Position));
        }
    }

    // Frames here were validated by the request scanner; these only say whether the bytes are there yet.
    // "*N\r" and one more byte, which Redis (and the request scanner) do not check.
    private static bool SkipLine(ref SequenceReader<byte> reader)
    {
        if (!reader.TryAdvanceTo((byte)'\r') || reader.Remaining < 1) return false;
        reader.Advance(1);
        return true;
    }

    private static bool SkipBulk(ref SequenceReader<byte> reader)
    {
        if (reader.Remaining < 1) return false;
        reader.Advance(1);
        if (!reader.TryReadTo(out ReadOnlySequence<byte> digits, (byte)'\r') || reader.Remaining < 1) return false;
        reader.Advance(1);
        RespInteger.TryParse(digits, out long length);
        if (reader.Remaining < length + 2) return false;
        reader.Advance(length + 2);
        return true;
    }

    private static int? ScanTypeFilter(List<byte[]> args)
    {
        int? found = null;
        for (int i = 2; i + 1 < args.Count; i += 2)
        {
            if (Ascii.EqualsIgnoreCase(args[i], "TYPE"u8))
            {
                var value = args[i + 1];
                found = Ascii.EqualsIgnoreCase(value, "timer-tzw"u8) || Ascii.EqualsIgnoreCase(value, "hash"u8) ? i : null;
            }
        }
        // Options come in pairs after the cursor; anything odd is Redis's to refuse.
        return args.Count % 2 == 0 ? found : null;
    }

    private static void Write(IBufferWriter<byte> output, string function, List<byte[]> keys, List<byte[]> argv)
    {
        RespWriter.WriteArrayHeader(output, 3 + keys.Count + argv.Count);
        RespWriter.WriteBulkString(output, Fcall);
        RespWriter.WriteBulkString(output, Encoding.ASCII.GetBytes(function));
        RespWriter.WriteBulkString(output, Encoding.ASCII.GetBytes(keys.Count.ToString()));
        foreach (var k in keys) RespWriter.WriteBulkString(output, k);
        foreach (var a in argv) RespWriter.WriteBulkString(output, a);
    }


}
