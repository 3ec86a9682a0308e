using System.Buffers;
using System.Text;

namespace RedisTimer.Resp.Tests;

/// <summary>Builds <see cref="ReadOnlySequence{T}"/> values split into several segments, as a pipe delivers them.</summary>
internal static class Segments
{
    /// <summary>Bytes of a test literal: every char below 256 becomes one byte, so "\r\n" and "\xFF" stay exact.</summary>
    public static byte[] Bytes(string text) => Encoding.Latin1.GetBytes(text);

    public static ReadOnlySequence<byte> Single(byte[] data) => new(data);

    /// <summary>One sequence whose segments are the given chunks, in order; empty chunks are kept as empty segments.</summary>
    public static ReadOnlySequence<byte> Of(params byte[][] chunks)
    {
        if (chunks.Length == 0) return ReadOnlySequence<byte>.Empty;
        var first = new Segment(chunks[0], 0);
        var last = first;
        for (int i = 1; i < chunks.Length; i++) last = last.Append(chunks[i]);
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    /// <summary>The data cut at each given offset (ascending, 0..Length), copying so no segment shares memory.</summary>
    public static ReadOnlySequence<byte> SplitAt(byte[] data, params int[] offsets) => Of(Chunks(data, offsets));

    /// <summary>Every byte in its own segment.</summary>
    public static ReadOnlySequence<byte> EveryByte(byte[] data)
        => Of(data.Select(b => new[] { b }).ToArray());

    public static byte[][] Chunks(byte[] data, params int[] offsets)
    {
        var chunks = new List<byte[]>();
        int start = 0;
        foreach (int offset in offsets)
        {
            chunks.Add(data[start..offset]);
            start = offset;
        }
        chunks.Add(data[start..]);
        return chunks.ToArray();
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(byte[] data, long runningIndex)
        {
            Memory = data;
            RunningIndex = runningIndex;
        }

        public Segment Append(byte[] data)
        {
            var next = new Segment(data, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
