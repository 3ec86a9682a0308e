using System.Runtime.InteropServices;

namespace RedisTimer.Proxy.Transport;

/// <summary>The few libc calls the epoll transport makes (Linux x64).</summary>
internal static unsafe partial class Libc
{
    public const int EPOLL_CLOEXEC = 0x80000;
    public const int EPOLL_CTL_ADD = 1;
    public const int EPOLL_CTL_DEL = 2;
    public const int EPOLL_CTL_MOD = 3;

    public const uint EPOLLIN = 0x001;
    public const uint EPOLLOUT = 0x004;
    public const uint EPOLLERR = 0x008;
    public const uint EPOLLHUP = 0x010;

    public const int EFD_CLOEXEC = 0x80000;
    public const int EFD_NONBLOCK = 0x800;

    public const int F_GETFL = 3;
    public const int F_SETFL = 4;
    public const int O_NONBLOCK = 0x800;

    public const int MSG_NOSIGNAL = 0x4000;
    public const int SHUT_WR = 1;
    public const int SHUT_RDWR = 2;

    public const int EINTR = 4;
    public const int EAGAIN = 11;
    public const int ECONNRESET = 104;

    /// <summary>struct epoll_event is packed on x86-64: 4 bytes of events, then 8 of data.</summary>
    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    public struct EpollEvent
    {
        public uint Events;
        public ulong Data;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct IoVec
    {
        public byte* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct MsgHdr
    {
        public void* Name;
        public uint NameLength;
        public IoVec* Iov;
        public nuint IovLength;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    [LibraryImport("libc", SetLastError = true, EntryPoint = "epoll_create1")]
    public static partial int EpollCreate1(int flags);

    [LibraryImport("libc", SetLastError = true, EntryPoint = "epoll_ctl")]
    public static partial int EpollCtl(int epfd, int op, int fd, EpollEvent* ev);

    [LibraryImport("libc", SetLastError = true, EntryPoint = "epoll_wait")]
    public static partial int EpollWait(int epfd, EpollEvent* events, int maxEvents, int timeout);

    [LibraryImport("libc", SetLastError = true, EntryPoint = "eventfd")]
    public static partial int EventFd(uint initval, int flags);

    [LibraryImport("libc", SetLastError = true, EntryPoint = "read")]
    public static partial nint Read(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", SetLastError = true, EntryPoint = "write")]
    public static partial nint Write(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", SetLastError = true, EntryPoint = "send")]
    public static partial nint Send(int fd, byte* buffer, nuint count, int flags);

    [LibraryImport("libc", SetLastError = true, EntryPoint = "sendmsg")]
    public static partial nint SendMsg(int fd, MsgHdr* msg, int flags);

    [LibraryImport("libc", SetLastError = true, EntryPoint = "shutdown")]
    public static partial int Shutdown(int fd, int how);

    [LibraryImport("libc", SetLastError = true, EntryPoint = "close")]
    public static partial int Close(int fd);

    [LibraryImport("libc", SetLastError = true, EntryPoint = "fcntl")]
    public static partial int Fcntl(int fd, int cmd, int arg);

    private const nuint FIONREAD = 0x541B;

    [LibraryImport("libc", SetLastError = true, EntryPoint = "ioctl")]
    private static partial int Ioctl(int fd, nuint request, int* value);

    /// <summary>Bytes waiting in the socket's receive queue (0 when it cannot tell).</summary>
    public static int BytesAvailable(int fd)
    {
        int value;
        return Ioctl(fd, FIONREAD, &value) == 0 ? value : 0;
    }

    public static int Errno => Marshal.GetLastPInvokeError();

    public static void SetNonBlocking(int fd)
    {
        int flags = Fcntl(fd, F_GETFL, 0);
        if (flags < 0 || Fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
            throw new System.Net.Sockets.SocketException(Errno);
    }
}
