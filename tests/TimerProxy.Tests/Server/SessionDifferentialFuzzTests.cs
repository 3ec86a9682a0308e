using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using RedisTimer.Proxy.Tests.Infrastructure;
using RedisTimer.Resp;
using RedisTimer.Testing;
using Xunit.Abstractions;

namespace RedisTimer.Proxy.Tests.Server;

/// <summary>
/// A differential fuzz of whole client sessions: random command sequences (strings, counters, lists, hashes, DEL,
/// EXPIRE, MULTI/EXEC/DISCARD, SELECT, PING, ECHO, unknown commands, wrong arity, inline commands, mutated and
/// malformed frames), pipelined and sent in random chunks with short pauses, go as the same bytes to the proxy and
/// straight to a second Redis started just as fresh. Every reply byte must be the same, and a protocol error must
/// close both at the same point. Nothing is normalised: the commands are chosen so that Redis's replies carry no
/// per-server data (no client ids, no times), and each sequence uses keys of its own.
/// </summary>
/// <remarks>
/// Bounded in the test command (300 sequences, a fixed seed). <c>SESSION_FUZZ_SEED</c>, <c>SESSION_FUZZ_SEQUENCES</c>
/// and <c>SESSION_FUZZ_SECONDS</c> (run until then, any number of sequences) make other or longer runs:
/// bench/fuzz-session.sh.
/// </remarks>
public class SessionDifferentialFuzzTests(ITestOutputHelper output)
{
    private const int DefaultSeed = 7_2026;
    internal const int MaxShown = 2000; // bytes of a session or its replies shown in a failure
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Random_sessions_get_the_same_bytes_and_the_same_close_through_the_proxy_as_from_Redis()
    {
        int seed = EnvInt("SESSION_FUZZ_SEED") ?? DefaultSeed;
        int sequences = EnvInt("SESSION_FUZZ_SEQUENCES") ?? 300;
        int? seconds = EnvInt("SESSION_FUZZ_SECONDS");
        output.WriteLine($"session fuzz: seed {seed}, {(seconds is { } s ? $"{s} s" : $"{sequences} sequences")}");

        using var behindProxy = new RedisServer();
        using var direct = new RedisServer();
        await using var proxy = await InProcessProxy.StartAsync(behindProxy.Endpoint);

        var clock = Stopwatch.StartNew();
        var stats = new Stats();
        for (int i = 0; seconds is { } limit ? clock.Elapsed < TimeSpan.FromSeconds(limit) : i < sequences; i++)
        {
            var rng = new Random(unchecked(seed * 7919 + i));
            var session = SessionGenerator.Sequence(rng, $"fz:{i}");
            var chunks = SessionGenerator.Chunks(rng, session.Bytes);
            var (viaProxy, straight) = await RunBothAsync(proxy.Port, direct.Port, session, chunks);
            stats.Count(session, viaProxy);
            if (viaProxy != straight)
            {
                string minimal = await MinimiseAsync(proxy.Port, direct.Port, session);
                Assert.Fail($"sequence {i} of seed {seed} (rerun with SESSION_FUZZ_SEED={seed}) differs:\n" +
                    $"sent {ByteText.Show(session.Bytes, MaxShown)}\nin chunks {string.Join(",", chunks.Select(c => c.Length))}\n" +
                    $"proxy:  {viaProxy}\nredis:  {straight}\nminimal: {minimal}");
            }
        }
        output.WriteLine($"session fuzz: seed {seed}: {stats.Sequences} sequences, {stats.Commands} commands, {stats.Bytes} bytes sent, " +
            $"{stats.ProtocolErrors} closed by a protocol error, {stats.Timeouts} timed out on both, all identical, in {clock.Elapsed.TotalSeconds:F1} s");
    }

    private sealed class Stats
    {
        public int Sequences, Commands, ProtocolErrors, Timeouts;
        public long Bytes;

        public void Count(Session session, Outcome outcome)
        {
            Sequences++;
            Commands += session.Steps.Count;
            Bytes += session.Bytes.Length;
            if (outcome.End == End.Closed) ProtocolErrors++;
            if (outcome.End == End.TimedOut) Timeouts++;
        }
    }

    private static int? EnvInt(string name) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v : null;

    // ---- running a session ----

    private enum End { Marker, Closed, TimedOut }

    private readonly record struct Outcome(string Replies, End End)
    {
        public override string ToString() => $"{End}: {ByteText.Show(Encoding.Latin1.GetBytes(Replies), MaxShown)}";
    }

    private static async Task<(Outcome ViaProxy, Outcome Straight)> RunBothAsync(int proxyPort, int redisPort, Session session, byte[][] chunks)
    {
        var viaProxy = RunAsync(proxyPort, session, chunks);
        var straight = RunAsync(redisPort, session, chunks);
        return (await viaProxy, await straight);
    }

    /// <summary>Sends the chunks (with a pause now and then, so that frames arrive in parts) and reads until the marker's
    /// reply ends the stream, the server closes, or nothing more comes.</summary>
    private static async Task<Outcome> RunAsync(int port, Session session, byte[][] chunks)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync("127.0.0.1", port);
        var received = new List<byte>();
        var reading = ReadAsync(socket, received, session.MarkerReply);
        try
        {
            foreach (var (chunk, pause) in chunks.Select((c, i) => (c, session.PauseAfter(i))))
            {
                await socket.SendAsync(chunk, SocketFlags.None);
                if (pause) await Task.Delay(1);
            }
        }
        catch (SocketException)
        {
            // The server closed after a protocol error while the rest was being sent: what it replied is the outcome.
        }
        var end = await reading;
        return new Outcome(Encoding.Latin1.GetString(received.ToArray()), end);
    }

    private static async Task<End> ReadAsync(Socket socket, List<byte> received, byte[]? marker)
    {
        var buffer = new byte[64 * 1024];
        using var timeout = new CancellationTokenSource(ReplyTimeout);
        try
        {
            while (true)
            {
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                if (n == 0) return End.Closed;
                received.AddRange(buffer.AsSpan(0, n));
                if (marker is not null && EndsWith(received, marker)) return End.Marker;
            }
        }
        catch (SocketException)
        {
            return End.Closed; // reset: closed with unread bytes
        }
        catch (OperationCanceledException)
        {
            return End.TimedOut;
        }
    }

    private static bool EndsWith(List<byte> data, byte[] tail)
    {
        if (data.Count < tail.Length) return false;
        for (int i = 0; i < tail.Length; i++)
            if (data[data.Count - tail.Length + i] != tail[i]) return false;
        return true;
    }

    /// <summary>
    /// The failing sequence with as many of its commands left out as still keep a difference (each tried sent whole and
    /// byte by byte with pauses): what a bug report needs.
    /// </summary>
    private static async Task<string> MinimiseAsync(int proxyPort, int redisPort, Session session)
    {
        var steps = session.Steps.ToList();
        async Task<bool> Differs(List<byte[]> candidate)
        {
            var s = session with { Steps = candidate };
            var whole = await RunBothAsync(proxyPort, redisPort, s, [s.Bytes]);
            if (whole.ViaProxy != whole.Straight) return true;
            var split = await RunBothAsync(proxyPort, redisPort, s, SessionGenerator.EveryByte(s.Bytes));
            return split.ViaProxy != split.Straight;
        }
        if (!await Differs(steps)) return "(the difference did not happen again)";
        for (int i = steps.Count - 1; i >= 0; i--)
        {
            var without = steps.Where((_, k) => k != i).ToList();
            if (without.Count > 0 && await Differs(without)) steps = without;
        }
        var minimal = session with { Steps = steps };
        var sent = await RunBothAsync(proxyPort, redisPort, minimal, [minimal.Bytes]);
        var bytewise = await RunBothAsync(proxyPort, redisPort, minimal, SessionGenerator.EveryByte(minimal.Bytes));
        return $"{ByteText.Show(minimal.Bytes, MaxShown)}\n  sent whole:  proxy {sent.ViaProxy} / redis {sent.Straight}" +
            $"\n  byte by byte: proxy {bytewise.ViaProxy} / redis {bytewise.Straight}";
    }
}

/// <summary>
/// One generated session: its commands' bytes and the tail that ends it (a DISCARD, so that an open MULTI cannot
/// queue it, and an ECHO of a marker whose reply shows that every reply has come). A session that ends in a
/// protocol error has no tail: the server closes.
/// </summary>
internal sealed record Session(List<byte[]> Steps, byte[]? Tail, byte[]? MarkerReply, int PauseSeed)
{
    public byte[] Bytes => [.. Steps.SelectMany(s => s), .. Tail ?? []];

    public bool PauseAfter(int chunk) => ((uint)(PauseSeed ^ chunk * 31) % 4) == 0;
}

internal static class SessionGenerator
{
    private static byte[] B(string s) => Encoding.Latin1.GetBytes(s);

    // Frames Redis refuses with a protocol error, at a frame's start and inside a frame (after a name, after arguments).
    private static readonly string[] Malformed =
    [
        "*x\r\n", "*3000000000\r\n", "*-\r\n", "*1\r\n$x\r\n", "*1\r\n$-1\r\n", "*1\r\n$536870913\r\n", "*1\r\n:1\r\n",
        "*2\r\n$4\r\nECHO\r\nx\r\n", "*2\r\n$4\r\nECHO\r\n$abc\r\n", "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$-5\r\n",
        "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n*1\r\n", "*2\r\n$3\r\nGET\r\n$2147483648\r\n", "*2\r\n$4\r\nPING\r\n\r\n",
        "\"unterminated\r\n", "SET \"a\"b c\r\n", "ECHO 'x\r\n",
    ];

    public static Session Sequence(Random rng, string prefix)
    {
        var steps = new List<byte[]>();
        int count = rng.Next(1, 25);
        for (int i = 0; i < count; i++)
        {
            int roll = rng.Next(100);
            if (roll < 2)
            {
                // A protocol error ends the session: the server closes, nothing after it is read.
                steps.Add(rng.Next(12) == 0 ? TooBig(rng) : B(Malformed[rng.Next(Malformed.Length)]));
                return new Session(steps, null, null, rng.Next());
            }
            if (roll < 6 && Mutated(rng, Command(rng, prefix), out byte[] mutated, out bool isError))
            {
                steps.Add(mutated);
                if (isError) return new Session(steps, null, null, rng.Next());
                continue;
            }
            steps.Add(Command(rng, prefix));
        }
        string marker = Guid.NewGuid().ToString("N");
        return new Session(steps, [.. Encode(["DISCARD"], inline: false), .. Encode(["ECHO", marker], inline: false)],
            B($"${marker.Length}\r\n{marker}\r\n"), rng.Next());
    }

    // Over Redis's 64 KiB line limits: a count line, a bulk count line, an inline line without a newline.
    private static byte[] TooBig(Random rng) => rng.Next(3) switch
    {
        0 => B("*" + new string('1', 70_000)),
        1 => B("*2\r\n$4\r\nECHO\r\n$" + new string('1', 70_000)),
        _ => B(new string('a', 70_000)),
    };

    private static byte[] Command(Random rng, string prefix)
    {
        string Key() => $"{prefix}:{rng.Next(4)}";
        byte[] Value() => rng.Next(4) == 0 ? B(rng.Next(-5, 1000).ToString(CultureInfo.InvariantCulture)) : RandomBytes(rng, rng.Next(0, rng.Next(8) == 0 ? 3000 : 20));
        object[] args = rng.Next(22) switch
        {
            0 => ["GET", Key()],
            1 => ["SET", Key(), Value()],
            2 => ["SET", Key(), Value(), new[] { "NX", "XX", "GET", "EX", "KEEPTTL" }[rng.Next(5)]],
            3 => ["INCR", Key()],
            4 => ["INCRBY", Key(), rng.Next(-3, 3) == 0 ? "x" : rng.Next(-100, 100).ToString(CultureInfo.InvariantCulture)],
            5 => ["LPUSH", Key(), Value(), Value()],
            6 => ["LRANGE", Key(), "0", "-1"],
            7 => ["HSET", Key(), "f" + rng.Next(3), Value()],
            8 => ["HGETALL", Key()],
            9 => ["DEL", Key(), Key()],
            // Only expiries that cannot fire while the session runs (far ahead) or that delete at once (0, negative).
            10 => ["EXPIRE", Key(), new[] { "1000", "0", "-1", "x", "99999999999999999999" }[rng.Next(5)]],
            11 => ["MULTI"],
            12 => ["EXEC"],
            13 => ["DISCARD"],
            14 => ["SELECT", new[] { "0", "1", "2", "15", "16", "-1", "x" }[rng.Next(7)]],
            15 => rng.Next(2) == 0 ? ["PING"] : ["PING", Value()],
            16 => ["ECHO", Value()],
            17 => [UnknownName(rng), .. Enumerable.Range(0, rng.Next(4)).Select(_ => (object)Value())],
            18 => new object[][] { ["GET"], ["SET", Key()], ["INCR", Key(), Key()], ["ECHO"], ["SELECT"], ["MULTI", "x"], ["EXPIRE", Key()] }[rng.Next(7)],
            19 => ["EXISTS", Key(), Key()],
            20 => ["TYPE", Key()],
            _ => ["STRLEN", Key()],
        };
        // Commands in any case, as clients send them.
        if (rng.Next(5) == 0 && args[0] is string name) args[0] = name.ToLowerInvariant();
        return Encode(args, inline: rng.Next(6) == 0);
    }

    // Names that are no Redis command (nor one the proxy handles: no TIMER.*).
    private static string UnknownName(Random rng)
    {
        var sb = new StringBuilder("zz");
        for (int i = rng.Next(1, 8); i > 0; i--) sb.Append((char)('a' + rng.Next(26)));
        return sb.ToString();
    }

    private static byte[] RandomBytes(Random rng, int length)
    {
        var b = new byte[length];
        for (int i = 0; i < length; i++) b[i] = rng.Next(5) == 0 ? "\r\n\0\"'"u8[rng.Next(5)] : (byte)rng.Next(256);
        return b;
    }

    /// <summary>A command as a multibulk frame, or as an inline line (bare words, or double quotes with escapes).</summary>
    public static byte[] Encode(object[] args, bool inline)
    {
        var parts = args.Select(a => a as byte[] ?? B(Convert.ToString(a, CultureInfo.InvariantCulture)!)).ToList();
        var o = new List<byte>();
        if (!inline)
        {
            o.AddRange(B($"*{parts.Count}\r\n"));
            foreach (var p in parts)
            {
                o.AddRange(B($"${p.Length}\r\n"));
                o.AddRange(p);
                o.AddRange("\r\n"u8);
            }
            return o.ToArray();
        }
        foreach (var p in parts)
        {
            if (o.Count > 0) o.Add((byte)' ');
            bool bare = p.Length > 0 && p.All(b => b is > 32 and < 127 and not ((byte)'"' or (byte)'\'' or (byte)'\\')) && (o.Count > 0 || p[0] != (byte)'*');
            if (bare)
            {
                o.AddRange(p);
                continue;
            }
            o.Add((byte)'"');
            foreach (byte b in p)
            {
                if (b is (byte)'"' or (byte)'\\') o.AddRange([(byte)'\\', b]);
                else if (b is < 32 or >= 127) o.AddRange(B($"\\x{b:x2}"));
                else o.Add(b);
            }
            o.Add((byte)'"');
        }
        o.AddRange("\r\n"u8);
        return o.ToArray();
    }

    /// <summary>
    /// A command with a byte changed, inserted or removed, kept only when it is complete: a request Redis runs, or a
    /// protocol error (an incomplete one would swallow the marker). Judged with the proxy's own scanner, which is fine
    /// for choosing inputs: a wrong judgement shows up as a difference (or a timeout on both sides) all the same.
    /// </summary>
    private static bool Mutated(Random rng, byte[] command, out byte[] mutated, out bool isError)
    {
        var d = command.ToList();
        int at = rng.Next(d.Count);
        switch (rng.Next(4))
        {
            case 0: d[at] ^= (byte)(1 << rng.Next(8)); break;
            case 1: d[at] = "\r\n$*-0123456789x\0 \""u8[rng.Next(19)]; break;
            case 2: d.Insert(at, "\r\n$*-09x\0"u8[rng.Next(9)]); break;
            default: d.RemoveAt(at); break;
        }
        mutated = d.ToArray();
        isError = false;
        var scanner = new RequestScanner();
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(mutated));
        while (true)
        {
            switch (scanner.Next(ref reader))
            {
                case RequestEvent.Error:
                    isError = true;
                    return true;
                case RequestEvent.NeedMoreData:
                    return scanner.AtFrameStart && reader.End;
                case RequestEvent.Name when IsUnsafe(scanner.Name):
                    return false;
            }
        }
    }

    // A mutation could make a command that changes the session (or the server) in ways that are not the point here.
    private static bool IsUnsafe(ReadOnlySpan<byte> name)
    {
        string n = Encoding.Latin1.GetString(name).ToUpperInvariant();
        return n is "QUIT" or "RESET" or "SHUTDOWN" or "CLIENT" or "HELLO" or "SUBSCRIBE" or "PSUBSCRIBE" or "SSUBSCRIBE" or "MONITOR"
            or "BLPOP" or "BRPOP" or "BLMOVE" or "BZPOPMIN" or "BZPOPMAX" or "WAIT" or "DEBUG" or "FLUSHALL" or "FLUSHDB" or "SWAPDB"
            or "BLMPOP" or "BZMPOP" or "BRPOPLPUSH" or "XREAD" or "XREADGROUP" or "CONFIG" or "SYNC" or "PSYNC" or "REPLICAOF" or "SLAVEOF" or "AUTH" || n.StartsWith("TIMER", StringComparison.Ordinal);
    }

    /// <summary>The bytes cut into chunks of random sizes: one byte, a few, hundreds, or all at once.</summary>
    public static byte[][] Chunks(Random rng, byte[] data)
    {
        if (rng.Next(5) == 0) return [data];
        var chunks = new List<byte[]>();
        int at = 0;
        while (at < data.Length)
        {
            int size = rng.Next(4) switch { 0 => 1, 1 => rng.Next(1, 8), 2 => rng.Next(8, 64), _ => rng.Next(64, 2048) };
            size = Math.Min(size, data.Length - at);
            chunks.Add(data[at..(at + size)]);
            at += size;
        }
        // Not more than a few hundred sends: a pause after some of them is what matters.
        return chunks.Count <= 300 ? chunks.ToArray() : [.. chunks.Take(299), data[chunks.Take(299).Sum(c => c.Length)..]];
    }

    public static byte[][] EveryByte(byte[] data) =>
        data.Length <= 400 ? data.Select(b => new[] { b }).ToArray() : Chunks(new Random(data.Length), data);
}
