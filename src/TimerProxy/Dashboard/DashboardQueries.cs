using System.Text;
using System.Text.Json;
using RedisTimer.Proxy.Scheduling;
using RedisTimer.Proxy.Timers;
using RedisTimer.Proxy.Upstream;
using StackExchange.Redis;

namespace RedisTimer.Proxy.Dashboard;

/// <summary>
/// What the dashboard reads from Redis, on the proxy's control connection and only when a page asks: a page of
/// timers (the library's <c>timer_list</c>, as TIMER.LIST) and a db's recent failures. Both only read. The answers
/// are JSON, written as they are read.
/// </summary>
public sealed class DashboardQueries(ControlPlane control)
{
    /// <summary>A page shown at once, filled from as many TIMER.LIST calls as it takes (each at most 100 timers,
    /// timer-library.lua's LIST_MAX_COUNT).</summary>
    public const int MaxCount = 200;

    // Redis answering slower than this is shown as unavailable rather than holding the page for the connection's
    // own 10 s timeout.
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(3);

    /// <summary>
    /// A page of at least <paramref name="count"/> timers where there are that many more: with a pattern a ZSCAN page may
    /// hold none, so the library is asked again from the cursor it gave, up to <see cref="CallsPerPage"/> times (each
    /// call bounded, as TIMER.LIST's). The cursor answered goes on from there, "0" at the end.
    /// </summary>
    public async Task WriteTimersAsync(Utf8JsonWriter json, int db, string? match, string cursor, int count)
    {
        json.WriteStartObject();
        json.WriteStartArray("timers");
        int listed = 0;
        for (int call = 0; call < CallsPerPage && listed < count; call++)
        {
            // A pattern that matched too few in the first call may match few of the index: read as many as a call may.
            int hint = call == 0 || match is null ? count - listed : MaxCount;
            var args = new List<object> { "timer_list", 1, TimerSchema.IndexKey, "CURSOR", cursor, "COUNT", hint };
            if (match is not null) args.AddRange(["MATCH", match]);
            RedisResult result;
            try
            {
                result = await CallAsync(db, "FCALL", args);
            }
            catch (RedisServerException e) when (e.Message.StartsWith("ERR Function not found", StringComparison.Ordinal))
            {
                // The library is loaded with the first timer made through a proxy: none has been.
                cursor = "0";
                break;
            }
            var payload = result.Resp2Type == ResultType.Array && result.Length == 2 ? (byte[]?)result[1] : null;
            if (payload is not { Length: > 0 }) throw new DashboardQueryException("timer_list answered something else than a page");
            if (payload[0] == (byte)'e') throw new DashboardQueryException(Encoding.UTF8.GetString(payload, 1, payload.Length - 1), badRequest: true);
            if (payload[0] != (byte)'l' || !TryWriteEntries(json, payload.AsSpan(1), out cursor, out int n))
                throw new DashboardQueryException("timer_list answered a page the proxy cannot read");
            listed += n;
            if (cursor == "0") break;
        }
        json.WriteEndArray();
        json.WriteString("cursor", cursor);
        json.WriteEndObject();
    }

    /// <summary>Library calls for one page at most: 20 × 200 index entries, about 40 ms of Redis's time in all on a
    /// 1M index, in calls of about 2 ms each.</summary>
    public const int CallsPerPage = 20;

    private static bool TryWriteEntries(Utf8JsonWriter json, ReadOnlySpan<byte> rows, out string cursor, out int count)
    {
        cursor = "0";
        count = 0;
        if (!TimerListPage.TryOpen(rows, out var page)) return false;
        cursor = Text(page.Cursor);
        try
        {
            while (page.TryReadEntry(out var e))
            {
                json.WriteStartObject();
                json.WriteString("id", Text(e.Id));
                json.WriteString("function", Text(e.Function));
                json.WriteNumber("interval", e.IntervalMs);
                json.WriteBoolean("loop", e.Loop);
                json.WriteNumber("remaining", e.RemainingMs);
                json.WriteNumber("runs_ok", e.RunsOk);
                json.WriteNumber("runs_failed", e.RunsFailed);
                Nullable(json, "last_run", e.LastRun);
                Nullable(json, "last_lateness", e.LastLateness);
                if (e.LastError.IsEmpty) json.WriteNull("last_error");
                else json.WriteString("last_error", Text(e.LastError));
                json.WriteEndObject();
                count++;
            }
        }
        catch (InvalidDataException)
        {
            return false;
        }
        return true;
    }

    /// <summary>The db's list of recent failures (newest first, at most 100: timer-library.lua, FAILURES_KEPT).</summary>
    public async Task WriteFailuresAsync(Utf8JsonWriter json, int db)
    {
        var result = await CallAsync(db, "LRANGE", [TimerSchema.FailuresKey, 0, -1]);
        json.WriteStartObject();
        json.WriteStartArray("failures");
        if (result.Resp2Type == ResultType.Array)
        {
            foreach (var entry in (RedisResult[])result!)
            {
                // Entries the library wrote are JSON objects; anything else someone pushed there is left out.
                if ((byte[]?)entry is not { } bytes) continue;
                try
                {
                    using var doc = JsonDocument.Parse(bytes);
                    if (doc.RootElement.ValueKind == JsonValueKind.Object) doc.RootElement.WriteTo(json);
                }
                catch (JsonException)
                {
                }
            }
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }

    private async Task<RedisResult> CallAsync(int db, string command, ICollection<object> args)
    {
        try
        {
            var mux = await control.GetAsync().WaitAsync(Patience);
            if (!mux.IsConnected) throw new UpstreamUnavailableException($"upstream {control} unavailable: not connected");
            return await mux.GetDatabase(db).ExecuteAsync(command, args).WaitAsync(Patience);
        }
        catch (TimeoutException e)
        {
            throw new UpstreamUnavailableException($"upstream {control} unavailable: no answer within {Patience.TotalSeconds:0} s", e);
        }
        catch (RedisConnectionException e)
        {
            throw new UpstreamUnavailableException($"upstream {control} unavailable: {e.Message}", e);
        }
    }

    // Ids and function names are binary-safe in Redis; the page shows them as UTF-8 (an invalid byte as U+FFFD).
    private static string Text(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);

    private static void Nullable(Utf8JsonWriter json, string name, long? value)
    {
        if (value is { } v) json.WriteNumber(name, v);
        else json.WriteNull(name);
    }
}

/// <summary>A query the page sent that Redis refused (<see cref="BadRequest"/>), or an answer the proxy cannot read.</summary>
public sealed class DashboardQueryException(string message, bool badRequest = false) : Exception(message)
{
    public bool BadRequest { get; } = badRequest;
}
