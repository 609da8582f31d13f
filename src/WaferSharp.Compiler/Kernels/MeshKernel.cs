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

    // Per (work, parameters): the best cost on ladder grids ≤ (Ladder[i], Ladder[j]), filled lazily. A region's estimate
    // only depends on the ladder floors of its sides, so every region size shares one table entry per ladder cell.
    private sealed class Table(int n, RawTable raw)
    {
        public readonly int N = n;
        public readonly KernelCost[] Best = new KernelCost[n * n];
        public readonly bool[] Done = new bool[n * n];
        public readonly RawTable Raw = raw;
    }

    // The raw grid costs do not depend on the working-set cap (only chunking does): works that differ only in
    // WorkingCap share one (the planner tries lean caps on memory-tight wafers).
    private sealed class RawTable(int n)
    {
        public readonly KernelCost[] Cost = new KernelCost[n * n];
        public readonly bool[] Done = new bool[n * n];
    }

    // keyed by the parameters' identity first: hashing a CostParams record on every lookup is the hot path's cost
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<CostParams, ConcurrentDictionary<KernelWork, Table>> _tables = new();

    /// <summary>Best estimate on a <paramref name="regionW"/> × <paramref name="regionH"/> region (cached).</summary>
    public KernelCost Estimate(in KernelWork work, int regionW, int regionH, CostParams p)
    {
        if (regionW < 1 || regionH < 1) throw new ArgumentOutOfRangeException(nameof(regionW), $"region {regionW}x{regionH} is empty");
        var ladder = p.Ladder;
        int i = Array.BinarySearch(ladder, regionW); i = i >= 0 ? i : ~i - 1;
        int j = Array.BinarySearch(ladder, regionH); j = j >= 0 ? j : ~j - 1;
        var tables = _tables.GetValue(p, _ => new ConcurrentDictionary<KernelWork, Table>());
        if (tables.Count > 4096) tables.Clear();
        if (!tables.TryGetValue(work, out var table))
        {
            var uncapped = work with { WorkingCap = 0 };
            var baseTable = tables.GetOrAdd(uncapped, _ => new Table(ladder.Length, new RawTable(ladder.Length)));
            table = work.WorkingCap == 0 ? baseTable : tables.GetOrAdd(work, _ => new Table(ladder.Length, baseTable.Raw));
        }
        lock (table.Raw) return Best(table, work, i, j, p);
    }

    // min(cost on exactly Ladder[i] × Ladder[j], best with a narrower side): non-increasing in i and j by construction.
    private KernelCost Best(Table t, in KernelWork work, int i, int j, CostParams p)
    {
        int at = i * t.N + j;
        if (t.Done[at]) return t.Best[at];
        var raw = t.Raw;
        if (!raw.Done[at]) { raw.Cost[at] = Raw(work, p.Ladder[i], p.Ladder[j], p); raw.Done[at] = true; }
        var best = Chunked(raw.Cost[at], p, work.WorkingCap);
        if (i > 0) { var c = Best(t, work, i - 1, j, p); if (c.Cycles <= best.Cycles) best = c; }
        if (j > 0) { var c = Best(t, work, i, j - 1, p); if (c.Cycles <= best.Cycles) best = c; }
        t.Best[at] = best;
        t.Done[at] = true;
        return best;
    }

    /// <summary>
    /// Working sets above <paramref name="cap"/> (default: half of a PE's free SRAM) are processed in chunks (e.g.
    /// output row blocks): the working set is capped and each extra chunk pays the kernel's fixed latency again.
    /// </summary>
    public static KernelCost Chunked(KernelCost c, CostParams p, long cap = 0)
    {
        long half = (p.Spec.PeSramBytes - p.CodeBytesPerPe) / 2;
        cap = cap > 0 ? Math.Min(cap, half) : half;
        if (c.SramBytesPerPe <= cap) return c;
        long chunks = Div(c.SramBytesPerPe, cap);
        return c with { Cycles = c.Cycles + (chunks - 1) * c.FixedCycles, CommCycles = c.CommCycles + (chunks - 1) * c.FixedCycles, SramBytesPerPe = cap, Tile = c.Tile + $" in {chunks} chunks" };
    }

    /// <summary>⌈a / b⌉ for positive integers.</summary>
    protected static long Div(long a, long b) => (a + b - 1) / b;

    /// <summary>
    /// Center-rooted all-reduce of <paramref name="bytes"/> per PE along a line of <paramref name="n"/> PEs, as the fabric
    /// simulator runs it: both halves stream toward the center as pipelined chains (⌊n/2⌋ stages of
    /// <see cref="CostParams.ChainStageCycles"/>; the center takes two streams through its one ramp), then a router
    /// multicast back (α·⌊n/2⌋ + words). Zero for one PE.
    /// </summary>
    public static double AllReduce(long n, double bytes, CostParams p) => LineReduce(n, p.Words(bytes), p, broadcast: true);

    /// <summary>Chain reduce of <paramref name="words"/> wavelets per PE toward the center of a line of <paramref name="n"/> PEs (and the multicast back when <paramref name="broadcast"/>).</summary>
    public static double LineReduce(long n, double words, CostParams p, bool broadcast)
    {
        if (n <= 1) return 0;
        double t = Chain(n, words, p) + p.TaskStartCycles;
        if (broadcast) t += p.Alpha * (n / 2) + words + 2 + p.TaskStartCycles;
        return t;
    }

    // Pipelined chain of n PEs into their center: ⌊n/2⌋ stages; the center takes two streams through its one ramp.
    private static double Chain(long n, double words, CostParams p) =>
        n > 1 ? p.ChainStageCycles * (n / 2) + words * (n >= 3 ? 2 : 1) : 0;

    /// <summary>
    /// Center-rooted 2-D all-reduce of <paramref name="words"/> wavelets per PE on a w × h grid: rows reduce to the center
    /// column, the column to the center PE, and one multicast tree returns the result (about 2·(w + h) cycles for a scalar:
    /// the measured factor over the diameter is in docs/FIDELITY.md).
    /// </summary>
    public static double CenterAllReduce(int w, int h, double words, CostParams p)
    {
        if ((long)w * h <= 1) return 0;
        double bcast = p.Alpha * (w / 2 + h / 2) + words + 2;
        return Chain(w, words, p) + Chain(h, words, p) + bcast + 4 * p.TaskStartCycles + 2;
    }

    /// <summary>Working-set cap of a weight-gradient GEMM that feeds the fused optimizer update (see <see cref="KernelWork.WorkingCap"/>).</summary>
    public const long GradientChunkBytes = 8 * 1024;

    /// <summary>
    /// Working-set cap the layer-pipelined planner gives the kernels of a region sized by its SRAM rather than its
    /// time, when the wafer is memory-tight: their outputs are produced in more chunks, each paying the fixed latency.
    /// </summary>
    public const long LeanWorkingBytes = 8 * 1024;

    /// <inheritdoc/>
    public override string ToString() => Name;
}
