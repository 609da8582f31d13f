using System.Collections.Concurrent;

namespace WaferSharp.Compiler.Kernels;

/// <summary>
/// One mesh kernel family: a mesh algorithm (or a choice of them) with a cycle cost model and an SRAM footprint.
/// <see cref="Raw"/> is the model on exactly a gw × gh grid; <see cref="Estimate"/> runs the kernel on the best
/// sub-grid of a region from the fixed <see cref="CostParams.Ladder"/>, so estimates never grow with the region.
/// </summary>
public abstract class MeshKernel
{
    /// <summary>Family name (e.g. "Gemm"): the kernel is named after the op family it implements.</summary>
    public abstract string Name { get; }

    /// <summary>The cost model on exactly a <paramref name="gw"/> × <paramref name="gh"/> grid.</summary>
    public abstract KernelCost Raw(in KernelWork work, int gw, int gh, CostParams p);

    /// <summary>Colors the family needs inside its region at most (for the color budget).</summary>
    public virtual int MaxColors => 4;

    private readonly ConcurrentDictionary<(KernelWork, int, int, CostParams), KernelCost> _cache = new();

    /// <summary>Best estimate on a <paramref name="regionW"/> × <paramref name="regionH"/> region (cached).</summary>
    public KernelCost Estimate(in KernelWork work, int regionW, int regionH, CostParams p)
    {
        if (regionW < 1 || regionH < 1) throw new ArgumentOutOfRangeException(nameof(regionW), $"region {regionW}x{regionH} is empty");
        var key = (work, regionW, regionH, p);
        if (_cache.TryGetValue(key, out var hit)) return hit;
        KernelCost best = default;
        bool any = false;
        var ladder = p.Ladder;
        for (int i = 0; i < ladder.Length && ladder[i] <= regionW; i++)
            for (int j = 0; j < ladder.Length && ladder[j] <= regionH; j++)
            {
                var c = Chunked(Raw(work, ladder[i], ladder[j], p), p);
                if (!any || c.Cycles < best.Cycles) { best = c; any = true; }
            }
        if (_cache.Count > 200_000) _cache.Clear();
        _cache[key] = best;
        return best;
    }

    /// <summary>
    /// Working sets above half of a PE's free SRAM are processed in chunks (e.g. output row blocks): the working set is
    /// capped and each extra chunk pays the kernel's fixed latency again.
    /// </summary>
    public static KernelCost Chunked(KernelCost c, CostParams p)
    {
        long cap = (p.Spec.PeSramBytes - p.CodeBytesPerPe) / 2;
        if (c.SramBytesPerPe <= cap) return c;
        long chunks = Div(c.SramBytesPerPe, cap);
        return c with { Cycles = c.Cycles + (chunks - 1) * c.FixedCycles, CommCycles = c.CommCycles + (chunks - 1) * c.FixedCycles, SramBytesPerPe = cap, Tile = c.Tile + $" in {chunks} chunks" };
    }

    /// <summary>⌈a / b⌉ for positive integers.</summary>
    protected static long Div(long a, long b) => (a + b - 1) / b;

    /// <summary>
    /// K-tree all-reduce (K = 2, MeshGEMV) of <paramref name="bytes"/> per PE along a line of <paramref name="n"/> PEs:
    /// α·n + β·K·n^(1/K)/2 + t_w·m·K (mesh-algorithms.md §8). Zero for one PE.
    /// </summary>
    public static double AllReduce(long n, double bytes, CostParams p)
    {
        if (n <= 1) return 0;
        return p.Alpha * n + p.Beta * Math.Ceiling(Math.Sqrt(n)) + 2 * p.Words(bytes);
    }

    /// <inheritdoc/>
    public override string ToString() => Name;
}
