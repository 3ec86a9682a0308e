using System.Globalization;
using System.Text;

namespace RedisTimer.Resp.Tests.Fuzzing;

/// <summary>
/// The seed and size of a property run. CI uses the fixed default seed, so a run is the same every time;
/// <c>RESP_FUZZ_SEED</c> picks another and <c>RESP_FUZZ_CASES</c> scales the number of cases (a longer run).
/// Every case has its own seed, derived from the run's, and a failure names it with the input.
/// </summary>
internal static class FuzzRun
{
    public const int DefaultSeed = 20260509;

    public static int Seed { get; } = int.TryParse(Environment.GetEnvironmentVariable("RESP_FUZZ_SEED"), out int s) ? s : DefaultSeed;

    public static double Scale { get; } =
        double.TryParse(Environment.GetEnvironmentVariable("RESP_FUZZ_CASES"), NumberStyles.Float, CultureInfo.InvariantCulture, out double f) && f > 0 ? f : 1;

    /// <summary>Runs <paramref name="cases"/> (scaled) cases, each with a Random seeded from the run's seed and its index.</summary>
    public static void Cases(string property, int cases, Action<Random, int> run)
    {
        int count = Math.Max(1, (int)(cases * Scale));
        for (int i = 0; i < count; i++)
        {
            int caseSeed = CaseSeed(property, i);
            try
            {
                run(new Random(caseSeed), i);
            }
            catch (Exception e)
            {
                throw new FuzzFailure($"{property}: case {i} of run seed {Seed} failed (rerun with RESP_FUZZ_SEED={Seed}): {e.Message}", e);
            }
        }
    }

    // Not HashCode.Combine: it is seeded per process, and a case must be the same in every run.
    private static int CaseSeed(string property, int index)
    {
        uint h = 2166136261;
        foreach (char c in property) h = (h ^ c) * 16777619;
        h = (h ^ (uint)Seed) * 16777619;
        h = (h ^ (uint)index) * 16777619;
        return (int)(h & 0x7FFFFFFF);
    }

    /// <summary>Random cut points (ascending, inside 0..length) for a sequence of several segments.</summary>
    public static int[] Cuts(Random rng, int length)
    {
        if (length == 0) return [];
        int n = rng.Next(4) switch { 0 => 1, 1 => rng.Next(2, 6), 2 => rng.Next(6, 40), _ => rng.Next(1, Math.Max(2, length / 2)) };
        var cuts = new int[n];
        for (int i = 0; i < n; i++) cuts[i] = rng.Next(length + 1);
        Array.Sort(cuts);
        return cuts;
    }
}

internal sealed class FuzzFailure(string message, Exception inner) : Exception(message, inner);
