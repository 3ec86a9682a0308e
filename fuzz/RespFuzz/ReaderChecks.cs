using System.Buffers;
using RedisTimer.Resp;

namespace RedisTimer.Fuzz;

/// <summary>
/// What one fuzz input must satisfy. Its first byte picks the limits (Redis's defaults, or small ones the fuzzer can
/// reach) and where the rest is cut; the rest is scanned as client requests (<see cref="RequestScanner"/>, driven as
/// ClientSession drives it) and as replies (<see cref="RespFrameScanner"/>), each whole, in segments and arriving in
/// parts. Any exception is a crash: one from the scanners (they must never throw on input), or the
/// <see cref="InvalidOperationException"/> thrown here when the outcome depends on how the bytes were cut.
/// </summary>
public static class ReaderChecks
{
    private static readonly RespLimits SmallRequestLimits = new() { MaxBulkLength = 64, MaxMultibulkLength = 8, MaxInlineLength = 64 };
    private static readonly RespFrameLimits SmallReplyLimits = new() { MaxBulkLength = 64, MaxAggregateCount = 8, MaxDepth = 8 };
    private static readonly RespFrameLimits DeepReplyLimits = new() { MaxDepth = 300 };

    public static void Run(byte[] input)
    {
        if (input.Length == 0) return;
        byte control = input[0];
        byte[] data = input[1..];
        int[] cuts = Cuts(control, data.Length);

        var requestLimits = (control & 1) != 0 ? SmallRequestLimits : RespLimits.Default;
        var whole = Requests.Whole(new ReadOnlySequence<byte>(data), requestLimits);
        Same("requests in segments", whole, Requests.Whole(Segments(data, cuts), requestLimits), data, cuts);
        var arriving = Requests.Arriving(data, cuts, requestLimits);
        // Redis checks its line limits on what it has read so far: a line arriving in parts may be too big before its
        // end arrives, where the whole line is read. Up to that error the outcome is the same.
        if (arriving[^1].Contains("too big", StringComparison.Ordinal) && !whole.SequenceEqual(arriving))
            Same("requests arriving, up to a line too big", whole.Take(arriving.Count - 1).ToList(), arriving[..^1], data, cuts);
        else
            Same("requests arriving", whole, arriving, data, cuts);

        var replyLimits = (control & 6) switch { 2 => SmallReplyLimits, 4 => DeepReplyLimits, _ => RespFrameLimits.Default };
        var frames = Replies.Whole(new ReadOnlySequence<byte>(data), replyLimits);
        Same("replies in segments", frames, Replies.Whole(Segments(data, cuts), replyLimits), data, cuts);
        Same("replies arriving", frames, Replies.Arriving(data, cuts, replyLimits), data, cuts);
    }

    private static void Same(string how, List<string> expected, List<string> actual, byte[] data, int[] cuts)
    {
        if (!expected.SequenceEqual(actual))
            throw new InvalidOperationException($"{how} (cut at {string.Join(",", cuts)}) differ from whole: " +
                $"[{string.Join(" ", expected)}] vs [{string.Join(" ", actual)}] for {Convert.ToHexString(data)}");
    }

    // Up to 8 cuts, from the control byte's high bits and a small generator seeded with it and the length.
    private static int[] Cuts(byte control, int length)
    {
        if (length == 0) return [];
        int n = 1 + (control >> 5);
        uint x = (uint)(control * 2654435761u) ^ (uint)length;
        var cuts = new int[n];
        for (int i = 0; i < n; i++)
        {
            x = x * 1664525 + 1013904223;
            cuts[i] = (int)(x >> 8) % (length + 1);
        }
        Array.Sort(cuts);
        return cuts;
    }

    private static ReadOnlySequence<byte> Segments(byte[] data, int[] cuts)
    {
        Segment? first = null, last = null;
        int start = 0;
        foreach (int end in cuts.Append(data.Length))
        {
            var memory = data.AsMemory(start, end - start);
            if (first is null) first = last = new Segment(memory, 0);
            else last = last!.Append(memory);
            start = end;
        }
        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }

    private static class Requests
    {
        public static List<string> Whole(ReadOnlySequence<byte> buffer, RespLimits limits)
        {
            var events = new List<string>();
            if (Forward(new RequestScanner(limits), buffer, 0, events, out long consumed)) events.Add($"need@{consumed}");
            return events;
        }

        // As through a pipe: each pass sees what it did not release before and the new part.
        public static List<string> Arriving(byte[] data, int[] cuts, RespLimits limits)
        {
            var scanner = new RequestScanner(limits);
            var events = new List<string>();
            int released = 0, arrived = 0;
            foreach (int upTo in cuts.Append(data.Length))
            {
                if (upTo < arrived) continue;
                int part = upTo - arrived;
                var buffer = Segments(data[released..upTo], [arrived - released]);
                arrived = upTo;
                if (!Forward(scanner, buffer, released, events, out long consumed)) return events;
                released += (int)consumed;
                // Held back: at most a line's limit and a frame's header and short name, beyond the part that came.
                if (arrived - released > limits.MaxInlineLength + 256 + part)
                    throw new InvalidOperationException($"holds {arrived - released} bytes back for {Convert.ToHexString(data)}");
            }
            events.Add($"need@{released}");
            return events;
        }

        // ClientSession.RouteFrames's use of the scanner: before the name is known, NeedMoreData rewinds to the frame.
        private static bool Forward(RequestScanner scanner, ReadOnlySequence<byte> buffer, long offset, List<string> events, out long consumed)
        {
            var reader = new SequenceReader<byte>(buffer);
            long frameStart = 0;
            for (int guard = 0; guard < 1_000_000; guard++)
            {
                if (scanner.AtFrameStart) frameStart = reader.Consumed;
                switch (scanner.Next(ref reader))
                {
                    case RequestEvent.Name:
                        string args = scanner.InlineArguments is { } inline ? "[" + string.Join(",", inline.Select(Convert.ToHexString)) + "]" : "";
                        events.Add($"name {Convert.ToHexString(scanner.Name)} n={scanner.ArgumentCount}{args}@{offset + reader.Consumed}");
                        break;
                    case RequestEvent.End:
                        events.Add($"end n={scanner.ArgumentCount}@{offset + reader.Consumed}");
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
                        string message = ProtocolErrors.Message(scanner.Error, scanner.ErrorByte);
                        if (!message.StartsWith("ERR Protocol error: ", StringComparison.Ordinal)) throw new InvalidOperationException(message);
                        events.Add($"error {message}@{offset + reader.Consumed}");
                        consumed = 0;
                        return false;
                    default:
                        throw new InvalidOperationException("unknown event");
                }
            }
            throw new InvalidOperationException("the request scanner does not progress");
        }
    }

    private static class Replies
    {
        public static List<string> Whole(ReadOnlySequence<byte> buffer, RespFrameLimits limits)
        {
            var scanner = new RespFrameScanner(limits);
            var reader = new SequenceReader<byte>(buffer);
            var steps = new List<string>();
            for (int guard = 0; guard < 1_000_000; guard++)
            {
                var status = scanner.TryScan(ref reader, out var frame);
                steps.Add(Describe(status, frame, reader.Consumed));
                if (status != RespFrameStatus.Complete) return steps;
                if (frame.Length <= 0) throw new InvalidOperationException("an empty frame");
            }
            throw new InvalidOperationException("the frame scanner does not progress");
        }

        // Each call sees only the new bytes: the scanner keeps what it consumed in its state.
        public static List<string> Arriving(byte[] data, int[] cuts, RespFrameLimits limits)
        {
            var scanner = new RespFrameScanner(limits);
            var steps = new List<string>();
            int from = 0;
            foreach (int to in cuts.Append(data.Length))
            {
                if (to < from) continue;
                var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(data, from, to - from));
                while (true)
                {
                    var status = scanner.TryScan(ref reader, out var frame);
                    if (status == RespFrameStatus.NeedMoreData && to < data.Length) break;
                    steps.Add(Describe(status, frame, from + reader.Consumed));
                    if (status != RespFrameStatus.Complete) return steps;
                }
                from = to;
            }
            return steps;
        }

        private static string Describe(RespFrameStatus status, RespFrame frame, long at) =>
            status == RespFrameStatus.Complete ? $"frame {frame.Length} '{(char)frame.Type}' {frame.HasAttributes}@{at}" : $"{status}@{at}";
    }
}
