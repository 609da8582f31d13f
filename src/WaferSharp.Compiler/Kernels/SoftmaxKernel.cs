namespace WaferSharp.Compiler.Kernels;

/// <summary>
/// Row softmax (and log-softmax, softmax cross-entropy, and their gradients): each PE holds rows_per_PE × elems_per_PE
/// of the rows; local work = rows · (⌈elems · pass cycles⌉ + instructions) where the pass cycles per element count each
/// SRAM pass at the slowest of SIMD lanes and ports, plus one row all-reduce per reduction (max and sum: 2) along the
/// row, + launch. Calibrated on the fabric simulator (docs/FIDELITY.md).
/// </summary>
public sealed class SoftmaxKernel : MeshKernel
{
    /// <inheritdoc/>
    public override string Name => "Softmax";

    /// <inheritdoc/>
    public override KernelCost Raw(in KernelWork work, int gw, int gh, CostParams p) =>
        work.RowOp == Kernels.RowOp.Forward ? RowOp(work, gw, gh, p, "row-softmax-2reduce") : RowProgramCycles.Of(work, gw, gh, p);

    /// <summary>
    /// Softmax passes per element: the row max and the row sum read the row (no write), the subtract and the scale
    /// rewrite it, and exp is a software sequence; five vector instructions per row.
    /// </summary>
    internal static double SoftmaxPassCycles(CostParams p) => 2 * p.PassCycles(1, false) + 2 * p.PassCycles(1, true) + p.TranscendentalCycles;

    internal static KernelCost RowOp(in KernelWork work, int gw, int gh, CostParams p, string algorithm) => RowOp(work, gw, gh, p, algorithm, SoftmaxPassCycles(p), 5);

    internal static KernelCost RowOp(in KernelWork work, int gw, int gh, CostParams p, string algorithm, double passCycles, int instructionsPerRow)
    {
        var (rp, lp, red, fix) = RowLayout.Of(work.Rows, work.RowLength, gw, gh, p, 4);
        double elems = (double)rp * lp;
        double compute = rp * (Math.Ceiling(lp * passCycles) + instructionsPerRow * p.IssueCycles);
        double local = compute;
        int reductions = Math.Max(1, work.RowReductions);
        // per reduction: the statistics pass over rp values and the task that continues after it
        double stats = reductions * (Math.Ceiling(rp * p.TranscendentalCycles) + 2 * p.IssueCycles + p.TaskStartCycles);
        double total = local + reductions * red + stats + 3 * p.TaskStartCycles + p.KernelOverheadCycles;
        long buf = (long)elems * p.ElementBytes + rp * 8;
        return new KernelCost(total, compute, reductions * red, reductions * fix + p.KernelOverheadCycles, buf, algorithm, gw, gh, 4,
            $"rows/PE={rp} elems/PE={lp}");
    }
}
