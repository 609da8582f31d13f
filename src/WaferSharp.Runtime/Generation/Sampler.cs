using WaferSharp.Tensors;

namespace WaferSharp.Runtime.Generation;

/// <summary>
/// How the next token is chosen. Temperature 0 is greedy (argmax, lowest id on ties); otherwise logits are divided by
/// the temperature, cut to the <see cref="TopK"/> largest (0 = all), then to the smallest set whose probability
/// reaches <see cref="TopP"/> (1 = all), renormalized, and sampled with a per-sequence seeded generator.
/// </summary>
/// <param name="Temperature">0 = greedy.</param>
/// <param name="TopK">Keep the k most likely tokens (0 = no cut).</param>
/// <param name="TopP">Nucleus mass in (0, 1].</param>
/// <param name="Seed">Seed; sequence i draws from <c>Generator(Mix(Seed + i))</c>.</param>
public sealed record SamplingOptions(double Temperature = 0, int TopK = 0, double TopP = 1.0, ulong Seed = 0)
{
    /// <summary>Checks the values; throws <see cref="ArgumentException"/> naming the bad one.</summary>
    public void Validate()
    {
        if (!(Temperature >= 0) || double.IsInfinity(Temperature)) throw new ArgumentException($"--temperature must be ≥ 0, got {Temperature}");
        if (TopK < 0) throw new ArgumentException($"--top-k must be ≥ 0, got {TopK}");
        if (!(TopP > 0 && TopP <= 1)) throw new ArgumentException($"--top-p must be in (0, 1], got {TopP}");
    }
}

/// <summary>Picks tokens from logits (see <see cref="SamplingOptions"/>).</summary>
public static class Sampler
{
    /// <summary>The next token for one sequence.</summary>
    public static int Next(ReadOnlySpan<float> logits, SamplingOptions o, Generator rng)
    {
        if (o.Temperature == 0)
        {
            int best = 0;
            for (int i = 1; i < logits.Length; i++) if (logits[i] > logits[best]) best = i;
            return best;
        }
        var idx = new int[logits.Length];
        for (int i = 0; i < idx.Length; i++) idx[i] = i;
        var copy = logits.ToArray();
        // Descending by logit, ascending id on ties: a total order, so the cut is deterministic.
        Array.Sort(idx, (a, b) => copy[a] != copy[b] ? copy[b].CompareTo(copy[a]) : a.CompareTo(b));
        int keep = o.TopK > 0 ? Math.Min(o.TopK, idx.Length) : idx.Length;
        var p = new double[keep];
        double max = copy[idx[0]] / o.Temperature, total = 0;
        for (int i = 0; i < keep; i++) { p[i] = Math.Exp(copy[idx[i]] / o.Temperature - max); total += p[i]; }
        if (o.TopP < 1)
        {
            double cum = 0;
            for (int i = 0; i < keep; i++) { cum += p[i] / total; if (cum >= o.TopP) { keep = i + 1; break; } }
            total = 0;
            for (int i = 0; i < keep; i++) total += p[i];
        }
        double u = rng.NextDouble() * total, acc = 0;
        for (int i = 0; i < keep; i++) { acc += p[i]; if (u < acc) return idx[i]; }
        return idx[keep - 1];
    }
}
