using System.Buffers;
using System.Text;
using RedisTimer.Resp;

namespace RedisTimer.Proxy.Upstream;

/// <summary>
/// <c>--wait-replicas N</c>: the <c>WAIT N timeout</c> the proxy sends after each timer write of a client (whose
/// reply it holds until WAIT answers) and after each fire transaction, so that an acknowledged TIMER.NEW or
/// TIMER.KILL, and a fire, are on N replicas before anything counts on them.
/// </summary>
/// <summary>The scheduler found fewer replicas in sync than <c>--wait-replicas</c> asks for, and fired nothing.</summary>
public sealed class ReplicasBehindException(string shortfall) : Exception(shortfall);

public sealed class ReplicaWait
{
    public static readonly ReplicaWait None = new(0, 0);

    private readonly byte[] _command;

    public ReplicaWait(int replicas, int timeoutMs)
    {
        Replicas = replicas;
        TimeoutMs = timeoutMs;
        var command = new ArrayBufferWriter<byte>(48);
        RespWriter.WriteArrayHeader(command, 3);
        RespWriter.WriteBulkString(command, "WAIT"u8);
        RespWriter.WriteBulkString(command, Encoding.ASCII.GetBytes(replicas.ToString()));
        RespWriter.WriteBulkString(command, Encoding.ASCII.GetBytes(timeoutMs.ToString()));
        _command = command.WrittenSpan.ToArray();
    }

    /// <summary>0: no waiting (the default).</summary>
    public int Replicas { get; }
    public int TimeoutMs { get; }
    public bool Enabled => Replicas > 0;

    public void Write(IBufferWriter<byte> output) => output.Write(_command);

    /// <summary>
    /// What a client gets instead of a timer command's reply when WAIT answered fewer replicas (or an error): the
    /// change is on the master, but a failover now could undo it. Redis's own code for "not enough replicas", so
    /// that clients take it as an error; retrying is safe (TIMER.NEW replaces, TIMER.KILL of a gone timer is 0).
    /// </summary>
    public string ShortfallError(long acknowledged) =>
        $"NOREPLICAS done on the master, but acknowledged by {acknowledged} of {Replicas} replicas within {TimeoutMs} ms (a failover now could undo it)";

    public static string UnconfirmedError(string why) =>
        $"NOREPLICAS done on the master, but not confirmed by replicas: {why} (a failover now could undo it)";
}
