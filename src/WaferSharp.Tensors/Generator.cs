namespace WaferSharp.Tensors;

/// <summary>
/// A small deterministic random generator (SplitMix64 stream) whose whole state is one ulong, so checkpoints
/// can store and restore it exactly. Used for parameter initialization, data shuffling and dropout seeds.
/// </summary>
public sealed class Generator
{
    private ulong _state;

    /// <summary>The process-wide default generator (like torch's default CPU generator).</summary>
    public static Generator Default { get; } = new(0);

    /// <summary>Creates a generator from a seed.</summary>
    public Generator(ulong seed) => _state = seed;

    /// <summary>Reseeds (torch.manual_seed).</summary>
    public void ManualSeed(ulong seed) => _state = seed;

    /// <summary>The full state, for checkpoints.</summary>
    public ulong State { get => _state; set => _state = value; }

    /// <summary>Next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        return Mix(z);
    }

    /// <summary>The SplitMix64 finalizer; also a good stateless hash for counter-based streams.</summary>
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1) with 24 random bits (exact in float32).</summary>
    public float NextFloat() => (NextUInt64() >> 40) * (1f / (1 << 24));

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [0, n).</summary>
    public int NextInt(int n) => (int)((NextUInt64() >> 33) % (ulong)n);

    /// <summary>Standard normal (Box–Muller).</summary>
    public double NextNormal()
    {
        double u1 = 1.0 - NextDouble(), u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>Fills with U(lo, hi).</summary>
    public void FillUniform(Span<float> dst, float lo, float hi)
    {
        for (int i = 0; i < dst.Length; i++) dst[i] = lo + (hi - lo) * NextFloat();
    }

    /// <summary>Fills with N(mean, std²).</summary>
    public void FillNormal(Span<float> dst, float mean, float std)
    {
        for (int i = 0; i < dst.Length; i++) dst[i] = mean + std * (float)NextNormal();
    }

    /// <summary>A seeded Fisher–Yates permutation of 0..n-1.</summary>
    public int[] Permutation(int n)
    {
        var p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--) { int j = NextInt(i + 1); (p[i], p[j]) = (p[j], p[i]); }
        return p;
    }
}
