using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using RedisTimer.Proxy.Metrics;
using RedisTimer.Proxy.Scheduling;
using RedisTimer.Proxy.Upstream;
using StackExchange.Redis;

namespace RedisTimer.Proxy.Dashboard;

/// <summary>
/// The dashboard on the metrics port: the page (<c>/</c>, its script and style, served from the binary) and the
/// JSON it reads, all GET: <c>/api/summary</c> (the TIMER.STATS figures), <c>/api/activity</c> (the last minutes,
/// <see cref="FireActivity"/>), <c>/api/timers?db=&amp;match=&amp;cursor=&amp;count=</c> (a TIMER.LIST page) and
/// <c>/api/failures?db=</c>. Nothing here writes to Redis; any other method is refused (405).
/// </summary>
/// <param name="version">The proxy's version, as <c>redistimer_build_info</c> shows it.</param>
public sealed class DashboardRoutes(ProxyMetrics metrics, FireActivity activity, DashboardQueries queries, UpstreamConnector connector,
    string version, ILogger logger)
{
    private const int DefaultCount = 50;

    private readonly long _startedAtMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    public void Map(IEndpointRouteBuilder app)
    {
        MapAsset(app, "/", "index.html", "text/html; charset=utf-8");
        MapAsset(app, "/dashboard.js", "dashboard.js", "text/javascript; charset=utf-8");
        MapAsset(app, "/dashboard.css", "dashboard.css", "text/css; charset=utf-8");
        MapAsset(app, "/favicon.svg", "favicon.svg", "image/svg+xml");
        app.MapGet("/api/summary", context => Json(context, WriteSummary));
        app.MapGet("/api/activity", context => Json(context, WriteActivity));
        app.MapGet("/api/timers", Timers);
        app.MapGet("/api/failures", Failures);
    }

    private static void MapAsset(IEndpointRouteBuilder app, string path, string resource, string contentType)
    {
        byte[] body = ReadAsset(resource);
        app.MapGet(path, async context =>
        {
            Secure(context.Response);
            context.Response.ContentType = contentType;
            context.Response.Headers.CacheControl = "no-cache";
            context.Response.ContentLength = body.Length;
            await context.Response.Body.WriteAsync(body);
        });
    }

    private static byte[] ReadAsset(string name)
    {
        using var stream = typeof(DashboardRoutes).Assembly.GetManifestResourceStream("dashboard/" + name)
            ?? throw new InvalidOperationException($"dashboard/{name} is not in the binary");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    // The page runs only its own script and is shown in no frame: what it displays (ids, error texts) comes from Redis.
    private static void Secure(HttpResponse response)
    {
        response.Headers.ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers["Referrer-Policy"] = "no-referrer";
    }

    private void WriteSummary(Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WriteString("version", version);
        json.WriteString("upstream", connector.Describe);
        json.WriteNumber("started", _startedAtMs);
        json.WriteNumber("now", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        json.WriteStartObject("stats");
        foreach (var (name, value) in metrics.Snapshot()) json.WriteNumber(name, value);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    private void WriteActivity(Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WriteStartArray("rows");
        foreach (var row in activity.Rows())
        {
            json.WriteStartObject();
            json.WriteNumber("at", row.AtMs);
            json.WriteNumber("span", row.SpanMs);
            json.WriteNumber("fired", row.Fired);
            json.WriteNumber("errors", row.Errors);
            json.WriteNumber("created", row.Created);
            json.WriteNumber("killed", row.Killed);
            Milliseconds(json, "lateness_mean", row.LatenessMeanMs);
            Milliseconds(json, "lateness_max", row.LatenessMaxMs);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void Milliseconds(Utf8JsonWriter json, string name, double? ms)
    {
        if (ms is { } v) json.WriteNumber(name, Math.Round(v, 3));
        else json.WriteNull(name);
    }

    private Task Timers(HttpContext context)
    {
        var query = context.Request.Query;
        if (!TryDatabase(query, out int db, out string? error)
            || !TryInteger(query, "count", DefaultCount, 1, DashboardQueries.MaxCount, out int count, out error))
            return Problem(context, StatusCodes.Status400BadRequest, error!);
        string cursor = query["cursor"].ToString() is { Length: > 0 } c ? c : "0";
        string? match = query["match"].ToString() is { Length: > 0 } m ? m : null;
        return JsonAsync(context, json => queries.WriteTimersAsync(json, db, match, cursor, count));
    }

    private Task Failures(HttpContext context)
    {
        if (!TryDatabase(context.Request.Query, out int db, out string? error)) return Problem(context, StatusCodes.Status400BadRequest, error!);
        return JsonAsync(context, json => queries.WriteFailuresAsync(json, db));
    }

    private static bool TryDatabase(IQueryCollection query, out int db, out string? error)
    {
        if (!TryInteger(query, "db", 0, 0, int.MaxValue, out db, out error)) return false;
        if (TimerDatabases.IsValid(db)) return true;
        error = $"db must be a database number, not {db}";
        return false;
    }

    private static bool TryInteger(IQueryCollection query, string name, int fallback, int min, int max, out int value, out string? error)
    {
        error = null;
        string text = query[name].ToString();
        if (text.Length == 0)
        {
            value = fallback;
            return true;
        }
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= min && value <= max) return true;
        error = $"{name} must be an integer from {min} to {max}";
        return false;
    }

    private Task Json(HttpContext context, Action<Utf8JsonWriter> write) =>
        JsonAsync(context, json =>
        {
            write(json);
            return Task.CompletedTask;
        });

    // Composed whole before the first byte is sent, so that a query that fails half-way answers its error alone.
    private async Task JsonAsync(HttpContext context, Func<Utf8JsonWriter, Task> write)
    {
        var body = new ArrayBufferWriter<byte>(1024);
        try
        {
            await using (var json = new Utf8JsonWriter(body)) await write(json);
        }
        catch (DashboardQueryException e)
        {
            if (!e.BadRequest) logger.LogWarning("Dashboard query failed: {Error}", e.Message);
            await Problem(context, e.BadRequest ? StatusCodes.Status400BadRequest : StatusCodes.Status502BadGateway, e.Message);
            return;
        }
        catch (RedisServerException e)
        {
            await Problem(context, StatusCodes.Status502BadGateway, e.Message);
            return;
        }
        catch (RedisCommandException e)
        {
            // StackExchange.Redis refuses what it knows Redis would (a db the server does not have).
            await Problem(context, StatusCodes.Status400BadRequest, e.Message);
            return;
        }
        catch (UpstreamUnavailableException e)
        {
            await Problem(context, StatusCodes.Status503ServiceUnavailable, e.Message);
            return;
        }
        await Send(context, StatusCodes.Status200OK, body.WrittenMemory);
    }

    private static Task Problem(HttpContext context, int status, string error)
    {
        var body = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(body))
        {
            json.WriteStartObject();
            json.WriteString("error", error);
            json.WriteEndObject();
        }
        return Send(context, status, body.WrittenMemory);
    }

    private static async Task Send(HttpContext context, int status, ReadOnlyMemory<byte> body)
    {
        var response = context.Response;
        Secure(response);
        response.StatusCode = status;
        response.ContentType = "application/json";
        response.Headers.CacheControl = "no-store";
        response.ContentLength = body.Length;
        await response.Body.WriteAsync(body);
    }
}
