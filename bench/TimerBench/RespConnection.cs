using System.Net.Sockets;
using System.Text;

namespace RedisTimer.Bench;

/// <summary>An error reply (<c>-ERR ...</c>).</summary>
public sealed record RespError(string Message)
{
    public override string ToString() => Message;
}

/// <summary>
/// A minimal synchronous RESP2 client: commands are buffered by <see cref="Write"/> and sent by
/// <see cref="Flush"/>, so a caller pipelines by writing N commands, flushing once and reading N replies.
/// Replies: simple string → string, error → <see cref="RespError"/>, integer → long, bulk → string or null,
/// array → object?[] or null.
/// </summary>
public sealed class RespConnection : IDisposable
{
    private readonly Socket _socket;
    private byte[] _write = new byte[64 * 1024];
    private int _writeLength;
    private byte[] _read = new byte[64 * 1024];
    private int _readStart, _readEnd;

    public string Endpoint { get; }

    /// <summary>The socket, for waiting on several connections at once (<see cref="Socket.Select"/>); read through this.</summary>
    public Socket Socket => _socket;

    private RespConnection(Socket socket, string endpoint)
    {
        _socket = socket;
        Endpoint = endpoint;
    }

    /// <param name="replyTimeoutMs">When set, a read that waits longer throws a <see cref="SocketException"/> (TimedOut).</param>
    public static RespConnection Connect(string endpoint, int replyTimeoutMs = 0)
    {
        var colon = endpoint.LastIndexOf(':');
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveTimeout = replyTimeoutMs };
        try
        {
            socket.Connect(endpoint[..colon], int.Parse(endpoint[(colon + 1)..]));
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new RespConnection(socket, endpoint);
    }

    public void Write(params string[] args)
    {
        Header('*', args.Length);
        foreach (var arg in args)
        {
            var length = Encoding.UTF8.GetByteCount(arg);
            Header('$', length);
            Reserve(length + 2);
            _writeLength += Encoding.UTF8.GetBytes(arg, _write.AsSpan(_writeLength));
            _write[_writeLength++] = (byte)'\r';
            _write[_writeLength++] = (byte)'\n';
        }
    }

    private void Header(char type, long value)
    {
        Reserve(24);
        _write[_writeLength++] = (byte)type;
        value.TryFormat(_write.AsSpan(_writeLength), out var written);
        _writeLength += written;
        _write[_writeLength++] = (byte)'\r';
        _write[_writeLength++] = (byte)'\n';
    }

    private void Reserve(int bytes)
    {
        if (_writeLength + bytes <= _write.Length) return;
        Array.Resize(ref _write, Math.Max(_write.Length * 2, _writeLength + bytes));
    }

    public void Flush()
    {
        var sent = 0;
        while (sent < _writeLength) sent += _socket.Send(_write, sent, _writeLength - sent, SocketFlags.None);
        _writeLength = 0;
    }

    public object? Call(params string[] args)
    {
        Write(args);
        Flush();
        return Read();
    }

    /// <summary>Calls and throws on an error reply.</summary>
    public object? Checked(params string[] args)
    {
        var reply = Call(args);
        if (reply is RespError error) throw new InvalidOperationException($"{string.Join(' ', args.Take(3))}: {error.Message} ({Endpoint})");
        return reply;
    }

    public object? Read()
    {
        var line = ReadLine();
        var type = line[0];
        var rest = Encoding.UTF8.GetString(line.AsSpan(1));
        switch (type)
        {
            case (byte)'+': return rest;
            case (byte)'-': return new RespError(rest);
            case (byte)':': return long.Parse(rest);
            case (byte)'$':
            {
                var length = int.Parse(rest);
                if (length < 0) return null;
                Fill(length + 2);
                var value = Encoding.UTF8.GetString(_read, _readStart, length);
                _readStart += length + 2;
                return value;
            }
            case (byte)'*':
            {
                var count = int.Parse(rest);
                if (count < 0) return null;
                var items = new object?[count];
                for (var i = 0; i < count; i++) items[i] = Read();
                return items;
            }
            default: throw new InvalidDataException($"unexpected RESP type '{(char)type}' from {Endpoint}");
        }
    }

    private byte[] ReadLine()
    {
        var scanned = 0;
        while (true)
        {
            var index = Array.IndexOf(_read, (byte)'\n', _readStart + scanned, _readEnd - _readStart - scanned);
            if (index > _readStart)
            {
                var line = _read.AsSpan(_readStart, index - 1 - _readStart).ToArray();
                _readStart = index + 1;
                return line;
            }
            scanned = _readEnd - _readStart;
            Fill(scanned + 1);
        }
    }

    /// <summary>Ensures at least <paramref name="bytes"/> unread bytes are buffered.</summary>
    private void Fill(int bytes)
    {
        while (_readEnd - _readStart < bytes)
        {
            if (_readStart > 0)
            {
                Buffer.BlockCopy(_read, _readStart, _read, 0, _readEnd - _readStart);
                _readEnd -= _readStart;
                _readStart = 0;
            }
            if (_readEnd == _read.Length || bytes > _read.Length) Array.Resize(ref _read, Math.Max(_read.Length * 2, bytes));
            var received = _socket.Receive(_read, _readEnd, _read.Length - _readEnd, SocketFlags.None);
            if (received == 0) throw new IOException($"connection to {Endpoint} closed by the server");
            _readEnd += received;
        }
    }

    public void Dispose() => _socket.Dispose();
}
