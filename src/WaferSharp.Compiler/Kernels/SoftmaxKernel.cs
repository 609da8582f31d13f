namespace WaferSharp.Compiler.Kernels;

/// <summary>
/// Row softmax (and log-softmax, softmax cross-entropy, and their gradients): each PE holds rows_per_PE × elems_per_PE
/// of the rows; local work = ⌈rows·elems·flops_per_element / S⌉ over two SRAM passes, plus one row all-reduce per
/// reduction (max and sum: 2) along the row, + launch.
/// </summary>
public sealed class SoftmaxKernel : MeshKernel
{
    /// <inheritdoc/>
    public override string Name => "Softmax";

    /// <inheritdoc/>
    public override KernelCost Raw(in KernelWork work, int gw, int gh, CostParams p) => RowOp(work, gw, gh, p, "row-softmax-2reduce");

    internal static KernelCost RowOp(in KernelWork work, int gw, int gh, CostParams p, string algorithm)
    {
        var (rp, lp, red, fix) = RowLayout.Of(work.Rows, work.RowLength, gw, gh, p, 4);
        double n = Math.Max(1.0, (double)work.Rows * work.RowLength);
        double fpe = work.Flops / n;
        double elems = (double)rp * lp;
        double compute = Math.Ceiling(elems * fpe / p.Lanes);
        double sram = Math.Ceiling(2 * elems * p.ElementBytes / p.SramReadBytesPerCycle);
        double local = Math.Max(compute, sram);
        int reductions = Math.Max(1, work.RowReductions);
        double total = local + reductions * red + p.KernelOverheadCycles;
        long buf = (long)elems * p.ElementBytes + rp * 8;
        return new KernelCost(total, compute, reductions * red, reductions * fix + p.KernelOverheadCycles, buf, algorithm, gw, gh, 4,
            $"rows/PE={rp} elems/PE={lp}");
    }
}
