namespace WaferSharp.Compiler.Kernels;

/// <summary>
/// Reductions (sum, mean, max, argmax; bias gradients): local partial reduce of rows_per_PE × elements_per_PE values at
/// S per cycle (bounded by SRAM reads), then a K = 2 tree all-reduce of the partial row results along the row
/// (see <see cref="MeshKernel.AllReduce"/>), + launch.
/// </summary>
public sealed class ReductionKernel : MeshKernel
{
    /// <inheritdoc/>
    public override string Name => "Reduction";

    /// <inheritdoc/>
    public override KernelCost Raw(in KernelWork work, int gw, int gh, CostParams p)
    {
        var (rp, lp, red, fix) = RowLayout.Of(work.Rows, work.RowLength, gw, gh, p, 4);
        double local = Math.Max(Math.Ceiling((double)rp * lp / p.Lanes), Math.Ceiling(rp * lp * (double)p.ElementBytes / p.SramReadBytesPerCycle));
        double total = local + red + p.KernelOverheadCycles;
        return new KernelCost(total, local, red, fix + p.KernelOverheadCycles, Math.Min(ElementwiseKernel.FifoBytes, rp * lp * p.ElementBytes) + rp * 4,
            "center-rooted-ktree-reduce", gw, gh, 4, $"rows/PE={rp} elems/PE={lp}");
    }
}
