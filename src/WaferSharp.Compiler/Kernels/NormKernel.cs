namespace WaferSharp.Compiler.Kernels;

/// <summary>
/// LayerNorm / RMSNorm and their gradients: the row layout of <see cref="SoftmaxKernel"/> with one row all-reduce per
/// statistic (LayerNorm: mean and variance = 2; RMSNorm: 1; gradients: 2).
/// </summary>
public sealed class NormKernel : MeshKernel
{
    /// <inheritdoc/>
    public override string Name => "Norm";

    /// <inheritdoc/>
    public override KernelCost Raw(in KernelWork work, int gw, int gh, CostParams p)
    {
        if (work.RowOp != RowOp.Forward) return RowProgramCycles.Of(work, gw, gh, p);
        // LayerNorm: sum (read), centre (rewrite), sum of squares (two reads), scale, γ, β (rewrites): six instructions per row.
        // RMSNorm: sum of squares, scale, γ: three.
        bool rms = work.RowReductions == 1;
        double pass = rms
            ? p.PassCycles(2, false) + 2 * p.PassCycles(2, true)
            : p.PassCycles(1, false) + p.PassCycles(2, false) + 4 * p.PassCycles(2, true);
        return SoftmaxKernel.RowOp(work, gw, gh, p, "row-norm-allreduce", pass, rms ? 3 : 6);
    }
}
