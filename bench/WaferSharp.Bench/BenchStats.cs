using System.Globalization;

namespace WaferSharp.Bench;

/// <summary>Argument parsing and statistics shared by the benchmarks.</summary>
internal static class BenchStats
{
    /// <summary>Median of <paramref name="xs"/>.</summary>
    public static double Median(IEnumerable<double> xs)
    {
        var s = xs.OrderBy(v => v).ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : 0.5 * (s[s.Count / 2 - 1] + s[s.Count / 2]);
    }

    /// <summary>The integer after option <paramref name="name"/>, or <paramref name="dflt"/>.</summary>
    public static int Arg(string[] a, string name, int dflt)
    {
        int i = Array.IndexOf(a, name);
        return i >= 0 && i + 1 < a.Length ? int.Parse(a[i + 1], CultureInfo.InvariantCulture) : dflt;
    }
}
