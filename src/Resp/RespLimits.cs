namespace RedisTimer.Resp;

/// <summary>
/// Limits on client requests, checked before any memory is committed to a frame.
/// The defaults are Redis 7.0's own (proto-max-bulk-len, PROTO_INLINE_MAX_SIZE, INT_MAX multibulk).
/// </summary>
public sealed record RespLimits
{
    public const int DefaultMaxBulkLength = 512 * 1024 * 1024;

    /// <summary>Largest bulk string a client may send (Redis: proto-max-bulk-len).</summary>
    public long MaxBulkLength { get; init; } = DefaultMaxBulkLength;

    /// <summary>Largest multibulk count (Redis refuses anything above INT_MAX).</summary>
    public long MaxMultibulkLength { get; init; } = int.MaxValue;

    /// <summary>Longest inline command, and longest count line, without a newline (Redis: 64 KiB).</summary>
    public int MaxInlineLength { get; init; } = 64 * 1024;

    public static RespLimits Default { get; } = new();
}
