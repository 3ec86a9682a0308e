using System.IO.Pipelines;
using System.Net.Sockets;

namespace RedisTimer.Proxy.Transport;

/// <summary>The one place that chooses what drives a socket: an epoll loop, or .NET's socket engine when there is none.</summary>
internal static class TransportPipes
{
    /// <param name="loop">The epoll loop that drives the socket; null for .NET's sockets (<see cref="SocketPipe"/>).</param>
    /// <param name="receiveError">What a failed receive completes the input with (null: end it as a clean close).</param>
    public static ITransportPipe Open(Socket socket, EpollLoop? loop, PipeOptions receive, PipeOptions send,
        Func<Exception, Exception?> receiveError) => loop is null
        ? new SocketPipe(socket, receive, send, receiveError)
        : new EpollPipe(socket, loop, receive, send, receiveError);
}
