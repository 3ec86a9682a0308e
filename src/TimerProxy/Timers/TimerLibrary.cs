using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using RedisTimer.Proxy.Upstream;
using StackExchange.Redis;

namespace RedisTimer.Proxy.Timers;

/// <summary>
/// The proxy's Redis Function library (timer-library.lua), loaded with FUNCTION LOAD REPLACE when timers are
/// activated (<see cref="Scheduling.ITimerActivation"/>), and again when it goes missing (FUNCTION FLUSH/DELETE,
/// a Redis restart without persistence).
/// </summary>
public sealed class TimerLibrary(ControlPlane control, ILogger<TimerLibrary> logger)
{
    public static readonly string Source = ReadSource();

    /// <summary>Loads (or replaces) the library in Redis.</summary>
    public async Task LoadAsync()
    {
        var mux = await control.GetAsync();
        await mux.GetDatabase().ExecuteAsync("FUNCTION", "LOAD", "REPLACE", Source);
        logger.LogInformation("Timer library '{Library}' loaded", TimerSchema.LibraryName);
    }

    /// <summary>The functions the library registers; the proxy calls them by name.</summary>
    public static readonly IReadOnlyList<string> FunctionNames =
        Regex.Matches(Source, @"function_name='(\w+)'").Select(m => m.Groups[1].Value).ToArray();

    /// <summary>
    /// Checks that the library is still in Redis with every function this proxy calls, and loads it again if
    /// not: it may have been removed, or replaced by an older proxy's library (during a rolling upgrade), which
    /// lacks a newer function such as timer_batch. An older proxy finds its functions in the newer library.
    /// </summary>
    public async Task RepairAsync(IDatabase db)
    {
        var listed = await db.ExecuteAsync("FUNCTION", "LIST", "LIBRARYNAME", TimerSchema.LibraryName);
        if (listed.Length == 0)
        {
            logger.LogWarning("Timer library '{Library}' is missing from Redis (FUNCTION FLUSH/DELETE, or a restart without persistence); loading it again", TimerSchema.LibraryName);
        }
        else
        {
            var missing = FunctionNames.Except(ListedFunctions(listed)).ToList();
            if (missing.Count == 0) return;
            logger.LogWarning("Timer library '{Library}' in Redis lacks {Functions} (loaded by an older proxy?); loading this proxy's version",
                TimerSchema.LibraryName, string.Join(", ", missing));
        }
        await db.ExecuteAsync("FUNCTION", "LOAD", "REPLACE", Source);
    }

    // FUNCTION LIST: per library a flat list of fields, "functions" holding per function a flat list with "name".
    private static IEnumerable<string> ListedFunctions(RedisResult listed)
    {
        foreach (var library in (RedisResult[])listed!)
        {
            var fields = (RedisResult[])library!;
            for (int i = 0; i + 1 < fields.Length; i += 2)
            {
                if ((string?)fields[i] != "functions") continue;
                foreach (var function in (RedisResult[])fields[i + 1]!)
                {
                    var f = (RedisResult[])function!;
                    for (int j = 0; j + 1 < f.Length; j += 2)
                        if ((string?)f[j] == "name" && (string?)f[j + 1] is { } name) yield return name;
                }
            }
        }
    }

    // The library's own functions around the core they share with the prelude (LuaPrelude).
    private static string ReadSource() =>
        LuaPrelude.ReadResource("timer-library.lua").Replace("-- #include timer-core.lua\n", LuaPrelude.ReadResource("timer-core.lua"));
}
