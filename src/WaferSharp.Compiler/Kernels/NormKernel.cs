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
    public override KernelCost Raw(in KernelWork work, int gw, int gh, CostParams p) => SoftmaxKernel.RowOp(work, gw, gh, p, "row-norm-allreduce");
}
