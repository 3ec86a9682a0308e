using System.Net.Sockets;
using System.Text;

namespace RedisTimer.Proxy.Tests.Infrastructure;

/// <summary>
/// A plain TCP client for byte-exact tests: sends exactly the bytes given and reads whole replies.
/// Its reply reader is deliberately separate from the code under test.
/// </summary>
public sealed class RawClient : IDisposable
{
    private readonly TcpClient _tcp;
    private readonly Stream _stream;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start, _end;

    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(15);

    private RawClient(TcpClient tcp, Stream? stream = null)
    {
        _tcp = tcp;
        _tcp.NoDelay = true;
        _stream = stream ?? tcp.GetStream();
    }

    /// <summary>A TLS client that trusts only <paramref name="caFile"/>, with a client certificate when given.
    /// A handshake the server refuses throws (AuthenticationException or IOException).</summary>
    public static async Task<RawClient> ConnectTlsAsync(int port, string caFile, string? certFile = null, string? keyFile = null,
        Action<System.Security.Cryptography.X509Certificates.X509Certificate>? seen = null)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port);
        var ca = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
        ca.ImportFromPemFile(caFile);
        var options = new System.Net.Security.SslClientAuthenticationOptions
        {
            TargetHost = "127.0.0.1",
            CertificateChainPolicy = new System.Security.Cryptography.X509Certificates.X509ChainPolicy
            {
                TrustMode = System.Security.Cryptography.X509Certificates.X509ChainTrustMode.CustomRootTrust,
                RevocationMode = System.Security.Cryptography.X509Certificates.X509RevocationMode.NoCheck,
            },
            RemoteCertificateValidationCallback = seen is null ? null : (_, certificate, _, errors) =>
            {
                seen(certificate!);
                return true;
            },
        };
        options.CertificateChainPolicy.CustomTrustStore.AddRange(ca);
        if (certFile is not null)
            // A context, not a candidate list: sent even when the server's CA list does not name its issuer.
            options.ClientCertificateContext = System.Net.Security.SslStreamCertificateContext.Create(
                System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(certFile, keyFile), null);
        var tls = new System.Net.Security.SslStream(tcp.GetStream());
        try
        {
            using var cts = new CancellationTokenSource(DefaultTimeout);
            await tls.AuthenticateAsClientAsync(options, cts.Token);
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
        return new RawClient(tcp, tls);
    }

    public static async Task<RawClient> ConnectAsync(int port)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port);
        return new RawClient(tcp);
    }

    public Socket Socket => _tcp.Client;

    public Task SendAsync(string text) => SendAsync(Encoding.UTF8.GetBytes(text));

    public async Task SendAsync(byte[] bytes)
    {
        using var cts = new CancellationTokenSource(DefaultTimeout);
        await _stream.WriteAsync(bytes, cts.Token);
    }

    /// <summary>Encodes a command as a multibulk array of bulk strings.</summary>
    public static byte[] Command(params object[] args)
    {
        var ms = new MemoryStream();
        void W(string s) { var b = Encoding.UTF8.GetBytes(s); ms.Write(b); }
        W($"*{args.Length}\r\n");
        foreach (var a in args)
        {
            var bytes = a as byte[] ?? Encoding.UTF8.GetBytes(Convert.ToString(a, System.Globalization.CultureInfo.InvariantCulture)!);
            W($"${bytes.Length}\r\n");
            ms.Write(bytes);
            W("\r\n");
        }
        return ms.ToArray();
    }

    public Task SendCommandAsync(params object[] args) => SendAsync(Command(args));

    /// <summary>Sends a command and returns its whole reply as text (latin1, so bytes map 1:1).</summary>
    public async Task<string> CallAsync(params object[] args)
    {
        await SendCommandAsync(args);
        return await ReadReplyAsync();
    }

    /// <summary>Sends the commands in one write and checks that each answers <paramref name="reply"/>.</summary>
    public async Task PipelineAsync(IEnumerable<object[]> commands, string reply)
    {
        var all = commands.ToList();
        await SendAsync(all.SelectMany(Command).ToArray());
        foreach (var _ in all) Assert.Equal(reply, await ReadReplyAsync());
    }

    private async Task<bool> FillAsync(TimeSpan timeout)
    {
        if (_start > 0 && _start == _end) _start = _end = 0;
        if (_end == _buffer.Length)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        using var cts = new CancellationTokenSource(timeout);
        int n = await _stream.ReadAsync(_buffer.AsMemory(_end), cts.Token);
        if (n == 0) return false;
        _end += n;
        return true;
    }

    private async Task<byte> ReadByteAsync(TimeSpan timeout)
    {
        if (_start == _end && !await FillAsync(timeout)) throw new EndOfStreamException("connection closed");
        return _buffer[_start++];
    }

    private async Task<string> ReadLineAsync(TimeSpan timeout)
    {
        var sb = new StringBuilder();
        while (true)
        {
            byte b = await ReadByteAsync(timeout);
            if (b == '\r')
            {
                byte n = await ReadByteAsync(timeout);
                if (n != '\n') throw new InvalidDataException("CR without LF");
                return sb.ToString();
            }
            sb.Append((char)b);
        }
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes.</summary>
    public async Task<byte[]> ReadBytesAsync(long count, TimeSpan? timeout = null)
    {
        var result = new byte[count];
        long got = 0;
        while (got < count)
        {
            if (_start == _end && !await FillAsync(timeout ?? DefaultTimeout)) throw new EndOfStreamException("connection closed");
            int take = (int)Math.Min(count - got, _end - _start);
            Buffer.BlockCopy(_buffer, _start, result, (int)got, take);
            _start += take;
            got += take;
        }
        return result;
    }

    /// <summary>Reads one complete RESP2/RESP3 reply and returns its exact bytes as latin1 text.</summary>
    public async Task<string> ReadReplyAsync(TimeSpan? timeout = null)
    {
        var sb = new StringBuilder();
        await ReadValueAsync(sb, timeout ?? DefaultTimeout);
        return sb.ToString();
    }

    private async Task ReadValueAsync(StringBuilder sb, TimeSpan timeout)
    {
        byte type = await ReadByteAsync(timeout);
        string line = await ReadLineAsync(timeout);
        sb.Append((char)type).Append(line).Append("\r\n");
        switch ((char)type)
        {
            case '$' or '!' or '=':
                long len = long.Parse(line);
                if (len < 0) return;
                var payload = await ReadBytesAsync(len + 2, timeout);
                sb.Append(Encoding.Latin1.GetString(payload));
                return;
            case '*' or '~' or '>':
                long n = long.Parse(line);
                for (long i = 0; i < n; i++) await ReadValueAsync(sb, timeout);
                return;
            case '%' or '|':
                long m = long.Parse(line);
                for (long i = 0; i < 2 * m; i++) await ReadValueAsync(sb, timeout);
                if (type == '|') await ReadValueAsync(sb, timeout); // the attributed value itself
                return;
            default:
                return; // + - : _ , # (
        }
    }

    /// <summary>Reads until the server closes; returns what came (latin1). Fails if it stays open past the timeout.</summary>
    public async Task<string> ReadToCloseAsync(TimeSpan? timeout = null)
    {
        var sb = new StringBuilder();
        sb.Append(Encoding.Latin1.GetString(_buffer, _start, _end - _start));
        _start = _end = 0;
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero) throw new TimeoutException($"connection still open; got so far: {sb}");
            try
            {
                if (!await FillAsync(left)) return sb.ToString();
            }
            catch (IOException) { return sb.ToString(); } // reset by peer counts as closed
            sb.Append(Encoding.Latin1.GetString(_buffer, _start, _end - _start));
            _start = _end = 0;
        }
    }

    /// <summary>True when nothing arrives within <paramref name="wait"/> (used for CLIENT REPLY OFF).</summary>
    public async Task<bool> NothingArrivesWithinAsync(TimeSpan wait)
    {
        if (_start != _end) return false;
        try
        {
            return !await FillAsync(wait) ? false : false;
        }
        catch (OperationCanceledException)
        {
            return true;
        }
    }

    public void Dispose()
    {
        if (_stream is not NetworkStream) _stream.Dispose();
        _tcp.Dispose();
    }
}
