using System.Buffers;

namespace RedisTimer.Resp;

/// <summary>The arguments of one complete request frame, for the few commands the proxy rewrites.</summary>
public static class RequestArguments
{
    /// <summary>
    /// Splits a complete multibulk frame (already validated by <see cref="RequestScanner"/>) into its
    /// arguments, name included. Allocates: used only off the forwarding path.
    /// </summary>
    public static List<byte[]> Parse(in ReadOnlySequence<byte> frame)
    {
        var reader = new SequenceReader<byte>(frame);
        var args = new List<byte[]>();
        long count = ReadLength(ref reader);
        for (long i = 0; i < count; i++)
        {
            long length = ReadLength(ref reader);
            var payload = new byte[length];
            reader.TryCopyTo(payload);
            reader.Advance(length + 2);
            args.Add(payload);
        }
        return args;
    }

    /// <summary>Argument <paramref name="index"/> (0 is the name) of a complete validated multibulk frame, without
    /// copying it; empty when the frame has fewer arguments.</summary>
    public static ReadOnlySequence<byte> Slice(in ReadOnlySequence<byte> frame, int index)
    {
        var reader = new SequenceReader<byte>(frame);
        long count = ReadLength(ref reader);
        for (long i = 0; i < count; i++)
        {
            long length = ReadLength(ref reader);
            if (i == index) return frame.Slice(reader.Position, length);
            reader.Advance(length + 2);
        }
        return ReadOnlySequence<byte>.Empty;
    }

    private static long ReadLength(ref SequenceReader<byte> reader)
    {
        reader.Advance(1); // '*' or '$'
        reader.TryReadTo(out ReadOnlySequence<byte> digits, (byte)'\r');
        reader.Advance(1);
        if (!RespInteger.TryParse(digits, out long value)) throw new InvalidDataException("frame was not validated");
        return value;
    }
}
