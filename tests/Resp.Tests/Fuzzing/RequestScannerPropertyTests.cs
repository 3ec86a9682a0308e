using RedisTimer.Testing;
using System.Buffers;
using System.Text;
using static RedisTimer.Resp.Tests.Segments;

namespace RedisTimer.Resp.Tests.Fuzzing;

/// <summary>
/// Properties of <see cref="RequestScanner"/>, driven as ClientSession drives it (a NeedMoreData before the name is
/// known rewinds to the frame's start): generated requests (multibulk with binary arguments, inline with quotes and
/// escapes, the empty ones Redis ignores) give the names, counts and ends they were made with, however they are cut
/// into segments or arrive; mutated ones give only names, ends, NeedMoreData or one of Redis's protocol errors,
/// never an exception, the same however cut, holding back no more than the line limit plus what just arrived, and
/// allocating nothing for a multibulk frame (an inline one: its line's arguments). Seeded (see FuzzRun).
/// </summary>
public class RequestScannerPropertyTests
{
    private readonly record struct Event(RequestEvent Kind, string Detail, long At)
    {
        public override string ToString() => $"{Kind}({Detail})@{At}";
    }

    [Fact]
    public void Generated_requests_give_their_names_counts_and_ends_however_split()
    {
        FuzzRun.Cases(nameof(Generated_requests_give_their_names_counts_and_ends_however_split), 1500, (rng, _) =>
        {
            var requests = Enumerable.Range(0, rng.Next(1, 8)).Select(_ => RespGenerators.Request(rng)).ToList();
            byte[] data = requests.SelectMany(r => r.Bytes).ToArray();
            var expected = new List<Event>();
            long start = 0;
            foreach (var r in requests)
            {
                long end = start + r.Bytes.Length;
                if (r.Name is not null) expected.Add(NameEvent(r.Name, r.ArgumentCount, r.InlineArguments, start + r.NameAt));
                expected.Add(new Event(RequestEvent.End, r.ArgumentCount.ToString(), end));
                start = end;
            }
            expected.Add(new Event(RequestEvent.NeedMoreData, "", start));

            var cuts = FuzzRun.Cuts(rng, data.Length);
            Check(expected, ScanWhole(Single(data)), "one segment", data);
            Check(expected, ScanWhole(SplitAt(data, cuts)), $"segments cut at {string.Join(",", cuts)}", data);
            Check(expected, ScanArriving(data, cuts).Events, $"arriving cut at {string.Join(",", cuts)}", data);
        });
    }

    [Fact]
    public void Mutated_requests_give_only_frames_or_Redis_protocol_errors_the_same_however_split_within_the_limits()
    {
        FuzzRun.Cases(nameof(Mutated_requests_give_only_frames_or_Redis_protocol_errors_the_same_however_split_within_the_limits), 2000, (rng, _) =>
        {
            byte[] valid = Enumerable.Range(0, rng.Next(1, 5)).SelectMany(_ => RespGenerators.Request(rng).Bytes).ToArray();
            byte[] data = RespGenerators.Mutate(rng, valid);
            // Small limits half of the time, so that mutations reach them.
            var limits = rng.Next(2) == 0 ? RespLimits.Default : new RespLimits
            {
                MaxBulkLength = rng.Next(0, 300),
                MaxMultibulkLength = rng.Next(0, 12),
                MaxInlineLength = rng.Next(1, 400),
            };
            var cuts = FuzzRun.Cuts(rng, data.Length);

            var whole = ScanWhole(Single(data), limits);
            foreach (var e in whole)
            {
                if (e.Kind != RequestEvent.Error) continue;
                Assert.True(e.Detail.StartsWith("ERR Protocol error: ", StringComparison.Ordinal), e.Detail);
            }
            Check(whole, ScanWhole(SplitAt(data, cuts), limits), $"segments cut at {string.Join(",", cuts)}", data);
            var arriving = ScanArriving(data, cuts, limits);
            // Like Redis, which checks its 64 KiB line limits on what it has read so far, a line arriving in parts
            // can be too big before its end arrives, where the whole line would be read: the same up to that error.
            var events = arriving.Events;
            if (events[^1].Detail.Contains("too big", StringComparison.Ordinal) && !whole.SequenceEqual(events))
                Check(whole.Take(events.Count - 1).ToList(), events[..^1], $"arriving cut at {string.Join(",", cuts)}, up to a line too big", data);
            else
                Check(whole, events, $"arriving cut at {string.Join(",", cuts)}", data);
            Assert.True(arriving.ExcessRetained == 0, $"held back {arriving.ExcessRetained} bytes over the limit for {ByteText.Show(data)}");
            long excess = FewestExcessAllocated(data, cuts, limits);
            Assert.True(excess == 0, $"allocated {excess} bytes over the bound for {ByteText.Show(data)}");
        });
    }

    [Fact]
    public void A_declared_bulk_length_over_the_limit_is_refused_as_its_header_arrives()
    {
        FuzzRun.Cases(nameof(A_declared_bulk_length_over_the_limit_is_refused_as_its_header_arrives), 500, (rng, _) =>
        {
            var limits = rng.Next(2) == 0 ? RespLimits.Default : new RespLimits { MaxBulkLength = rng.Next(3, 1000) };
            long length = rng.Next(3) switch
            {
                0 => limits.MaxBulkLength + 1,
                1 => int.MaxValue,
                _ => limits.MaxBulkLength + 1 + rng.NextInt64(long.MaxValue - limits.MaxBulkLength - 1),
            };
            // The long header in any argument: the name's, or a later one's.
            int before = rng.Next(0, 3);
            var head = new List<byte>(Bytes($"*{before + 1 + rng.Next(3)}\r\n"));
            for (int i = 0; i < before; i++) head.AddRange(Bytes(i == 0 ? "$3\r\nSET\r\n" : "$1\r\nv\r\n"));
            head.AddRange(Bytes($"${length}\r\n"));
            int headerEnd = head.Count;
            byte[] data = [.. head, .. RespGenerators.Payload(rng), .. RespGenerators.Payload(rng)];
            var cuts = FuzzRun.Cuts(rng, data.Length);

            var run = ScanArriving(data, cuts, limits);
            Assert.True(run.Events[^1] is { Kind: RequestEvent.Error, Detail: "ERR Protocol error: invalid bulk length" },
                $"{ByteText.Show(data)}: {string.Join(" ", run.Events)}");
            // Refused in the first call that has the header whole, never waiting for (or holding) payload bytes.
            int firstWithHeader = cuts.Append(data.Length).First(c => c >= headerEnd);
            Assert.Equal(firstWithHeader, run.ArrivedAtError);
            Assert.Equal(0, FewestExcessAllocated(data, cuts, limits));
        });
    }

    // ---- driver ----

    private static Event NameEvent(byte[] name, long count, List<byte[]>? inline, long at)
        => new(RequestEvent.Name, $"'{Latin1(name)}' n={count}{(inline is null ? "" : " [" + string.Join(",", inline.Select(Latin1)) + "]")}", at);

    private static string Latin1(byte[] b) => Encoding.Latin1.GetString(b);

    private static void Check(List<Event> expected, List<Event> actual, string how, byte[] data)
    {
        if (!expected.SequenceEqual(actual))
            Assert.Fail($"{how}: expected {string.Join(" ", expected)} but got {string.Join(" ", actual)} for {ByteText.Show(data)}");
    }

    /// <summary>
    /// One pass of ClientSession.RouteFrames over <paramref name="buffer"/> (whose first byte is at
    /// <paramref name="offset"/> of the stream). Returns false on a protocol error; <paramref name="consumed"/> is
    /// what the caller may release. <paramref name="allocated"/> gets, per Next call, the bytes allocated over the bound.
    /// </summary>
    private static bool Forward(RequestScanner scanner, ReadOnlySequence<byte> buffer, long offset, List<Event> events,
        out long consumed, List<long>? allocated = null)
    {
        var reader = new SequenceReader<byte>(buffer);
        long frameStart = 0;
        for (int guard = 0; guard < 1_000_000; guard++)
        {
            if (scanner.AtFrameStart) frameStart = reader.Consumed;
            long bound = allocated is null ? 0 : AllocationBound(scanner, reader);
            long before = GC.GetAllocatedBytesForCurrentThread();
            var e = scanner.Next(ref reader);
            long used = GC.GetAllocatedBytesForCurrentThread() - before;
            allocated?.Add(Math.Max(0, used - bound));
            switch (e)
            {
                case RequestEvent.Name:
                    events.Add(NameEvent(scanner.Name.ToArray(), scanner.ArgumentCount, scanner.InlineArguments, offset + reader.Consumed));
                    break;
                case RequestEvent.End:
                    events.Add(new Event(RequestEvent.End, scanner.ArgumentCount.ToString(), offset + reader.Consumed));
                    break;
                case RequestEvent.NeedMoreData:
                    consumed = reader.Consumed;
                    if (!scanner.AtFrameStart && !scanner.NameKnown)
                    {
                        scanner.Reset();
                        consumed = frameStart;
                    }
                    return true;
                case RequestEvent.Error:
                    Assert.True(Enum.IsDefined(scanner.Error) && scanner.Error != ProtocolError.None, $"error {scanner.Error}");
                    // Where the reader stands: the malformed frame's start, or its malformed bulk header (what came
                    // before in the frame may have streamed on already).
                    events.Add(new Event(RequestEvent.Error, ProtocolErrors.Message(scanner.Error, scanner.ErrorByte), offset + reader.Consumed));
                    consumed = 0;
                    return false;
                default:
                    throw new InvalidOperationException($"unknown event {e}");
            }
        }
        throw new InvalidOperationException("the scanner does not progress");
    }

    // A multibulk frame costs nothing; an inline line is copied and split into its arguments (Redis's sdssplitargs
    // allocates the same): at most a few times its length, and nothing while its line is incomplete.
    private static long AllocationBound(RequestScanner scanner, SequenceReader<byte> reader)
    {
        if (!scanner.AtFrameStart || !reader.TryPeek(out byte first) || first == (byte)'*') return 0;
        var rest = reader.UnreadSequence;
        var lf = rest.PositionOf((byte)'\n');
        if (lf is null) return 0;
        return 48 * rest.Slice(0, lf.Value).Length + 4096;
    }

    private static List<Event> ScanWhole(ReadOnlySequence<byte> buffer, RespLimits? limits = null)
    {
        var events = new List<Event>();
        if (Forward(new RequestScanner(limits), buffer, 0, events, out long consumed))
            events.Add(new Event(RequestEvent.NeedMoreData, "", consumed));
        return events;
    }

    private sealed record Arriving(List<Event> Events, long ExcessRetained, long ArrivedAtError, List<long> Allocated);

    /// <summary>
    /// The stream arriving in parts cut at <paramref name="cuts"/>: each pass sees what it did not release before and
    /// the new part, as two segments, as through a pipe. Checks what is held back after each pass: at most the line
    /// limit and a frame's header and short name, beyond what the last part brought.
    /// </summary>
    private static Arriving ScanArriving(byte[] data, int[] cuts, RespLimits? limits = null)
    {
        limits ??= RespLimits.Default;
        var scanner = new RequestScanner(limits);
        var events = new List<Event>();
        var allocated = new List<long>();
        int released = 0, arrived = 0;
        long excess = 0;
        foreach (int upTo in cuts.Append(data.Length))
        {
            if (upTo < arrived) continue;
            int part = upTo - arrived;
            var buffer = SplitAt(data[released..upTo], arrived - released);
            arrived = upTo;
            if (!Forward(scanner, buffer, released, events, out long consumed, allocated))
                return new Arriving(events, excess, arrived, allocated);
            released += (int)consumed;
            long held = arrived - released;
            excess = Math.Max(excess, held - (limits.MaxInlineLength + 256 + part));
        }
        events.Add(new Event(RequestEvent.NeedMoreData, "", released));
        return new Arriving(events, excess, -1, allocated);
    }

    // Per Next call, the fewest bytes over the bound of two identical runs (the runtime allocates on the test's
    // thread now and then, once: tiered JIT).
    private static long FewestExcessAllocated(byte[] data, int[] cuts, RespLimits limits)
    {
        var first = ScanArriving(data, cuts, limits).Allocated;
        var second = ScanArriving(data, cuts, limits).Allocated;
        return first.Zip(second, Math.Min).Sum();
    }
}
