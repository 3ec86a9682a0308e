namespace RedisTimer.Proxy.Scheduling;

/// <summary>The databases the scheduler looks at: those whose index it found, and those a change event named.</summary>
internal sealed class TimerDatabases
{
    // Databases are numbered from 0 and Redis has at most a few thousand; anything else is a
    // client's refused SELECT showing through, and would only make every reconciliation fail.
    private const int MaxDatabase = 65535;

    private readonly HashSet<int> _known = new();

    public static bool IsValid(int db) => db is >= 0 and <= MaxDatabase;

    /// <summary>True when <paramref name="db"/> is new to the scheduler.</summary>
    public bool Note(int db)
    {
        lock (_known) return _known.Add(db);
    }

    public void Forget(int db)
    {
        lock (_known) _known.Remove(db);
    }

    public void AddTo(ISet<int> candidates)
    {
        lock (_known) candidates.UnionWith(_known);
    }

    public void Remember(IEnumerable<int> found)
    {
        lock (_known) _known.UnionWith(found);
    }
}
