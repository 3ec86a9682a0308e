namespace RedisTimer.Resp;

/// <summary>The malformed-request cases Redis 7.0 detects in networking.c, in its own words.</summary>
public enum ProtocolError
{
    None = 0,
    InvalidMultibulkLength,
    InvalidBulkLength,
    ExpectedDollar,
    TooBigMultibulkCountString,
    TooBigBulkCountString,
    TooBigInlineRequest,
    UnbalancedQuotes,
}

public static class ProtocolErrors
{
    /// <summary>The error line Redis replies with (without "-" and CRLF); <paramref name="got"/> is used by ExpectedDollar.</summary>
    public static string Message(ProtocolError error, byte got = 0) => error switch
    {
        ProtocolError.InvalidMultibulkLength => "ERR Protocol error: invalid multibulk length",
        ProtocolError.InvalidBulkLength => "ERR Protocol error: invalid bulk length",
        // Redis's error writer turns CR and LF into spaces.
        ProtocolError.ExpectedDollar => $"ERR Protocol error: expected '$', got '{(got is (byte)'\r' or (byte)'\n' ? ' ' : (char)got)}'",
        ProtocolError.TooBigMultibulkCountString => "ERR Protocol error: too big mbulk count string",
        ProtocolError.TooBigBulkCountString => "ERR Protocol error: too big bulk count string",
        ProtocolError.TooBigInlineRequest => "ERR Protocol error: too big inline request",
        ProtocolError.UnbalancedQuotes => "ERR Protocol error: unbalanced quotes in request",
        _ => throw new ArgumentOutOfRangeException(nameof(error)),
    };
}
