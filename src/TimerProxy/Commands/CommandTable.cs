using System.Text;

namespace RedisTimer.Proxy.Commands;

/// <summary>What the session does with a command.</summary>
public enum CommandRoute : byte
{
    /// <summary>The frame's bytes go to the client's upstream connection unchanged.</summary>
    Forward,
    /// <summary>Forwarded; Redis replies and then closes the connection, which is not an upstream failure.</summary>
    ForwardThenClose,
}

/// <summary>
/// The routing seam: the one place that decides, from a command's name, whether the proxy forwards it or
/// handles it. Names are matched case-insensitively on the raw bytes, with no allocation; the length check
/// first means the common GET/SET/HSET... cost one comparison.
/// </summary>
public static class CommandTable
{
    public static CommandRoute Route(ReadOnlySpan<byte> name)
    {
        switch (name.Length)
        {
            case 4:
                if (Ascii.EqualsIgnoreCase(name, "QUIT"u8)) return CommandRoute.ForwardThenClose;
                break;
        }
        return CommandRoute.Forward;
    }
}
