using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using RedisTimer.Proxy.Transport;

namespace RedisTimer.Proxy.Tests.Transport;

public class EpollLoopTests
{
    private sealed class Handler(bool throws, Socket? drain = null) : EpollLoop.IHandler
    {
        public int Events;
        public int Faults;
        public readonly TaskCompletionSource Called = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void OnEvents(uint events)
        {
            Interlocked.Increment(ref Events);
            Called.TrySetResult();
            if (throws) throw new InvalidOperationException("handler bug");
            drain?.Receive(new byte[16]);
        }

        public void OnFault(Exception error) => Interlocked.Increment(ref Faults);
    }

    private static (Socket Client, Socket Server) Connected()
    {
        using var listener = new Socket(SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        client.Connect(listener.LocalEndPoint!);
        return (client, listener.Accept());
    }

    // Level-triggered: a readable socket whose handler throws before reading would be reported, and throw, on every
    // wakeup of the loop, for good. The fault stays with that socket; the loop goes on serving the others.
    [Fact]
    public async Task A_handler_that_throws_is_faulted_once_and_taken_out_while_the_others_are_still_served()
    {
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64) return;
        var errors = new List<Exception>();
        using var loop = new EpollLoop("test-loop", e => { lock (errors) errors.Add(e); });
        var (badClient, badServer) = Connected();
        var (goodClient, goodServer) = Connected();
        using (badClient) using (badServer) using (goodClient) using (goodServer)
        {
            var bad = new Handler(throws: true);
            var good = new Handler(throws: false, drain: goodServer);
            loop.Post(_ => loop.Add(bad, (int)badServer.Handle, Libc.EPOLLIN), null);
            badClient.Send("x"u8);
            await bad.Called.Task.WaitAsync(TimeSpan.FromSeconds(10));

            loop.Post(_ => loop.Add(good, (int)goodServer.Handle, Libc.EPOLLIN), null);
            goodClient.Send("y"u8);
            await good.Called.Task.WaitAsync(TimeSpan.FromSeconds(10));
            await Task.Delay(200); // wakeups enough for a handler left registered to be called again

            Assert.Equal(1, bad.Events);
            Assert.Equal(1, bad.Faults);
            Assert.Equal(0, good.Faults);
            lock (errors) Assert.Equal("handler bug", Assert.Single(errors).Message);
        }
    }
}
