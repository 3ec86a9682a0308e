using System.Collections.Concurrent;
using System.IO.Pipelines;

namespace RedisTimer.Proxy.Transport;

/// <summary>
/// Runs pipe continuations on one background thread of its own. With the sockets transport, socket completions run
/// inline on .NET's socket threads, which also serve the clients; the scheduler's connections continue here instead,
/// so a burst of fires is worked through beside the clients' traffic, not on its threads.
/// </summary>
internal sealed class DedicatedPipeScheduler : PipeScheduler
{
    private readonly BlockingCollection<(Action<object?> Action, object? State)> _work = new();

    public DedicatedPipeScheduler(string name, Action<Exception> onError)
    {
        new Thread(() =>
        {
            foreach (var (action, state) in _work.GetConsumingEnumerable())
            {
                try { action(state); }
                catch (Exception e) { onError(e); }
            }
        }) { IsBackground = true, Name = name }.UnsafeStart();
    }

    public override void Schedule(Action<object?> action, object? state) => _work.Add((action, state));
}
