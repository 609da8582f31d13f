namespace WaferSharp.Compiler.Kernels;

/// <summary>
/// Matrix multiply on a grid: C tiles of ⌈M/h⌉ × ⌈N/w⌉ per PE, K in P = max(w, h) panels. Two algorithms, the
/// faster is picked:
/// <list type="bullet">
/// <item>SUMMA (weight-stationary multicast): per step the owning column multicasts its A panel along rows and the
/// owning row its B panel down columns; both panels enter a PE through its ramp, so step = max(compute + step overhead,
/// A words + B words + β) (β: route switch and re-injection); total = max(P·(words + β) + FMAC loop,
/// α·(max(w, h) − 1) + first panels + P·FMAC loop) + launch.
/// Calibrated on the fabric simulator (docs/FIDELITY.md).</item>
/// <item>MeshGEMM (Cannon with the INTERLEAVE ring, every shift ≤ 2 hops): shift = A + B tile words + 2α + sync;
/// alignment = P − 1 shifts; total = (P − 1)·shift + (P − 1)·max(compute, shift) + compute + launch.</item>
/// </list>
/// compute per step = ⌈Mt·Nt·Kt / S⌉ + step overhead. Independent problems (batched, B not shared) run on
/// sub-grids in rounds.
/// </summary>
public sealed class GemmKernel : MeshKernel
{
    /// <inheritdoc/>
    public override string Name => "Gemm";
    /// <inheritdoc/>
    public override int MaxColors => 6;

    /// <inheritdoc/>
    public override KernelCost Raw(in KernelWork work, int gw, int gh, CostParams p)
    {
        if (work.SharedB || work.Batch <= 1)
            return Single(Math.Max(1, work.Batch) * work.M, work.N, work.K, gw, gh, p, work.ResidentB);
        long m = work.M, n = work.N, k = work.K;
        return Batched(work.Batch, gw, gh, p, (bw, bh) => Single(m, n, k, bw, bh, p));
    }

    /// <summary>Runs <paramref name="problems"/> independent problems on sub-grids of a gw × gh grid, in rounds.</summary>
    internal static KernelCost Batched(long problems, int gw, int gh, CostParams p, Func<int, int, KernelCost> single)
    {
        long pes = (long)gw * gh;
        long concurrent = Math.Min(problems, pes);
        long per = Math.Max(1, pes / concurrent);
        int bh = (int)Math.Max(1, Math.Min(gh, (long)Math.Sqrt(per)));
        int bw = (int)Math.Max(1, Math.Min(gw, per / bh));
        long fit = (long)(gw / bw) * (gh / bh);
        long rounds = Div(problems, Math.Max(1, fit));
        var c = single(bw, bh);
        double fixedPart = c.FixedCycles;
        return c with
        {
            Cycles = rounds * (c.Cycles - fixedPart) + fixedPart + (rounds - 1) * p.StepOverheadCycles,
            ComputeCycles = rounds * c.ComputeCycles,
            CommCycles = rounds * c.CommCycles,
            GridW = gw, GridH = gh,
            Tile = $"{fit}x[{bw}x{bh}] sub-grids, {rounds} rounds; {c.Tile}",
        };
    }

    /// <summary>
    /// One M×K · K×N product on exactly a w × h grid: the faster of SUMMA and MeshGEMM. With
    /// <paramref name="residentB"/> B is a resident weight: its owned block is not part of the working set.
    /// </summary>
    public static KernelCost Single(long m, long n, long k, int w, int h, CostParams p, bool residentB = false)
    {
        var s = Summa(m, n, k, w, h, p, residentB);
        var g = MeshGemm(m, n, k, w, h, p, residentB);
        return g.Cycles <= s.Cycles ? g : s;
    }

    private static (long Mt, long Nt, long Kt, long P) Tiles(long m, long n, long k, int w, int h)
    {
        long steps = Math.Max(w, h);
        return (Div(Math.Max(1, m), h), Div(Math.Max(1, n), w), Div(Math.Max(1, k), steps), steps);
    }

    /// <summary>
    /// SUMMA-style multicast GEMM on a w × h grid. Working set: the owned A block and (unless B is a resident weight)
    /// the owned B block, one received panel of each, and the fp32 C tile.
    /// </summary>
    public static KernelCost Summa(long m, long n, long k, int w, int h, CostParams p, bool residentB = false)
    {
        var (mt, nt, kt, steps) = Tiles(m, n, k, w, h);
        double compute = Math.Ceiling((double)mt * nt * kt / p.Lanes) + p.StepOverheadCycles;
        bool comm = w > 1 || h > 1;
        // both panels of a step reach a PE through its one ramp (one element per wavelet), overlapped with the previous step's FMACs
        double words = comm ? (double)mt * kt + (double)kt * nt : 0;
        double relay = comm ? p.Beta : 0;
        double fill = comm ? p.Alpha * (Math.Max(w, h) - 1) + words : 0; // the first step's panels are not hidden
        // link-bound: the panel streams pipeline across steps and only the last FMAC loop is exposed;
        // FMAC-bound: the first panels and the hops are exposed, then one FMAC loop per step
        double total = Math.Max(steps * (words + relay) + compute, fill + steps * compute) + p.KernelOverheadCycles;
        double step = Math.Max(compute, words + relay);
        long kw = Div(Math.Max(1, k), w), kh = Div(Math.Max(1, k), h);
        long sram = (mt * kw + (residentB ? 0 : kh * nt) + mt * kt + kt * nt) * p.ElementBytes + mt * nt * 4;
        return new KernelCost(total, steps * (compute - p.StepOverheadCycles), steps * (Math.Max(0, words - compute) + relay) + fill,
            fill + p.KernelOverheadCycles + steps * relay, sram, "summa-multicast", w, h, 2,
            $"Mt={mt} Nt={nt} Kt={kt} steps={steps}");
    }

    /// <summary>
    /// MeshGEMM (Cannon-style shift on an interleaved ring) on a w × h grid, as the fabric simulator runs it: every shift
    /// moves the A and the B tile one ring position (≤ 2 hops) through each PE's ramp, shift = A words + B words + 2α +
    /// a task switch and two issues + 2; the skew is P − 1 shift rounds toward lower ring positions; then P FMAC steps
    /// overlapped with the next shift: total = (P − 1)·shift + (P − 1)·max(compute, shift) + compute + launch.
    /// Calibrated on the fabric simulator (docs/FIDELITY.md). Working set: the A and B tiles double buffered (a resident B
    /// tile is one of its two buffers) and the fp32 C tile.
    /// </summary>
    public static KernelCost MeshGemm(long m, long n, long k, int w, int h, CostParams p, bool residentB = false)
    {
        var (mt, nt, kt, steps) = Tiles(m, n, k, w, h);
        double compute = Math.Ceiling((double)mt * nt * kt / p.Lanes) + p.StepOverheadCycles;
        bool comm = w > 1 || h > 1;
        double shift = comm ? (double)mt * kt + (double)kt * nt + 2 * p.Alpha + p.TaskStartCycles + 2 * p.IssueCycles + 2 : 0;
        double step = Math.Max(compute, shift);
        long align = comm ? steps - 1 : 0;
        double total = align * shift + (steps - 1) * step + compute + p.KernelOverheadCycles;
        long sram = (2 * mt * kt + (residentB ? 1 : 2) * kt * nt) * p.ElementBytes + mt * nt * 4;
        return new KernelCost(total, steps * (compute - p.StepOverheadCycles), (steps - 1) * Math.Max(0, shift - compute) + align * shift,
            p.KernelOverheadCycles + align * (2 * p.Alpha + p.TaskStartCycles), sram, "meshgemm-shift", w, h, comm ? 12 : 0,
            $"Mt={mt} Nt={nt} Kt={kt} steps={steps}");
    }
}
