using System.Text;
using System.Text.Json;

namespace RedisTimer.Proxy.Tests.Infrastructure;

/// <summary>
/// The final stage of a Dockerfile (what runs in the image), read as Docker reads it: comment lines dropped (also
/// inside a continued line), lines ending in a backslash joined, then the instructions after the last FROM.
/// Only what the image's run needs: WORKDIR, ENV, USER, VOLUME, RUN, HEALTHCHECK, ENTRYPOINT.
/// </summary>
public sealed class DockerfileStage
{
    public string From { get; private set; } = "";
    public string WorkDir { get; private set; } = "/";
    public string? User { get; private set; }
    public Dictionary<string, string> Env { get; } = new(StringComparer.Ordinal);
    public List<string> Volumes { get; } = new();
    public List<string> Runs { get; } = new();
    public string[]? Entrypoint { get; private set; }
    public string[]? HealthCheckCommand { get; private set; }
    public Dictionary<string, string> HealthCheckOptions { get; } = new(StringComparer.Ordinal);

    public static DockerfileStage Parse(string text)
    {
        var instructions = new List<string>();
        var current = new StringBuilder();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.TrimStart().StartsWith('#')) continue;
            if (line.EndsWith('\\'))
            {
                current.Append(line, 0, line.Length - 1).Append(' ');
                continue;
            }
            current.Append(line);
            if (current.ToString().Trim() is { Length: > 0 } whole) instructions.Add(whole);
            current.Clear();
        }

        DockerfileStage stage = new();
        foreach (var instruction in instructions)
        {
            int space = instruction.IndexOfAny([' ', '\t']);
            string keyword = (space < 0 ? instruction : instruction[..space]).ToUpperInvariant();
            string rest = space < 0 ? "" : instruction[(space + 1)..].Trim();
            switch (keyword)
            {
                case "FROM":
                    stage = new DockerfileStage { From = rest }; // only the last stage counts
                    break;
                case "WORKDIR":
                    stage.WorkDir = rest.StartsWith('/') ? rest : stage.WorkDir.TrimEnd('/') + "/" + rest;
                    break;
                case "USER":
                    stage.User = rest;
                    break;
                case "ENV":
                    var words = Words(rest);
                    if (words.Count > 0 && !words[0].Contains('='))
                        stage.Env[words[0]] = string.Join(' ', words.Skip(1)); // the old "ENV key value" form
                    else
                        foreach (var word in words)
                            stage.Env[word[..word.IndexOf('=')]] = word[(word.IndexOf('=') + 1)..];
                    break;
                case "VOLUME":
                    stage.Volumes.AddRange(rest.StartsWith('[') ? JsonArray(rest) : Words(rest).ToArray());
                    break;
                case "RUN":
                    stage.Runs.Add(rest);
                    break;
                case "ENTRYPOINT":
                    stage.Entrypoint = rest.StartsWith('[') ? JsonArray(rest) : throw new FormatException("ENTRYPOINT is not in exec form: " + rest);
                    break;
                case "HEALTHCHECK":
                    int cmd = rest.IndexOf("CMD", StringComparison.Ordinal);
                    if (cmd < 0) throw new FormatException("HEALTHCHECK without CMD: " + rest);
                    foreach (var option in Words(rest[..cmd]))
                        stage.HealthCheckOptions[option[..option.IndexOf('=')]] = option[(option.IndexOf('=') + 1)..];
                    var command = rest[(cmd + 3)..].Trim();
                    stage.HealthCheckCommand = command.StartsWith('[') ? JsonArray(command)
                        : throw new FormatException("HEALTHCHECK CMD is not in exec form (it would need /bin/sh): " + command);
                    break;
            }
        }
        return stage;
    }

    /// <summary>A HEALTHCHECK duration option such as <c>--timeout=5s</c> (Docker's default when absent).</summary>
    public TimeSpan HealthCheckDuration(string option, TimeSpan whenAbsent)
    {
        if (!HealthCheckOptions.TryGetValue(option, out var value)) return whenAbsent;
        if (value.EndsWith("ms")) return TimeSpan.FromMilliseconds(double.Parse(value[..^2]));
        if (value.EndsWith('s')) return TimeSpan.FromSeconds(double.Parse(value[..^1]));
        if (value.EndsWith('m')) return TimeSpan.FromMinutes(double.Parse(value[..^1]));
        throw new FormatException($"HEALTHCHECK {option}={value}");
    }

    private static string[] JsonArray(string text) => JsonSerializer.Deserialize<string[]>(text)!;

    // Whitespace-separated words; double quotes group (and are removed), as in ENV a="b c".
    private static List<string> Words(string text)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        bool quoted = false, any = false;
        foreach (char c in text)
        {
            if (c == '"') { quoted = !quoted; any = true; continue; }
            if (char.IsWhiteSpace(c) && !quoted)
            {
                if (any) words.Add(word.ToString());
                word.Clear();
                any = false;
                continue;
            }
            word.Append(c);
            any = true;
        }
        if (any) words.Add(word.ToString());
        return words;
    }
}
