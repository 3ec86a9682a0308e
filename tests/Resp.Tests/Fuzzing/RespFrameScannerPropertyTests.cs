using RedisTimer.Testing;
using System.Buffers;
using static RedisTimer.Resp.Tests.Segments;

namespace RedisTimer.Resp.Tests.Fuzzing;

/// <summary>
/// Properties of <see cref="RespFrameScanner"/> over generated replies of every RESP2/RESP3 type (nested, with
/// attributes and pushes) and over mutations of them: the frames found do not depend on how the bytes are cut into
/// segments or calls; malformed input is only ever Invalid, never an exception; and scanning allocates nothing
/// within the inline nesting levels, at most the counters of the depth limit beyond them. Seeded (see FuzzRun).
/// </summary>
public class RespFrameScannerPropertyTests
{
    // One step of a scan: Complete (with the frame), NeedMoreData or Invalid, and the stream position after it.
    private readonly record struct Step(RespFrameStatus Status, long Length, byte Type, bool HasAttributes, long At);

    [Fact]
    public void Generated_replies_are_found_whole_however_they_are_split()
    {
        FuzzRun.Cases(nameof(Generated_replies_are_found_whole_however_they_are_split), 1500, (rng, _) =>
        {
            var replies = Enumerable.Range(0, rng.Next(1, 6)).Select(_ => RespGenerators.Reply(rng)).ToList();
            byte[] data = replies.SelectMany(r => r.Bytes).ToArray();
            var expected = new List<Step>();
            long at = 0;
            foreach (var r in replies)
            {
                at += r.Bytes.Length;
                expected.Add(new Step(RespFrameStatus.Complete, r.Bytes.Length, r.Type, r.HasAttributes, at));
            }
            expected.Add(new Step(RespFrameStatus.NeedMoreData, 0, 0, false, at));

            Check(expected, ScanWhole(Single(data)), "one segment", data);
            var cuts = FuzzRun.Cuts(rng, data.Length);
            Check(expected, ScanWhole(SplitAt(data, cuts)), $"segments cut at {string.Join(",", cuts)}", data);
            Check(expected, ScanArriving(data, cuts), $"calls cut at {string.Join(",", cuts)}", data);
        });
    }

    [Fact]
    public void Every_proper_prefix_of_a_generated_reply_needs_more_data()
    {
        FuzzRun.Cases(nameof(Every_proper_prefix_of_a_generated_reply_needs_more_data), 300, (rng, _) =>
        {
            var reply = RespGenerators.Reply(rng);
            // Every prefix of a short reply, 60 of a long one.
            var lengths = reply.Bytes.Length <= 60 ? Enumerable.Range(0, reply.Bytes.Length) : Enumerable.Range(0, 60).Select(_ => rng.Next(reply.Bytes.Length));
            foreach (int length in lengths)
            {
                var steps = ScanWhole(Single(reply.Bytes[..length]));
                Assert.True(steps is [{ Status: RespFrameStatus.NeedMoreData }],
                    $"prefix of {length} bytes of {ByteText.Show(reply.Bytes)}: {string.Join(" ", steps)}");
            }
        });
    }

    [Fact]
    public void Mutated_replies_are_frames_more_data_or_invalid_the_same_however_split_and_allocate_nothing()
    {
        FuzzRun.Cases(nameof(Mutated_replies_are_frames_more_data_or_invalid_the_same_however_split_and_allocate_nothing), 3000, (rng, _) =>
        {
            byte[] valid = Enumerable.Range(0, rng.Next(1, 4)).SelectMany(_ => RespGenerators.Reply(rng).Bytes).ToArray();
            byte[] data = RespGenerators.Mutate(rng, valid);
            var cuts = FuzzRun.Cuts(rng, data.Length);

            var whole = ScanWhole(Single(data));
            Check(whole, ScanWhole(SplitAt(data, cuts)), $"segments cut at {string.Join(",", cuts)}", data);
            Check(whole, ScanArriving(data, cuts), $"calls cut at {string.Join(",", cuts)}", data);
            // The default limits keep every level inline: not a byte is allocated, whatever the input.
            long allocated = FewestAllocated(() => ScanArriving(data, cuts, measure: true));
            Assert.True(allocated == 0, $"{allocated} bytes allocated scanning {ByteText.Show(data)}");
        });
    }

    [Fact]
    public void Nesting_allocates_no_more_than_the_depth_limit_allows()
    {
        FuzzRun.Cases(nameof(Nesting_allocates_no_more_than_the_depth_limit_allows), 60, (rng, _) =>
        {
            int maxDepth = rng.Next(1, 3000);
            var limits = new RespFrameLimits { MaxDepth = maxDepth };
            int depth = rng.Next(2) == 0 ? maxDepth : rng.Next(1, 4000);
            byte[] data = RespGenerators.DeepReply(rng, depth);
            if (rng.Next(3) == 0) data = RespGenerators.Mutate(rng, data);
            var cuts = FuzzRun.Cuts(rng, data.Length);

            var whole = ScanWhole(Single(data), limits);
            Check(whole, ScanArriving(data, cuts, limits), $"calls cut at {string.Join(",", cuts)}", data);
            // Counters beyond the inline levels: one long per level, in an array that doubles (so at most twice
            // the levels, plus the arrays left behind while it grew, plus an array header each).
            long bound = maxDepth <= RespFrameScanner.InlineDepth ? 0 : 4 * 8L * maxDepth + 64 * 16;
            long allocated = FewestAllocated(() => ScanArriving(data, cuts, limits, measure: true));
            Assert.True(allocated <= bound, $"{allocated} bytes allocated (bound {bound}) for depth {depth} under MaxDepth {maxDepth}");
        });
    }

    [Fact]
    public void Huge_declared_lengths_are_refused_or_awaited_without_buffering()
    {
        FuzzRun.Cases(nameof(Huge_declared_lengths_are_refused_or_awaited_without_buffering), 300, (rng, _) =>
        {
            string number = new[] { "2147483647", "536870913", "9223372036854775807", "4294967296", "99999999999999999999" }[rng.Next(5)];
            char type = "$=!*%~>|"[rng.Next(8)];
            byte[] header = Bytes($"{type}{number}\r\n");
            byte[] data = [.. header, .. RespGenerators.Payload(rng)];
            bool raised = rng.Next(2) == 0;
            var limits = raised ? new RespFrameLimits { MaxBulkLength = long.MaxValue, MaxAggregateCount = long.MaxValue / 2 } : RespFrameLimits.Default;
            var steps = ScanArriving(data, FuzzRun.Cuts(rng, data.Length), limits);
            long allocated = FewestAllocated(() => ScanArriving(data, FuzzRun.Cuts(new Random(1), data.Length), limits, measure: true));

            Assert.Equal(0, allocated);
            bool fits = ulong.TryParse(number, out ulong n) && n <= (ulong)(type is '$' or '=' or '!' ? limits.MaxBulkLength : limits.MaxAggregateCount);
            var last = steps[^1];
            if (fits)
                Assert.True(last.Status is RespFrameStatus.NeedMoreData or RespFrameStatus.Invalid, $"{ByteText.Show(data)}: {last}");
            else
                Assert.True(last.Status == RespFrameStatus.Invalid && last.At < header.Length, $"{ByteText.Show(data)} refused late: {last}");
            if (fits && type is '$' or '=' or '!') Assert.Equal(RespFrameStatus.NeedMoreData, last.Status);
        });
    }

    // ---- driver ----

    private static void Check(List<Step> expected, List<Step> actual, string how, byte[] data)
    {
        if (!expected.SequenceEqual(actual))
            Assert.Fail($"{how}: expected {string.Join(" ", expected)} but got {string.Join(" ", actual)} for {ByteText.Show(data)}");
    }

    /// <summary>Frames from the start of one buffer until it runs out or is invalid.</summary>
    private static List<Step> ScanWhole(ReadOnlySequence<byte> buffer, RespFrameLimits? limits = null)
    {
        var scanner = new RespFrameScanner(limits ?? RespFrameLimits.Default);
        var reader = new SequenceReader<byte>(buffer);
        var steps = new List<Step>();
        while (true)
        {
            var status = scanner.TryScan(ref reader, out var frame);
            steps.Add(new Step(status, frame.Length, frame.Type, frame.HasAttributes, reader.Consumed));
            if (status != RespFrameStatus.Complete) return steps;
        }
    }

    [ThreadStatic] private static long _measured;

    /// <summary>
    /// The stream arriving in calls cut at <paramref name="cuts"/>: each call sees only the new bytes (the scanner keeps
    /// what it consumed in its state). With <paramref name="measure"/>, adds the bytes each call allocates to _measured.
    /// </summary>
    private static List<Step> ScanArriving(byte[] data, int[] cuts, RespFrameLimits? limits = null, bool measure = false)
    {
        var scanner = new RespFrameScanner(limits ?? RespFrameLimits.Default);
        var steps = new List<Step>(16);
        int from = 0;
        foreach (int to in cuts.Append(data.Length))
        {
            if (to < from) continue;
            var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(data, from, to - from));
            while (true)
            {
                long before = measure ? GC.GetAllocatedBytesForCurrentThread() : 0;
                var status = scanner.TryScan(ref reader, out var frame);
                if (measure) _measured += GC.GetAllocatedBytesForCurrentThread() - before;
                if (status == RespFrameStatus.NeedMoreData && to < data.Length) break; // the next call brings more
                steps.Add(new Step(status, frame.Length, frame.Type, frame.HasAttributes, from + reader.Consumed));
                if (status == RespFrameStatus.Invalid) return steps;
                if (status == RespFrameStatus.NeedMoreData) return steps;
            }
            from = to;
        }
        return steps;
    }

    // The fewest bytes of two runs: the runtime allocates now and then on the test's thread (tiered JIT), once.
    private static long FewestAllocated(Action run)
    {
        long fewest = long.MaxValue;
        for (int attempt = 0; attempt < 2 && fewest > 0; attempt++)
        {
            _measured = 0;
            run();
            fewest = Math.Min(fewest, _measured);
        }
        return fewest;
    }
}
